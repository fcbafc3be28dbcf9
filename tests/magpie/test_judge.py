"""The judge's prompts are Magpie's, and its output parses to a label or `malformed`."""

from __future__ import annotations

import hashlib

import pytest

from factory.magpie.judge import MALFORMED, judge_message, parse_judgement


def test_prompts_are_magpies_word_for_word():
    # sha256 of magpie's str_utils.input_*(input="X") at commit b734a36
    digests = {
        task: hashlib.sha256(judge_message(task, "X").encode()).hexdigest()[:16]
        for task in ("quality", "difficulty", "category")
    }
    assert digests == {
        "quality": "ad1637e2440702a2",
        "difficulty": "144221dfb23413b2",
        "category": "aadd11c76ae415c2",
    }


@pytest.mark.parametrize(
    ("task", "completion", "label"),
    [
        ("quality", '\n "explanation": "clear",\n "input_quality": "good"\n', "good"),
        ("quality", '"explanation": "x", "input_quality": "[excellent]"', "excellent"),
        ("difficulty", '"intent": "a", "knowledge": "b", "difficulty": "Very Hard"', "very hard"),
        ("category", '"primary_tag": "Math", "other_tags": ["Reasoning"]', "Math"),
        ("quality", '"input_quality": "superb"', MALFORMED),
        ("quality", "kaixo zer moduz", MALFORMED),
        ("category", '"primary_tag": ["Math"]', MALFORMED),
        ("difficulty", "", MALFORMED),
    ],
)
def test_parse(task, completion, label):
    assert parse_judgement(task, completion) == label
