"""Filter + language-ID throughput: the factory's stage vs datatrove's stock Gopher + C4 + LanguageFilter.

    python benchmarks/bench_corpus_filters.py [--docs 4000]

Both pipelines run side by side on the same ~750-character real Basque / Spanish / English
documents (FLORES-200 devtest, CC BY-SA, from ../shared/data) through LocalPipelineExecutor with
2 tasks and 2 workers. The stock LanguageFilter would download lid.176.bin; here its model is
the bundled lid.176.ftz (same labels). Prints docs/s for both, the ratio, and how often the
factory's decisions agree with the stock filters configured with the paper's thresholds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from datatrove.data import Document
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, LanguageFilter
from datatrove.pipeline.readers.jsonl import JsonlReader
from datatrove.utils.lid import FT176LID

from factory.corpus.filters import BasqueC4Filter, BasqueGopherFilter, BasqueLanguageFilter
from factory.langid import fasttext_model_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "flores200-devtest" / "docs.jsonl"


def documents(n: int) -> list[str]:
    texts = []
    for line in DATA.read_text().splitlines():
        d = json.loads(line)
        for lang in ("eus", "eus", "eus", "spa", "eng"):
            words, chunk = d[lang].split(), []
            for w in words:
                chunk.append(w)
                if len(" ".join(chunk)) >= 750:
                    texts.append(" ".join(chunk))
                    chunk = []
    return [texts[i % len(texts)] for i in range(n)]


class BundledFT176(FT176LID):
    """datatrove's FT176LID, loading the bundled lid.176.ftz instead of downloading lid.176.bin."""

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(str(fasttext_model_path()))
        return self._model


def stock_language_filter(**kwargs) -> LanguageFilter:
    lf = LanguageFilter(**kwargs)
    lf.model = BundledFT176(lf.languages)
    return lf


def stock(paper_thresholds: bool = False):
    if not paper_thresholds:
        return [GopherQualityFilter(), C4QualityFilter(), stock_language_filter(languages=["eu"])]
    return [
        GopherQualityFilter(min_doc_words=4, max_doc_words=None, min_avg_word_length=3, max_avg_word_length=12,
                            min_stop_words=None),
        C4QualityFilter(filter_no_terminal_punct=False, min_num_sentences=-1, min_words_per_line=-1,
                        filter_javascript=False, filter_policy=False, remove_citations=False),
        stock_language_filter(languages=["eu"], language_threshold=0.5),
    ]


def factory():
    return [BasqueC4Filter(), BasqueGopherFilter(), BasqueLanguageFilter(method="cld2")]


def timed(folder: str, filters, logs: str) -> float:
    executor = LocalPipelineExecutor([JsonlReader(folder), *filters], tasks=2, workers=2, logging_dir=logs, start_method="fork")
    start = time.perf_counter()
    executor.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=4000)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"needs {DATA}")
    texts = documents(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for part in range(2):
            with open(data / f"{part}.jsonl", "w") as handle:
                for i, t in enumerate(texts[part::2]):
                    handle.write(json.dumps({"id": f"{part}-{i}", "text": t}) + "\n")
        base = timed(str(data), stock(), f"{tmp}/l1")
        ours = timed(str(data), factory(), f"{tmp}/l2")
    n = len(texts)
    print(f"documents: {n} (mean {sum(map(len, texts)) / n:.0f} chars), 2 tasks x 2 workers")
    print(f"baseline datatrove Gopher+C4+LanguageFilter(lid.176.ftz): {n / base:,.0f} docs/s")
    print(f"factory BasqueC4+BasqueGopher+BasqueLanguage(cld2):       {n / ours:,.0f} docs/s")
    print(f"ratio: {base / ours:.2f}x")
    unique = list(dict.fromkeys(texts))
    ref = stock(paper_thresholds=True)
    mine = factory()

    def keep(filters, text):
        doc = Document(text=text, id="x", metadata={})
        return all(f.filter(doc) is True for f in filters)

    agree = sum(keep(ref, t) == keep(mine, t) for t in unique)
    print(f"decision agreement with stock filters at the paper's thresholds: {agree}/{len(unique)} ({100 * agree / len(unique):.1f}%)")
    print(f"stock filters at their defaults keep {sum(keep(stock(), t) for t in unique)}/{len(unique)}; "
          f"factory keeps {sum(keep(mine, t) for t in unique)}/{len(unique)}")


if __name__ == "__main__":
    main()
