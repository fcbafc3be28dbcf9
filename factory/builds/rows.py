"""The last stage's writer: the published rows, one JSON object a line, by config and split."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.jsonl import JsonlWriter

ROWS_FILENAME = "${config}/${split}/${rank}.jsonl.gz"


def _row_adapter(self, document: Document) -> dict:
    return document.metadata["row"]


class RowWriter(JsonlWriter):
    """Writes `doc.metadata["row"]` to `rows/{config}/{split}/{rank:05d}.jsonl.gz`.

    Each document must carry `metadata["row"]` and `metadata["split"]`; `metadata["config"]`
    defaults to `default`.
    """

    name = "📦 Rows"

    def __init__(self, ctx_or_folder):
        folder = getattr(ctx_or_folder, "rows_dir", ctx_or_folder)
        super().__init__(str(folder), output_filename=ROWS_FILENAME, adapter=_row_adapter)

    def write(self, document: Document, rank: int = 0, **kwargs):
        document.metadata.setdefault("config", "default")
        if "row" not in document.metadata or "split" not in document.metadata:
            raise ValueError(
                "RowWriter needs metadata['row'] and metadata['split'] on every document"
            )
        return super().write(document, rank=rank, **kwargs)
