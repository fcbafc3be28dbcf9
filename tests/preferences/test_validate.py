"""Every drop reason of the validation filters, asserted on a record failing exactly that rule."""

from __future__ import annotations

import copy
import json

import pytest
from battle_logs import allowed_models, broken_records, write_battle_logs
from datatrove.data import Document

from factory.preferences.ingest import read_battle_file
from factory.preferences.source import battles_from_logs
from factory.preferences.synthetic import synthetic_battles
from factory.preferences.validate import DROP_REASONS, DuplicateBattleFilter, validation_filters

RECORDS = synthetic_battles(20, 4, seed=1)


def run_filters(record, allowed=None) -> tuple[bool, str | None]:
    doc = Document(text="x", id="x", metadata={"record": copy.deepcopy(record)})
    for step in validation_filters(allowed):
        result = step.filter(doc)
        if result is not True:
            return result
    return True, None


def test_valid_record_passes_and_becomes_a_battle():
    doc = Document(text="x", id="x", metadata={"record": copy.deepcopy(RECORDS[0])})
    for step in validation_filters():
        assert step.filter(doc) is True
    assert doc.metadata["battle"]["model_a"] == RECORDS[0]["model_a"]
    assert len(doc.id) == 20 and doc.text == RECORDS[0]["conv_a"][0]["content"]


@pytest.mark.parametrize(
    "reason",
    [r for r in broken_records(RECORDS) if r not in ("battle_malformed_json", "battle_duplicate")],
)
def test_each_broken_record_drops_with_its_reason(reason):
    record = broken_records(RECORDS)[reason][0]
    assert run_filters(record, allowed=allowed_models(4)) == (False, reason)


@pytest.mark.parametrize(
    ("text", "reason"),
    [('{"model_a": ', "battle_malformed_json"), ("[1, 2]", "battle_malformed_json")],
)
def test_unparseable_and_non_object_json(tmp_path, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    docs = list(read_battle_file(path))
    assert docs
    for doc in docs:
        keep = validation_filters()[0].filter(doc)
        assert keep == (False, reason)
        assert "model_a" not in doc.text  # the raw text of a broken record is not kept


def test_jsonl_lines_and_unsupported_files(tmp_path):
    good = json.dumps(RECORDS[0])
    (tmp_path / "log.jsonl").write_text(good + "\n{oops\n\n" + json.dumps(RECORDS[1]) + "\n")
    (tmp_path / "notes.txt").write_text("not a log")
    battles, dropped = battles_from_logs([tmp_path])
    assert len(battles) == 2
    assert dropped == {"battle_malformed_json": 1, "battle_unsupported_file": 1}


def test_tie_variants_and_missing_username_are_valid():
    record = copy.deepcopy(RECORDS[2])
    record.update(winner="tie (bothbad)", winner_content="tie", winner_language="tie (bothbad)")
    del record["username"]
    assert run_filters(record) == (True, None)


def test_duplicate_filter_keeps_the_first_copy():
    dedup = DuplicateBattleFilter()
    docs = []
    for record in (RECORDS[0], RECORDS[0], RECORDS[1]):
        doc = Document(text="x", id="x", metadata={"record": copy.deepcopy(record)})
        validation_filters()[0].filter(doc)
        docs.append(doc)
    assert [dedup.filter(d) for d in docs] == [True, (False, "battle_duplicate"), True]


def test_every_reason_is_counted_on_a_folder(tmp_path):
    folder, expected, records = write_battle_logs(tmp_path / "logs", n_valid=40, n_models=4)
    battles, dropped = battles_from_logs([folder], allowed_models(4))
    assert dict(dropped) == expected
    assert set(expected) == set(DROP_REASONS) - {"battle_unsupported_file"}
    assert len(battles) == 40
    assert [b["timestamp"] for b in battles] == sorted(b["timestamp"] for b in battles)
