"""Per-source corpus statistics (the paper's Table 2 and Table 7) and distribution histograms.

`CorpusStats` passes documents through and writes one small JSON per task
(`{folder}/{label}/{rank}.json`); `merge_stats` adds them up. Histograms use fixed bins, so the
card's plots need no document in memory.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.builds.files import write_text_atomic
from factory.corpus.features import features_of
from factory.corpus.tokens import load_counter

# document length in words: log-spaced bins from 1 to 10^6; mean word length: 0.5-wide bins up to 20
LENGTH_BINS = sorted({round(10 ** (i / 10)) for i in range(0, 61)})
WORDLEN_BINS = [i / 2 for i in range(0, 41)]


def _bin(value: float, edges: list[float]) -> int:
    """Index of the last edge <= value (0 below the first edge)."""
    return max(bisect_right(edges, value) - 1, 0)


def _empty_source() -> dict:
    return {
        "docs": 0,
        "words": 0,
        "tokens": 0,
        "flags": {},
        "length_hist": [0] * len(LENGTH_BINS),
        "wordlen_hist": [0] * len(WORDLEN_BINS),
    }


class CorpusStats(PipelineStep):
    """Counts documents, words (and tokens, with a local tokenizer: see `factory.corpus.tokens`) per source; flags every filter rule.

    `filters`: datatrove filters with `failures(doc)`; every failing rule is counted (Table 7:
    the same document may be flagged by several filters). Nothing is dropped here.
    """

    name = "📊 Corpus stats"
    type = "📊 - STATS"

    def __init__(
        self, folder: str, label: str, filters: list | None = None, tokenizer: str | None = None
    ):
        super().__init__()
        self.folder = Path(folder)
        self.label = label
        self.filters = filters or []
        self.tokenizer_path = tokenizer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tokenizer = load_counter(self.tokenizer_path) if self.tokenizer_path else None
        table: dict[str, dict] = {}
        for doc in data:
            with self.track_time():
                source = doc.metadata.get("source", "unknown")
                entry = table.setdefault(source, _empty_source())
                feats = features_of(doc)
                entry["docs"] += 1
                entry["words"] += feats.words
                if tokenizer is not None:
                    entry["tokens"] += tokenizer(doc.text)
                entry["length_hist"][_bin(max(feats.words, 1), LENGTH_BINS)] += 1
                entry["wordlen_hist"][_bin(feats.mean_word_length, WORDLEN_BINS)] += 1
                for filt in self.filters:
                    for reason in filt.failures(doc):
                        entry["flags"][reason] = entry["flags"].get(reason, 0) + 1
            yield doc
        payload = {"tokens_counted": tokenizer is not None, "sources": table}
        write_text_atomic(
            self.folder / self.label / f"{rank:05d}.json", json.dumps(payload, sort_keys=True)
        )


def merge_stats(folder: Path, label: str) -> dict:
    """Sum of every task's counts for one label: `{"tokens_counted", "sources": {name: {...}}}`."""
    merged: dict[str, dict] = {}
    counted = False
    for path in sorted((Path(folder) / label).glob("*.json")):
        data = json.loads(path.read_text())
        counted = counted or data.get("tokens_counted", False)
        for source, entry in data["sources"].items():
            into = merged.setdefault(source, _empty_source())
            for key in ("docs", "words", "tokens"):
                into[key] += entry[key]
            for key in ("length_hist", "wordlen_hist"):
                into[key] = [a + b for a, b in zip(into[key], entry[key])]
            for reason, n in entry["flags"].items():
                into["flags"][reason] = into["flags"].get(reason, 0) + n
    return {"tokens_counted": counted, "sources": merged}


def human(n: float) -> str:
    """1234567 -> '1.23M', as the paper's tables."""
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e4:
        return f"{n / 1e3:.1f}K"
    return f"{int(n):,}"


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}" if whole else "0.00"
