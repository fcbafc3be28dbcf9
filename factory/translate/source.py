"""Reading the source rows: every input file in order, each row checked, selected, numbered.

A row becomes a `Document` with `metadata["source"]` = {`source_id`, `input`, `ref`,
`revision`, `index`} and `metadata["conversations"]` = the messages as `{role, content}`
(`{from, value}` with `human`/`gpt` is mapped). A row that cannot be translated as a whole keeps
`metadata["problem"]` (a `translate_*` reason), and `SourceValidator` drops it with that reason.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from factory.builds.seeds import derive_seed
from factory.translate.recipe import ROLES, SourceSpec

_ROLE_ALIASES = {
    "human": "user",
    "gpt": "assistant",
    "system": "system",
    "user": "user",
    "assistant": "assistant",
}
# characters str.isspace() does not count but that make a message just as empty
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


@dataclass(frozen=True)
class SourceFile:
    """One input file and what it belongs to (for each row's lineage)."""

    path: str
    input: str
    ref: str
    revision: str | None
    format: str


def read_records(source: SourceFile) -> Iterator[dict | str]:
    """The file's rows as dicts, in file order; an unreadable line yields a reason string."""
    path = Path(source.path)
    if path.suffix == ".parquet" or source.format == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
            yield from batch.to_pylist()
        return
    opener = open
    if path.suffix == ".gz":
        import gzip

        opener = gzip.open  # type: ignore[assignment]
    with opener(path, "rt", encoding="utf-8") as handle:
        if path.suffix == ".json" or path.name.endswith(".json.gz"):
            data = json.load(handle)
            yield from data if isinstance(data, list) else [data]
            return
        for line in handle:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                yield "translate_unreadable_json"
                continue
            yield row if isinstance(row, dict) else "translate_row_not_an_object"


def normalize_conversation(value) -> tuple[list[dict] | None, str | None]:
    """(messages as {role, content}, None) or (None, the `translate_*` reason it is unusable)."""
    if value is None:
        return None, "translate_conversations_null"
    if not isinstance(value, list):
        return None, "translate_conversations_not_a_list"
    if not value:
        return None, "translate_conversations_empty"
    messages = []
    for message in value:
        if not isinstance(message, dict):
            return None, "translate_message_not_an_object"
        if "role" in message or "content" in message:
            role, content = message.get("role"), message.get("content")
        else:
            role, content = message.get("from"), message.get("value")
        role = _ROLE_ALIASES.get(role) if isinstance(role, str) else None
        if role is None:
            return None, "translate_unknown_role"
        if content is None:
            return None, "translate_content_null"
        if isinstance(content, list):
            return None, "translate_content_is_a_list"
        if not isinstance(content, str):
            return None, f"translate_content_is_{type(content).__name__}"
        if not content.translate(_INVISIBLE).strip():
            return None, "translate_empty_message"
        messages.append({"role": role, "content": content})
    return messages, None


class SourceReader(PipelineStep):
    """Reads every source file (one task), applies `selection.exclude` and `selection.mode`.

    Output columns: `metadata.source`, `metadata.conversations` or `metadata.problem`.
    `mode: sample` reads the inputs twice: once to rank the valid rows by a seeded hash of their
    id (the n smallest are kept), once to emit them in input order; memory is O(n) integers.
    """

    type = "📖 - READER"
    name = "🌐 Source rows"

    def __init__(self, files: list[SourceFile], spec: SourceSpec, seed: int):
        super().__init__()
        self.files = files
        self.spec = spec
        self.seed = seed

    def _rows(self) -> Iterator[tuple[int, SourceFile, dict | str]]:
        index = 0
        for source in self.files:
            for record in read_records(source):
                yield index, source, record
                index += 1

    def _source_id(self, source: SourceFile, index: int, record: dict) -> str:
        value = record.get(self.spec.id_column)
        return str(value) if value not in (None, "") else f"{source.input}-{index:08d}"

    def _usable(self, record: dict | str) -> bool:
        return (
            isinstance(record, dict)
            and not any(f.matches(record) for f in self.spec.exclude)
            and normalize_conversation(record.get("conversations"))[1] is None
        )

    def _sampled(self) -> set[int]:
        heap: list[tuple[int, int]] = []  # (-hash, index): the n smallest hashes
        for index, source, record in self._rows():
            if not self._usable(record):
                continue
            key = derive_seed(self.seed, "select", self._source_id(source, index, record))  # type: ignore[arg-type]
            if len(heap) < self.spec.n:  # type: ignore[operator]
                heapq.heappush(heap, (-key, index))
            elif -heap[0][0] > key:
                heapq.heapreplace(heap, (-key, index))
        return {index for _, index in heap}

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        if data:
            yield from data
        sampled = self._sampled() if self.spec.mode == "sample" else None
        taken = 0
        for index, source, record in self._rows():
            self.stat_update("documents")
            if isinstance(record, str):
                yield self._problem(index, source, f"{source.input}-{index:08d}", record)
                continue
            source_id = self._source_id(source, index, record)
            excluded = next((f for f in self.spec.exclude if f.matches(record)), None)
            if excluded is not None:
                # a selection, not a bad row: counted (and shown in the card's drop table), not kept
                self.stat_update("dropped_translate_excluded")
                continue
            messages, problem = (
                normalize_conversation(record["conversations"])
                if "conversations" in record
                else (None, "translate_no_conversations")
            )
            if problem:
                yield self._problem(index, source, source_id, problem)
                continue
            if sampled is not None and index not in sampled:
                self.stat_update("translate_not_sampled")
                continue
            if self.spec.mode == "first" and taken >= self.spec.n:  # type: ignore[operator]
                self.stat_update("translate_not_selected")
                continue
            taken += 1
            self.stat_update("rows_selected")
            doc = self._document(index, source, source_id)
            doc.metadata["conversations"] = messages
            doc.text = messages[0]["content"]  # type: ignore[index]
            yield doc

    def _document(self, index: int, source: SourceFile, source_id: str) -> Document:
        return Document(
            text="",
            id=source_id,
            metadata={
                "source": {
                    "source_id": source_id,
                    "input": source.input,
                    "ref": source.ref,
                    "revision": source.revision,
                    "index": index,
                }
            },
        )

    def _problem(self, index: int, source: SourceFile, source_id: str, problem: str) -> Document:
        doc = self._document(index, source, source_id)
        doc.text = f"(unusable row: {problem})"
        doc.metadata["problem"] = problem
        return doc


class SourceValidator(BaseFilter):
    """Drops the rows `SourceReader` found unusable, with the reason it named, and repeated ids."""

    name = "🛂 Source rows check"

    def __init__(self, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self._seen: set[str] = set()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        problem = doc.metadata.get("problem")
        if problem:
            return False, problem
        if doc.id in self._seen:
            return False, "translate_duplicate_id"
        self._seen.add(doc.id)
        return True


__all__ = ["ROLES", "SourceFile", "SourceReader", "SourceValidator", "normalize_conversation"]
