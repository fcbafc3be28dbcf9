"""Read battle logs: a folder of JSON files (one battle each, as the arena uploads
`data/history_<uuid>.json`), JSON arrays, JSONL files (optionally gzipped).

Reading never fails on a bad record: a file or line that cannot be parsed becomes a document
carrying `metadata["read_error"] = (reason, detail)`, which the validation filters drop with
that reason, so nothing disappears uncounted. The raw text of a broken record is not kept:
it may hold a username.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers.base import BaseReader

JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
# Files a folder may hold beside the logs (a Hub snapshot's README, .gitattributes): skipped by
# name and counted as `skipped_files`, because they are not battle logs at all.
IGNORED_NAMES = {"README.md", ".gitattributes", "SOURCE.md", "LICENSE"}


def _open_text(path: Path) -> str:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8")


def _error_doc(doc_id: str, source: str, reason: str, detail: str) -> Document:
    return Document(
        text=doc_id, id=doc_id, metadata={"source": source, "read_error": [reason, detail]}
    )


def _record_doc(doc_id: str, source: str, record) -> Document:
    return Document(text=doc_id, id=doc_id, metadata={"source": source, "record": record})


def read_battle_file(path: Path) -> Iterator[Document]:
    """Documents for the records of one file, in file order."""
    source = str(path)
    name = path.name
    try:
        text = _open_text(path)
    except (UnicodeDecodeError, OSError, EOFError) as error:
        yield _error_doc(source, source, "battle_malformed_json", f"unreadable file: {error}")
        return
    if name.endswith(JSONL_SUFFIXES):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            doc_id = f"{source}#L{number}"
            try:
                yield _record_doc(doc_id, source, json.loads(line))
            except json.JSONDecodeError as error:
                yield _error_doc(
                    doc_id,
                    source,
                    "battle_malformed_json",
                    f"line {number}: {error.msg} at column {error.colno}",
                )
        return
    if name.endswith(JSON_SUFFIXES):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            yield _error_doc(
                source,
                source,
                "battle_malformed_json",
                f"{error.msg} at line {error.lineno} column {error.colno}",
            )
            return
        if isinstance(data, list):  # a JSON array of battles
            for index, record in enumerate(data):
                yield _record_doc(f"{source}#{index}", source, record)
        else:
            yield _record_doc(source, source, data)
        return
    yield _error_doc(
        source, source, "battle_unsupported_file", "not a .json, .jsonl or .jsonl.gz file"
    )


def battle_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Expand folders to their files (sorted); returns (log files, skipped non-log files).

    Hidden files (`.git/`, `.cache/`) are not listed at all; known non-log files are skipped.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return [p for p in files if p.name not in IGNORED_NAMES], [
        p for p in files if p.name in IGNORED_NAMES
    ]


class BattleReader(BaseReader):
    """Reads battle logs from a fixed list of local files; task `rank` reads every `world_size`-th file.

    Output columns: `metadata["record"]` (the parsed JSON) or `metadata["read_error"]`
    ([reason, detail]), plus `metadata["source"]` (the file).
    """

    name = "🥊 Battle logs"

    def __init__(self, paths: list[str | Path]):
        super().__init__()
        self.paths = [str(p) for p in paths]

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        if data:
            yield from data
        files, skipped = battle_files([Path(p) for p in self.paths])
        if skipped and rank == 0:
            self.stat_update("skipped_files", value=len(skipped))
        for path in files[rank::world_size]:
            self.stat_update("input_files")
            for doc in read_battle_file(path):
                self.stat_update("documents")
                yield doc
