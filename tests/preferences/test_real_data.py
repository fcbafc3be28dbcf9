"""Preference ingest (read, anonymize, validate) on battle logs made of real Basque texts.

No arena logs are public, so the logs are written here in the arena's formats (one
`history_<id>.json` per battle, JSONL, gzipped JSONL) with real texts from `../shared/data`
(skipped when absent): TruthfulQA-eu questions as prompts (817 items, professionally translated,
per its SOURCE.md), the Basque best answer against the first Basque incorrect answer. Promises:
every well-formed battle comes through with its Basque text byte for byte, the username only
as a salted hash; a torn line is dropped with `battle_malformed_json` and its line number,
never the whole file; the battle id does not depend on the salt.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from factory.preferences.ingest import BattleReader
from factory.preferences.privacy import SALT_ENV, AnonymizeAnnotators, annotator_hash
from factory.preferences.validate import validation_filters

SALT = "real-data-salt-0123456789"
MODELS = ("latxa-70b", "llama-3.1-8b")


def _battle(i: int, item: dict) -> dict:
    prompt = [{"role": "user", "content": item["question"]}]
    return {
        "timestamp": (datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=i)).isoformat(),
        "model_a": MODELS[i % 2],
        "model_b": MODELS[(i + 1) % 2],
        "conv_a": prompt + [{"role": "assistant", "content": item["best_answer"]}],
        "conv_b": prompt + [{"role": "assistant", "content": item["incorrect_answers"][0]}],
        "winner": "model_a",
        "winner_content": "model_a",
        "winner_language": "tie",
        "username": f"erabiltzaile-{i % 7}",
    }


@pytest.fixture
def logs(shared_data, tmp_path):
    path = shared_data / "truthfulqa-eu" / "validation_eu.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(items) == 817
    battles = [_battle(i, item) for i, item in enumerate(items[:240])]
    folder = tmp_path / "arena" / "data"
    folder.mkdir(parents=True)
    for i, battle in enumerate(battles[:120]):
        (folder / f"history_{i:04d}.json").write_text(json.dumps(battle, ensure_ascii=False))
    (folder / "README.md").write_text("not a battle log")
    lines = [json.dumps(b, ensure_ascii=False) for b in battles[120:180]]
    # a line torn by a crash in the middle of the upload
    torn = lines[-1][: len(lines[-1]) // 2]
    (tmp_path / "arena" / "part.jsonl").write_text("\n".join([*lines[:-1], torn]) + "\n")
    with gzip.open(tmp_path / "arena" / "part2.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(b) for b in battles[180:]) + "\n")
    return tmp_path / "arena", battles


def _ingest(paths):
    """(kept documents, drop reason -> documents) through reader, anonymizer and the filters."""
    docs = list(AnonymizeAnnotators().run(BattleReader(paths).run()))
    kept, dropped = [], Counter()
    filters = validation_filters(list(MODELS))
    for doc in docs:
        for step in filters:
            result = step.filter(doc)
            if result is not True:
                dropped[result[1]] += 1
                break
        else:
            kept.append(doc)
    return docs, kept, dropped


def test_real_basque_battles_come_through_whole(logs, monkeypatch):
    folder, battles = logs
    monkeypatch.setenv(SALT_ENV, SALT)
    read, kept, dropped = _ingest([folder])
    assert len(read) == len(battles)  # one document per record, the README skipped
    assert dropped == {"battle_malformed_json": 1}
    assert len(kept) == len(battles) - 1
    torn = [d for d in read if d.metadata.get("read_error")]
    assert torn[0].id.endswith("part.jsonl#L60") and "line 60" in torn[0].metadata["filter_detail"]
    by_time = {}
    for doc in kept:
        battle = doc.metadata["battle"]
        by_time[battle["timestamp"]] = battle
        assert "username" not in battle and battle["annotator"].startswith("ann_")
    for i, source in enumerate(battles):
        if i == 179:  # the torn one
            continue
        battle = by_time[source["timestamp"]]
        assert battle["conv_a"] == source["conv_a"] and battle["conv_b"] == source["conv_b"]
        assert battle["annotator"] == annotator_hash(source["username"], SALT.encode())


def test_battle_ids_do_not_depend_on_the_salt(logs, monkeypatch):
    folder, _ = logs
    monkeypatch.setenv(SALT_ENV, SALT)
    _, first, _ = _ingest([folder])
    monkeypatch.setenv(SALT_ENV, "another-salt-9876543210")
    _, second, _ = _ingest([folder])
    assert [d.id for d in first] == [d.id for d in second]
    assert len({d.id for d in first}) == len(first)  # distinct real prompts, distinct ids
    assert [d.metadata["battle"]["annotator"] for d in first] != [
        d.metadata["battle"]["annotator"] for d in second
    ]
