"""Test data: a folder of arena battle files, valid ones plus one broken file per drop reason.

Written by the tests themselves (no arena data ships with the repository).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from factory.preferences.synthetic import synthetic_battles

SALT = "test-salt-0123456789abcdef"
USERNAME_PREFIX = "erabiltzailea"


def _base(records: list[dict], i: int) -> dict:
    return copy.deepcopy(records[i])


def broken_records(records: list[dict]) -> dict[str, list]:
    """Drop reason -> the contents of the files that must drop with that reason."""
    missing = _base(records, 0)
    del missing["winner_language"]
    unknown = _base(records, 1)
    unknown["winner"] = "left"
    invalid = _base(records, 2)
    invalid["timestamp"] = "yesterday"
    inconsistent = _base(records, 3)
    inconsistent.update(winner="model_b", winner_content="model_a", winner_language="model_a")
    self_battle = _base(records, 4)
    self_battle["model_b"] = self_battle["model_a"]
    empty = _base(records, 5)
    empty["conv_b"] = []
    mismatched = _base(records, 6)
    mismatched["conv_b"][0]["content"] = "Beste galdera bat da hau."
    unknown_model = _base(records, 7)
    unknown_model["model_a"] = "not-allowed-model"
    return {
        "battle_malformed_json": ['{"model_a": "model-00", "winner": ', "[1, 2"],
        "battle_missing_field": [missing],
        "battle_unknown_winner": [unknown],
        "battle_invalid_field": [invalid],
        "battle_inconsistent_winner": [inconsistent],
        "battle_self_battle": [self_battle],
        "battle_empty_conversation": [empty],
        "battle_mismatched_prompt": [mismatched],
        "battle_unknown_model": [unknown_model],
        "battle_duplicate": [_base(records, 10), _base(records, 11)],
    }


def write_battle_logs(
    folder: Path, n_valid: int = 300, n_models: int = 6, seed: int = 7
) -> tuple[Path, dict[str, int], list[dict]]:
    """Write `n_valid` valid battles and the broken ones; returns (folder, expected drops, valid records)."""
    folder.mkdir(parents=True, exist_ok=True)
    records = synthetic_battles(n_valid, n_models, seed=seed)
    for i, record in enumerate(records):
        (folder / f"history_{i:05d}.json").write_text(json.dumps(record, ensure_ascii=False))
    expected = {}
    for reason, contents in broken_records(records).items():
        expected[reason] = len(contents)
        for j, content in enumerate(contents):
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            (folder / f"history_broken_{reason}_{j}.json").write_text(text)
    return folder, expected, records


def allowed_models(n_models: int = 6) -> list[str]:
    return [f"model-{i:02d}" for i in range(n_models)]
