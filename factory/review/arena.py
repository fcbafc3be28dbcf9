"""Pairwise answers -> battle records in Ebaluatoia's format (`history_<uuid>.json` contents).

Keys as the arena writes them (latxa-instruct `arena_with_user.py`, `save_history`):
`timestamp`, `model_a`, `model_b`, `hyperparameters`, `conv_a`, `conv_b`, `winner`,
`winner_content`, `winner_language`, `username`. A = the answer shown on the left. As in the
arena, the overall `winner` is the content vote when content and language agree, else the
overall vote. `username` is the annotator's salted hash, never a name.
"""

from __future__ import annotations

CHOICE = {"A": "model_a", "B": "model_b", "tie": "tie"}


def arena_winner(content: str, language: str, overall: str) -> str:
    return content if content == language else overall


def battle_record(record: dict, answers: dict, annotator: str, timestamp: str) -> dict | None:
    """One battle per submitted answer; None when a vote is missing."""
    votes = [CHOICE.get(answers.get(q)) for q in ("content", "language", "overall")]
    if None in votes:
        return None
    content, language, overall = votes
    fields, meta = record["fields"], record["metadata"]
    prompt = [{"role": m["role"], "content": m["content"]} for m in fields["prompt"]]
    return {
        "timestamp": timestamp,
        "model_a": meta["model_a"],
        "model_b": meta["model_b"],
        "hyperparameters": None,
        "conv_a": [*prompt, {"role": "assistant", "content": fields["response_a"]}],
        "conv_b": [*prompt, {"role": "assistant", "content": fields["response_b"]}],
        "winner": arena_winner(content, language, overall),
        "winner_content": content,
        "winner_language": language,
        "username": annotator,
    }
