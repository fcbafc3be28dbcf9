"""Review pieces that need no server: kinds, samples, record ids, report, drop lists, configs."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from factory.builds.card_configs import CardConfig, choose_config
from factory.errors import InputError
from factory.review.connection import ArgillaTarget
from factory.review.drops import DROP_REASON, ReviewDropFilter
from factory.review.pull import Answer, drop_entries, report
from factory.review.push import prepare_records
from factory.review.sampling import allocate, stratified_sample
from factory.review.schemas import detect_kind
from factory.review.source import SourceRows


def test_kind_follows_the_columns():
    assert detect_kind(["id", "conversations", "model", "control"], "x") == "instructions"
    assert detect_kind(["id", "source_text", "target_text"], "x") == "translations"
    assert detect_kind(["id", "text", "source"], "x") == "corpus"
    assert detect_kind(["model_a", "model_b", "conv_a", "conv_b", "prompt"], "x") == "pairwise"
    with pytest.raises(InputError, match="cannot tell what to review"):
        detect_kind(["id", "label"], "x")


def test_sample_is_seeded_and_keeps_rare_strata():
    strata = ["common"] * 90 + ["rare"] * 3 + ["mid"] * 27
    first = stratified_sample(strata, 10, seed=1)
    assert first == stratified_sample(strata, 10, seed=1)
    assert first != stratified_sample(strata, 10, seed=2)
    assert len(first) == 10 and len(set(first)) == 10
    picked = [strata[i] for i in first]
    assert picked.count("rare") >= 1 and picked.count("common") > picked.count("mid")
    assert allocate({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}


def rows_of(kind: str, n: int = 20) -> SourceRows:
    if kind == "instructions":
        rows = [
            {
                "id": f"r{i}",
                "control": ["code", "math"][i % 2],
                "conversations": [
                    {"role": "user", "content": f"Galdera {i}"},
                    {"role": "assistant", "content": f"Erantzuna {i}"},
                ],
            }
            for i in range(n)
        ]
    else:
        rows = [
            {"id": f"t{i}", "source_text": f"Hello {i}", "target_text": f"Kaixo {i}"}
            for i in range(n)
        ]
    return SourceRows("org/ds", "a" * 40, rows, list(rows[0]))


def test_instruction_and_translation_records_name_their_row():
    records, skipped = prepare_records(rows_of("instructions"), "instructions", 6, seed=0)
    assert skipped == 0 and len(records) == 6
    assert {r.metadata["stratum"] for r in records} == {"code", "math"}
    assert records[0].fields["conversation"][0] == {
        "role": "user",
        "content": records[0].fields["conversation"][0]["content"],
    }
    assert all(
        r.metadata["source_repo"] == "org/ds" and r.metadata["revision"] == "a" * 40
        for r in records
    )
    again, _ = prepare_records(rows_of("instructions"), "instructions", 6, seed=0)
    assert [r.id for r in again] == [r.id for r in records]  # same sample, same ids: no duplicates
    other = rows_of("instructions")
    other.sha = "b" * 40
    assert {r.id for r in prepare_records(other, "instructions", 6, seed=0)[0]}.isdisjoint(
        r.id for r in records
    )
    translations, _ = prepare_records(rows_of("translations"), "translations", 3, seed=0)
    row = translations[0]
    assert row.fields == {
        "source": f"Hello {row.metadata['row_id'][1:]}",
        "target": f"Kaixo {row.metadata['row_id'][1:]}",
    }


def answer(record_id: str, annotator: str, keep: str, **extra) -> Answer:
    record = {
        "external_id": record_id,
        "metadata": {"source_repo": "org/ds", "revision": "c" * 40, "row_id": record_id},
    }
    return Answer(record, annotator, "2026-01-01T00:00:00", {"keep": keep, **extra})


def test_majority_discard_drops_and_agreement_is_counted():
    answers = [
        answer("r1", "ann_1", "discard", reason="boilerplate"),
        answer("r1", "ann_2", "discard"),
        answer("r2", "ann_1", "discard"),
        answer("r2", "ann_2", "keep"),  # a split vote keeps the row
        answer("r3", "ann_1", "discard"),  # one annotator, one discard: dropped
    ]
    entries = drop_entries(answers)
    assert [(e.row_id, e.reason) for e in entries] == [("r1", DROP_REASON), ("r3", DROP_REASON)]
    assert "2/2" in entries[0].detail and "boilerplate" in entries[0].detail
    summary = report("corpus", answers)
    keep = summary["questions"]["keep"]
    assert keep["counts"] == {"discard": 4, "keep": 1}
    assert keep["records_with_several_annotators"] == 2 and keep["pairwise_agreement"] == 0.5


def test_drop_filter_drops_listed_ids_with_the_reason():
    step = ReviewDropFilter({"d2": "2/2 reviewers discarded"})
    kept = step.filter(Document(text="a", id="d1"))
    dropped = step.filter(Document(text="b", id="d2"))
    assert kept is True and dropped == (False, DROP_REASON)


def test_card_config_choice():
    two = [
        CardConfig(config_name="25-03", data_files="data/25-03.jsonl.gz"),
        CardConfig(config_name="25-03-sanitized", data_files="data/25-03-sanitized.jsonl.gz"),
    ]
    assert choose_config(two, "25-03", "x").config_name == "25-03"
    with pytest.raises(InputError, match="several configs and no default"):
        choose_config(two, None, "x")
    marked = [two[0], CardConfig(config_name="b", data_files="b/*", default=True)]
    assert choose_config(marked, None, "x").config_name == "b"
    assert two[0].patterns("test") == [] and two[0].patterns() == ["data/25-03.jsonl.gz"]


def test_api_key_never_in_repr(monkeypatch):
    monkeypatch.delenv("ARGILLA_API_URL", raising=False)
    with pytest.raises(InputError, match="--api-url"):
        ArgillaTarget.from_options(None, "secret-key", None)
    target = ArgillaTarget.from_options("http://127.0.0.1:6900/", "secret-key", None)
    assert "secret-key" not in repr(target) and target.api_url == "http://127.0.0.1:6900"
