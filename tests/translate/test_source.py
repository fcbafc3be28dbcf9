"""Reading source rows: formats, every bad-row reason, exclusion, first-N and seeded samples."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.translate.recipe import ColumnFilter, SourceSpec
from factory.translate.source import (
    SourceFile,
    SourceReader,
    SourceValidator,
    normalize_conversation,
)

GOOD = [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello"}]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "translate_conversations_null"),
        ([], "translate_conversations_empty"),
        ("text", "translate_conversations_not_a_list"),
        ([{"role": "user", "content": " \u00a0\t\n"}], "translate_empty_message"),
        ([{"role": "user", "content": "\u200b"}], "translate_empty_message"),
        ([{"role": "user", "content": 7}], "translate_content_is_int"),
        ([{"role": "user", "content": None}], "translate_content_null"),
        (
            [{"role": "user", "content": [{"type": "text", "text": "x"}]}],
            "translate_content_is_a_list",
        ),
        ([{"role": "robot", "content": "x"}], "translate_unknown_role"),
        (["just a string"], "translate_message_not_an_object"),
    ],
)
def test_each_unusable_conversation_names_its_problem(value, reason):
    assert normalize_conversation(value) == (None, reason)


def test_sharegpt_keys_are_mapped():
    messages, problem = normalize_conversation(
        [
            {"from": "system", "value": "S"},
            {"from": "human", "value": "Q"},
            {"from": "gpt", "value": "A"},
        ]
    )
    assert problem is None
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]


def _write(tmp_path, rows, kind="jsonl"):
    path = tmp_path / f"in.{kind}"
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken json\n")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return SourceFile(str(path), "src", str(path), "sha256:x", kind)


def _run(files, spec, seed=1):
    kept, dropped = [], []
    validator = SourceValidator()
    for doc in SourceReader(files, spec, seed).run():
        verdict = validator.filter(doc)
        (kept if verdict is True else dropped).append((doc.id, verdict))
    return [i for i, _ in kept], sorted(v[1] for _, v in dropped)


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_rows_are_read_checked_and_excluded(tmp_path, kind):
    rows = [{"id": f"general_{i}", "conversations": GOOD} for i in range(4)]
    rows += [
        {"id": "translation_1", "conversations": GOOD},
        {"id": "general_0", "conversations": GOOD},
    ]
    if kind == "jsonl":
        rows.append({"id": "bad", "text": "no conversations column"})
    spec = SourceSpec(exclude=[ColumnFilter(column="id", startswith="translation_")])
    kept, reasons = _run([_write(tmp_path, rows, kind)], spec)
    assert kept == ["general_0", "general_1", "general_2", "general_3"]
    expected = ["translate_duplicate_id"]
    if kind == "jsonl":
        expected = sorted([*expected, "translate_no_conversations", "translate_unreadable_json"])
    assert reasons == expected


def test_first_n_and_seeded_sample(tmp_path):
    rows = [{"id": f"r{i:03d}", "conversations": GOOD} for i in range(50)]
    rows.insert(3, {"id": "bad", "conversations": []})
    files = [_write(tmp_path, rows)]
    first, _ = _run(files, SourceSpec(mode="first", n=5))
    assert first == ["r000", "r001", "r002", "r003", "r004"]
    a, _ = _run(files, SourceSpec(mode="sample", n=10), seed=1)
    b, _ = _run(files, SourceSpec(mode="sample", n=10), seed=1)
    c, _ = _run(files, SourceSpec(mode="sample", n=10), seed=2)
    assert a == b and len(a) == 10 and a == sorted(a) and a != c
    assert "bad" not in a


def test_rows_without_ids_get_positional_ones(tmp_path):
    kept, _ = _run(
        [_write(tmp_path, [{"conversations": GOOD}, {"conversations": GOOD}])], SourceSpec()
    )
    assert kept == ["src-00000000", "src-00000001"]
