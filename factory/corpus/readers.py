"""Source readers: JSONL, Parquet, text per file, text per blank-line block (Hub datasets arrive as Parquet).

One step reads every source; file `i` (over all sources, in recipe order) goes to task
`i % world_size`, so the step never learns which executor runs it. Each document carries
`metadata["source"]`, `["priority"]` (0 = most preferred), `["url"]`, `["date"]` and `["key"]`,
a stable `[priority, file, record]` triple that decides which copy of a duplicate survives.

Bad records are quarantined with `metadata["quarantine_reason"]` and counted; the build goes on:
`input_malformed_json`, `input_not_a_record`, `input_missing_text`, `input_undecodable_bytes`,
`input_unreadable_file`.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter

_BLANK_LINES = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class SourceFile:
    """One input file of one source."""

    source: str
    priority: int
    reader: str  # jsonl | parquet | text_file | text_blocks
    path: str
    file_index: int  # position among all files of all sources
    fields: dict  # id/text/url/date field names


def _open_bytes(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


class SourceReader(PipelineStep):
    """Reads the recipe's sources into documents; quarantines what it cannot read.

    Output columns: text, id, metadata.{source, priority, key, url, date}.
    Drops (reasons): `input_*` (see module docstring), written to `quarantine_writer`.
    """

    name = "📖 Corpus sources"
    type = "📖 - READER"

    def __init__(self, files: list[SourceFile], quarantine_writer: DiskWriter | None = None):
        super().__init__()
        self.files = files
        self.quarantine_writer = quarantine_writer

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        if data:
            yield from data
        mine = [f for f in self.files if f.file_index % world_size == rank]
        with self.quarantine_writer or nullcontext() as writer:
            for item in mine:
                for doc_or_reason in self._records(item):
                    if isinstance(doc_or_reason, Document):
                        self.stat_update("documents", f"documents_{item.source}")
                        yield doc_or_reason
                    else:
                        reason, raw, where = doc_or_reason
                        # per source too: the runner stops a build whose source is mostly quarantined
                        self.stat_update(
                            "quarantined",
                            f"dropped_{reason}",
                            f"quarantined/{item.source}/{reason}",
                        )
                        if writer is not None:
                            writer.write(
                                Document(
                                    text=raw,
                                    id=where,
                                    metadata={"source": item.source, "quarantine_reason": reason},
                                ),
                                rank,
                            )

    # -- per format ------------------------------------------------------------------

    def _records(self, item: SourceFile) -> Iterator[Document | tuple[str, str, str]]:
        try:
            if item.reader == "jsonl":
                yield from self._jsonl(item)
            elif item.reader == "parquet":
                yield from self._parquet(item)
            else:
                yield from self._text(item)
        except OSError as error:
            yield "input_unreadable_file", f"{type(error).__name__}: {error}", f"{item.path}"

    def _doc(
        self,
        item: SourceFile,
        record_index: int,
        text: str,
        doc_id: str | None,
        url=None,
        date=None,
    ) -> Document:
        key = [item.priority, item.file_index, record_index]
        return Document(
            text=text,
            id=str(doc_id)
            if doc_id not in (None, "")
            else f"{item.source}/{Path(item.path).name}/{record_index}",
            metadata={
                "source": item.source,
                "priority": item.priority,
                "key": key,
                "url": None if url in (None, "") else str(url),
                "date": None if date in (None, "") else str(date),
            },
        )

    def _from_record(self, item: SourceFile, index: int, record, where: str):
        fields = item.fields
        if not isinstance(record, dict):
            return (
                "input_not_a_record",
                json.dumps(record, ensure_ascii=False, default=str)[:10_000],
                where,
            )
        text = record.get(fields["text"])
        if not isinstance(text, str):
            return (
                "input_missing_text",
                json.dumps(record, ensure_ascii=False, default=str)[:10_000],
                where,
            )
        pick = lambda name: record.get(name) if name else None  # noqa: E731
        return self._doc(
            item, index, text, pick(fields["id"]), pick(fields["url"]), pick(fields["date"])
        )

    def _jsonl(self, item: SourceFile):
        with _open_bytes(item.path) as handle:
            for index, raw in enumerate(handle):
                where = f"{item.path}:{index + 1}"
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield (
                        "input_undecodable_bytes",
                        raw.decode("utf-8", errors="replace")[:10_000],
                        where,
                    )
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    yield "input_malformed_json", f"{error.msg}: {line[:10_000]}", where
                    continue
                yield self._from_record(item, index, record, where)

    def _parquet(self, item: SourceFile):
        import pyarrow as pa
        import pyarrow.parquet as pq

        index = 0
        try:
            for batch in pq.ParquetFile(item.path).iter_batches(batch_size=1000):
                for record in batch.to_pylist():
                    yield self._from_record(item, index, record, f"{item.path}#{index}")
                    index += 1
        except pa.ArrowException as error:  # not Parquet, or corrupt from row `index` on
            yield (
                "input_unreadable_file",
                f"{type(error).__name__}: {error}",
                f"{item.path}#{index}",
            )

    def _text(self, item: SourceFile):
        with _open_bytes(item.path) as handle:
            raw = handle.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield (
                "input_undecodable_bytes",
                f"byte {error.start}: " + raw.decode("utf-8", errors="replace")[:10_000],
                item.path,
            )
            return
        if item.reader == "text_file":
            yield self._doc(item, 0, text, None)
            return
        for index, block in enumerate(
            b for b in _BLANK_LINES.split(text.replace("\r\n", "\n")) if b.strip()
        ):
            yield self._doc(item, index, block.strip(), None)
