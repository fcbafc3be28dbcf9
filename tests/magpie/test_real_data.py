"""The Magpie language filter on real texts of `../shared/data` (skipped when absent).

Expectations from the SOURCE.md files:
* `magpie-examples` are real English Magpie records (instruction + 5 responses from
  Llama-3-8B-Instruct): a Basque filter drops every one as `magpie_not_basque`, an English
  filter keeps every one;
* `truthfulqa-eu` items are professional Basque translations aligned with the English
  originals: a Basque question with its Basque best answer is kept, the same question with the
  aligned English answer is dropped (every checked turn must be in the language), and kept
  again when only the user turns are checked.
"""

from __future__ import annotations

import json

from datatrove.data import Document

from factory.magpie.conversation import add_turn, tags
from factory.magpie.filters import LanguageFilter


def conversation(user: str, assistant: str) -> Document:
    doc = Document(text="", id="real", metadata={})
    add_turn(doc, "user", user, {"finish_reason": "stop"})
    add_turn(doc, "assistant", assistant, {"finish_reason": "stop"})
    return doc


def test_real_english_magpie_records(shared_data):
    records = json.loads(
        (shared_data / "magpie-examples" / "example_instructions_5res.json").read_text()
    )
    assert len(records) == 5 and all(len(r["responses"]) == 5 for r in records)
    basque, english = LanguageFilter("eu"), LanguageFilter("en")
    for record in records:
        for response in record["responses"]:
            doc = conversation(record["instruction"], response)
            assert basque.filter(doc) == (False, "magpie_not_basque")
            assert tags(doc)["language_score"] < 0.5
            assert english.filter(doc) is True
            assert tags(doc)["language_score"] >= 0.5


def test_truthfulqa_basque_and_mixed_conversations(shared_data):
    folder = shared_data / "truthfulqa-eu"
    eu = [json.loads(line) for line in (folder / "validation_eu.jsonl").read_text().splitlines()]
    en = [json.loads(line) for line in (folder / "validation_en.jsonl").read_text().splitlines()]
    assert len(eu) == len(en) == 817 and [i["id"] for i in eu] == [i["id"] for i in en]
    # long enough turns for language ID to be meaningful on both sides
    items = [
        (e, g)
        for e, g in zip(eu, en)
        if len(e["question"]) >= 60 and len(e["best_answer"]) >= 60 and len(g["best_answer"]) >= 60
    ]
    assert len(items) >= 50
    every_turn, user_only = LanguageFilter("eu"), LanguageFilter("eu", roles=("user",))
    kept = sum(
        every_turn.filter(conversation(e["question"], e["best_answer"])) is True for e, _ in items
    )
    assert kept >= 0.95 * len(items)
    for e, g in items:
        mixed = conversation(e["question"], g["best_answer"])
        assert every_turn.filter(mixed) == (False, "magpie_not_basque")
    kept_user_only = sum(
        user_only.filter(conversation(e["question"], g["best_answer"])) is True for e, g in items
    )
    assert kept_user_only >= 0.95 * len(items)
