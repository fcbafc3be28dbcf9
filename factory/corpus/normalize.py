"""Normalization (encoding repair, whitespace) and the empty / gigantic document guard."""

from __future__ import annotations

import re

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def normalize_whitespace(text: str) -> str:
    """Unix newlines, one space between words, no trailing spaces, at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


class Normalizer(PipelineStep):
    """Repairs encoding with ftfy and normalizes whitespace (the paper used Corpus Cleaner v2).

    Input/output columns: text. Counts `changed` documents.
    """

    name = "🧽 Normalize"
    type = "✂️ - FORMAT"

    def __init__(self, fix_encoding: bool = True, whitespace: bool = True):
        super().__init__()
        self.fix_encoding = fix_encoding
        self.whitespace = whitespace

    def normalize(self, text: str) -> str:
        if self.fix_encoding:
            import ftfy

            # NFC keeps Basque letters composed; ftfy's default NFC is what we want
            text = ftfy.fix_text(text)
        if self.whitespace:
            text = normalize_whitespace(text)
        return text

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                new = self.normalize(doc.text)
                if new != doc.text:
                    self.stat_update("changed")
                    doc.text = new
            yield doc


class InputLimitsFilter(BaseFilter):
    """Quarantines empty and gigantic documents.

    Drops (reasons): `input_empty`, `input_gigantic`.
    """

    name = "🚧 Input limits"

    def __init__(
        self,
        min_chars: int | None = None,
        max_chars: int | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.min_chars = min_chars
        self.max_chars = max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.max_chars is not None and len(doc.text) > self.max_chars:
            return False, "input_gigantic"
        if self.min_chars is not None and len(doc.text.strip()) < self.min_chars:
            return False, "input_empty"
        return True
