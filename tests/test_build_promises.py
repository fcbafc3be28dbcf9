"""Promises of the build spine's small pieces, each stated as a property.

* assemble (docs/ARCHITECTURE.md): `rows/{config}/{split}/{rank}.jsonl.gz` become
  `data/{split}-NNNNN-of-NNNNN.parquet` (config `default`) or `data/{config}/...`, in rank
  order then file order; splits train, validation, test first; the content hash covers the
  rows, their split and config, and nothing of the shard layout, and anyone can recompute it from
  the published shards (sha256 over `\0config\0split\0` then each row as compact JSON with
  sorted keys and a newline); a rebuild leaves no stale shard;
* derive_seed: a 63-bit seed that depends only on the seed and the labels (each of them, in order).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from factory.builds.assemble import assemble
from factory.builds.seeds import derive_seed


def write_rows(rows_dir: Path, config: str, split: str, rank: int, rows: list[dict]) -> None:
    folder = rows_dir / config / split
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / f"{rank:05d}.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_shards(result, prefix: str) -> list[dict]:
    rows = []
    for repo_path in sorted(p for p in result.files if p.startswith(prefix)):
        rows.extend(pq.read_table(result.files[repo_path]).to_pylist())
    return rows


@pytest.fixture
def rows_dir(tmp_path) -> Path:
    rows = tmp_path / "rows"
    write_rows(rows, "default", "train", 1, [{"i": 3, "text": "hiru"}, {"i": 4, "text": "lau"}])
    write_rows(
        rows,
        "default",
        "train",
        0,
        [{"i": 0, "text": "zero"}, {"i": 1, "text": "bat"}, {"i": 2, "text": "bi"}],
    )
    write_rows(rows, "default", "test", 0, [{"i": 9, "text": "bederatzi"}])
    write_rows(rows, "default", "validation", 0, [{"i": 8, "text": "zortzi"}])
    write_rows(rows, "default", "extra", 0, [{"i": 7, "text": "zazpi"}])
    write_rows(rows, "dpo", "train", 0, [{"chosen": "bai", "rejected": "ez"}])
    (rows / "default" / "empty").mkdir()
    return rows


def test_layout_order_and_counts(rows_dir, tmp_path):
    result = assemble(rows_dir, tmp_path / "out", shard_size=2)
    assert sorted(result.files) == [
        "data/dpo/train-00000-of-00001.parquet",
        "data/extra-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00003.parquet",
        "data/train-00001-of-00003.parquet",
        "data/train-00002-of-00003.parquet",
        "data/validation-00000-of-00001.parquet",
    ]
    assert [r["i"] for r in read_shards(result, "data/train-")] == [0, 1, 2, 3, 4]
    assert [
        len(pq.read_table(result.files[f"data/train-0000{i}-of-00003.parquet"])) for i in range(3)
    ] == [2, 2, 1]
    assert result.counts == {
        "default": {"train": 5, "validation": 1, "test": 1, "extra": 1},
        "dpo": {"train": 1},
    }
    assert list(result.counts["default"]) == ["train", "validation", "test", "extra"]
    assert list(result.counts) == ["default", "dpo"]
    assert result.total_rows == 9
    assert result.data_files() == {
        "default": {s: f"data/{s}-*.parquet" for s in ("train", "validation", "test", "extra")},
        "dpo": {"train": "data/dpo/train-*.parquet"},
    }
    assert result.samples == {
        "default": [{"i": 0, "text": "zero"}, {"i": 1, "text": "bat"}],
        "dpo": [{"chosen": "bai", "rejected": "ez"}],
    }


def test_samples_take_the_first_rows_of_the_first_split(rows_dir, tmp_path):
    result = assemble(rows_dir, tmp_path / "out", shard_size=100, sample_rows=3)
    assert [r["i"] for r in result.samples["default"]] == [0, 1, 2]


def test_content_hash_covers_rows_not_layout(rows_dir, tmp_path):
    small = assemble(rows_dir, tmp_path / "a", shard_size=1)
    large = assemble(rows_dir, tmp_path / "b", shard_size=1000)
    assert small.content_hash == large.content_hash and len(small.content_hash) == 64
    # one value changed -> another hash
    write_rows(rows_dir, "default", "test", 0, [{"i": 9, "text": "Bederatzi"}])
    changed = assemble(rows_dir, tmp_path / "c", shard_size=1000)
    assert changed.content_hash != small.content_hash
    # the same row moved to another split -> another hash
    write_rows(rows_dir, "default", "test", 0, [])
    write_rows(rows_dir, "default", "validation", 1, [{"i": 9, "text": "Bederatzi"}])
    moved = assemble(rows_dir, tmp_path / "d", shard_size=1000)
    assert moved.content_hash not in (changed.content_hash, small.content_hash)


def test_schema_is_unified_across_files(tmp_path):
    rows = tmp_path / "rows"
    write_rows(rows, "default", "train", 0, [{"a": 1}])
    write_rows(rows, "default", "train", 1, [{"a": 2, "b": "bai"}])
    result = assemble(rows, tmp_path / "out", shard_size=1)
    assert read_shards(result, "data/train-") == [{"a": 1, "b": None}, {"a": 2, "b": "bai"}]


def test_rebuild_leaves_no_stale_shard(rows_dir, tmp_path):
    out = tmp_path / "out"
    assemble(rows_dir, out, shard_size=1)
    (out / "data" / "stale.parquet").write_bytes(b"old")
    result = assemble(rows_dir, out, shard_size=1000)
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert on_disk == sorted(result.files)


def test_no_rows_folder_gives_an_empty_dataset(tmp_path):
    result = assemble(tmp_path / "missing", tmp_path / "out", shard_size=10)
    assert result.files == {} and result.total_rows == 0


def test_content_hash_can_be_recomputed_from_the_published_shards(rows_dir, tmp_path):
    result = assemble(rows_dir, tmp_path / "out", shard_size=2)
    digest = hashlib.sha256()
    for config, splits in result.counts.items():
        prefix = "data/" if config == "default" else f"data/{config}/"
        for split in splits:
            digest.update(f"\x00{config}\x00{split}\x00".encode())
            shards = sorted(p for p in result.files if p.startswith(f"{prefix}{split}-"))
            assert shards
            for row in (r for p in shards for r in pq.read_table(result.files[p]).to_pylist()):
                line = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                digest.update(line.encode() + b"\n")
    assert result.content_hash == digest.hexdigest()


def test_derive_seed_depends_on_seed_and_each_label():
    base = derive_seed(1234, "magpie", 0)
    assert base == derive_seed(1234, "magpie", 0)
    assert 0 <= base < 2**63
    others = [
        derive_seed(1235, "magpie", 0),
        derive_seed(1234, "magpie", 1),
        derive_seed(1234, "leaderboard", 0),
        derive_seed(1234, 0, "magpie"),
        derive_seed(1234, "magpie"),
        derive_seed(1234, "magpie0"),
        derive_seed(1234),
    ]
    assert len({base, *others}) == len(others) + 1
    # labels are kept apart: no two label lists that join to the same text collide
    assert derive_seed(1, "ab", "c") != derive_seed(1, "a", "bc")
    assert derive_seed(12, 3) != derive_seed(1, 23)
    # spread over the whole range, not a small integer
    seeds = [derive_seed(7, "rank", r) for r in range(64)]
    assert max(seeds) > 2**62 and all(0 <= s < 2**63 for s in seeds)


def test_default_config_first_and_three_sample_rows_by_default(tmp_path):
    rows = tmp_path / "rows"
    write_rows(rows, "alpha", "train", 0, [{"x": 1}])
    write_rows(rows, "default", "train", 0, [{"i": i} for i in range(5)])
    result = assemble(rows, tmp_path / "out", shard_size=100)
    assert list(result.counts) == ["default", "alpha"]
    assert result.samples["default"] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_content_hash_ignores_key_order_within_a_row(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_rows(one, "default", "train", 0, [{"a": 1, "b": "bi"}])
    write_rows(two, "default", "train", 0, [{"b": "bi", "a": 1}])
    first = assemble(one, tmp_path / "o1", shard_size=10)
    second = assemble(two, tmp_path / "o2", shard_size=10)
    assert first.content_hash == second.content_hash


def test_counts_and_schema_span_every_chunk(tmp_path, monkeypatch):
    """The first pass reads in chunks: the count and the schema cover all of them."""
    from factory.builds import assemble as module

    monkeypatch.setattr(module, "_CHUNK", 2)
    rows = tmp_path / "rows"
    write_rows(
        rows, "default", "train", 0, [{"a": 1}, {"a": 2}, {"a": 2.5}, {"a": 4, "b": "x"}, {"a": 5}]
    )
    result = assemble(rows, tmp_path / "out", shard_size=10)
    assert result.counts == {"default": {"train": 5}}
    assert read_shards(result, "data/train-") == [
        {"a": 1.0, "b": None},
        {"a": 2.0, "b": None},
        {"a": 2.5, "b": None},
        {"a": 4.0, "b": "x"},
        {"a": 5.0, "b": None},
    ]
