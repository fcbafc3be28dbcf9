"""Turn the last stage's row files into Hub-layout parquet shards and a content hash."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SPLIT_ORDER = ("train", "validation", "test")
_CHUNK = 10_000


@dataclass
class AssembledDataset:
    """Parquet shards by config and split, ready to publish."""

    files: dict[str, Path] = field(default_factory=dict)  # path in repo -> local file
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    content_hash: str = ""
    samples: dict[str, list[dict]] = field(
        default_factory=dict
    )  # config -> first rows of the first split

    @property
    def total_rows(self) -> int:
        return sum(n for splits in self.counts.values() for n in splits.values())

    def data_files(self) -> dict[str, dict[str, str]]:
        """config -> split -> glob, for the card's `configs` metadata."""
        result: dict[str, dict[str, str]] = {}
        for config, splits in self.counts.items():
            prefix = "data/" if config == "default" else f"data/{config}/"
            result[config] = {split: f"{prefix}{split}-*.parquet" for split in splits}
        return result


def _split_key(split: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def _rows(files: list[Path]) -> Iterator[dict]:
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def _chunks(files: list[Path], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in _rows(files):
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunk_schema(chunk: list[dict]) -> pa.Schema:
    """The schema of every key of every row (first seen first); `Table.from_pylist` would look
    at the first row's keys only and silently drop a column that row lacks."""
    keys = list(dict.fromkeys(key for row in chunk for key in row))
    return pa.Table.from_pydict({key: [row.get(key) for row in chunk] for key in keys}).schema


def _canonical(row: dict) -> bytes:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def assemble(
    rows_dir: Path, out_dir: Path, *, shard_size: int, sample_rows: int = 3
) -> AssembledDataset:
    """Read `rows/{config}/{split}/{rank}.jsonl.gz` in name order and write parquet shards.

    Two passes, both streaming: the first counts rows and unifies the schema, the second writes.
    """
    if out_dir.exists():
        shutil.rmtree(out_dir)
    result = AssembledDataset()
    digest = hashlib.sha256()
    configs = [p.name for p in rows_dir.iterdir() if p.is_dir()] if rows_dir.is_dir() else []
    for config in sorted(configs, key=lambda c: (c != "default", c)):  # default first
        split_dirs = sorted(
            (p for p in (rows_dir / config).iterdir() if p.is_dir()),
            key=lambda p: _split_key(p.name),
        )
        for split_dir in split_dirs:
            split = split_dir.name
            files = sorted(split_dir.glob("*.jsonl.gz"))
            count, schema = 0, None
            for chunk in _chunks(files, _CHUNK):
                count += len(chunk)
                table_schema = _chunk_schema(chunk)
                schema = (
                    table_schema
                    if schema is None
                    else pa.unify_schemas([schema, table_schema], promote_options="permissive")
                )
            if count == 0:
                continue
            n_shards = -(-count // shard_size)
            prefix = "data" if config == "default" else f"data/{config}"
            digest.update(f"\x00{config}\x00{split}\x00".encode())
            for index, chunk in enumerate(_chunks(files, shard_size)):
                repo_path = f"{prefix}/{split}-{index:05d}-of-{n_shards:05d}.parquet"
                local = out_dir / repo_path
                local.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pylist(chunk, schema=schema), local)
                result.files[repo_path] = local
                for row in chunk:
                    digest.update(_canonical(row) + b"\n")
                if index == 0 and config not in result.samples:
                    result.samples[config] = chunk[:sample_rows]
            result.counts.setdefault(config, {})[split] = count
    result.content_hash = digest.hexdigest()
    return result
