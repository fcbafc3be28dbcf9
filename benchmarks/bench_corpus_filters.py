"""Filter + language-ID stage: the factory's filters vs datatrove's stock Gopher + C4 + LanguageFilter.

    python benchmarks/bench_corpus_filters.py [--docs 4000] [--show 3]

Throughput: both pipelines run side by side on the same ~750-character real Basque / Spanish /
English documents (FLORES-200 devtest, CC BY-SA, from ../shared/data) through
LocalPipelineExecutor with 2 tasks and 2 workers. Baselines, measured in the same run:
  * `stock`: datatrove's stock pipeline as the issue measured it (default arguments; the
    LanguageFilter's model is the bundled lid.176.ftz, same labels as the lid.176.bin it would
    download);
  * `stock, paper config`: the same stock classes configured to make the factory's decisions
    (below).

Decisions: every unique document of a larger set goes through the factory's filters and through
the stock classes configured with the paper's Table 7 thresholds and the same definitions:
  * words are whitespace-separated tokens (a `WordTokenizer` that calls `str.split`, as Dolma's
    Gopher tagger, which the paper used; the stock default tokenizes with spaCy, which splits
    punctuation off and counts each mark as a word);
  * the Basque fraction is CLD2's share of the text (the factory's `cld2` method) and a
    document is dropped below 0.5 (the stock LanguageFilter keeps only scores strictly above its
    threshold, so its threshold is set just under 0.5);
  * C4QualityFilter keeps only its two document rules (lorem ipsum, curly bracket).
The set: all CC BY-SA FLORES-200 and NTREX-128 documents and sentences in Basque, English,
Spanish and French, QNLIeu sentences and questions, Tatoeba sentences, the NC Basque/Spanish
sets in ../shared/data when present (read here, never shipped), and generated noisy documents
aimed at each rule's threshold. Prints the agreement per filter family and for the whole stage,
and each kind of disagreement (with `--show` examples) with the rule each side applied.

The one rule whose definition differs on purpose is the bullet-line fraction (Table 7: bullets
> 0.9). The factory follows Dolma's Gopher tagger, which the paper ran: the fraction is over
non-blank lines, so a bulleted list with blank lines between its items is still all bullets;
datatrove divides by every line, blank ones included, so the same list scores about 0.5 and is
kept. The factory also counts '*', '–', '‣' and '◦' as bullets (Dolma: '*' and '-'; datatrove:
'•' and '-'). Every other rule makes the same decision on every document of the set.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from datatrove.data import Document
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, LanguageFilter
from datatrove.pipeline.readers.jsonl import JsonlReader
from datatrove.utils.lid import FT176LID, LID
from datatrove.utils.word_tokenizers import WordTokenizer

from factory.corpus.filters import BasqueC4Filter, BasqueGopherFilter, BasqueLanguageFilter
from factory.langid import basque_fraction, fasttext_model_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LANGS = ("eus", "eng", "spa", "fra")


# -- the stock classes, configured ----------------------------------------------------------------


class BundledFT176(FT176LID):
    """datatrove's FT176LID, loading the bundled lid.176.ftz instead of downloading lid.176.bin."""

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(str(fasttext_model_path()))
        return self._model


class CLD2Fraction(LID):
    """The factory's language ID (CLD2's share of Basque text) behind datatrove's LID interface."""

    def predict(self, doc: Document):
        fraction = basque_fraction(doc.text, "cld2")
        return ("eu", fraction), {"eu": fraction}


class WhitespaceWords(WordTokenizer):
    """Words are whitespace-separated tokens, as in Dolma's Gopher tagger."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        raise NotImplementedError


def language_filter(model: LID, **kwargs) -> LanguageFilter:
    lf = LanguageFilter(languages=["eu"], **kwargs)
    lf.model = model
    return lf


def stock_default() -> list:
    return [GopherQualityFilter(), C4QualityFilter(), language_filter(BundledFT176(["eu"]))]


def stock_paper() -> dict[str, object]:
    """The stock classes set to the paper's Table 7 and the factory's definitions, by family."""
    return {
        "c4": C4QualityFilter(
            split_paragraph=True,
            remove_citations=False,
            filter_no_terminal_punct=False,
            min_num_sentences=-1,
            min_words_per_line=-1,
            max_word_length=-1,
            filter_javascript=False,
            filter_policy=False,
        ),
        "gopher": GopherQualityFilter(
            min_doc_words=4,
            max_doc_words=None,
            min_avg_word_length=3,
            max_avg_word_length=12,
            max_symbol_word_ratio=0.1,
            max_bullet_lines_ratio=0.9,
            max_ellipsis_lines_ratio=0.3,
            max_non_alpha_words_ratio=0.8,
            min_stop_words=None,
            language=WhitespaceWords(),
        ),
        "lid": language_filter(CLD2Fraction(["eu"]), language_threshold=0.5 - 1e-9),
    }


def factory() -> dict[str, object]:
    return {
        "c4": BasqueC4Filter(),
        "gopher": BasqueGopherFilter(),
        "lid": BasqueLanguageFilter(method="cld2"),
    }


# -- documents --------------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if path.exists()
        else []
    )


def chunked(n: int) -> list[str]:
    """~750-character pieces of FLORES documents (3 Basque : 1 Spanish : 1 English), for throughput."""
    texts = []
    for d in _jsonl(DATA / "flores200-devtest" / "docs.jsonl"):
        for lang in ("eus", "eus", "eus", "spa", "eng"):
            chunk: list[str] = []
            for w in d[lang].split():
                chunk.append(w)
                if len(" ".join(chunk)) >= 750:
                    texts.append(" ".join(chunk))
                    chunk = []
    return [texts[i % len(texts)] for i in range(n)]


def real_documents() -> tuple[list[str], list[str]]:
    """(CC-licensed texts, NC texts present here); NC texts are read, never shipped."""
    free: list[str] = []
    for name in ("flores200-devtest", "ntrex128"):
        for file in ("docs.jsonl", "sentences.jsonl"):
            for row in _jsonl(DATA / name / file):
                free += [row[lang] for lang in LANGS if isinstance(row.get(lang), str)]
    for file in ("train.jsonl", "val.jsonl", "test.jsonl"):
        for row in _jsonl(DATA / "qnli-eu" / file):
            free += [row["question"], row["sentence"]]
    for file in ("eng-eus.jsonl", "eus-spa.jsonl"):
        for row in _jsonl(DATA / "tatoeba-eus" / file):
            free += [row["src"], row["tgt"]]
    nc: list[str] = []
    for path in (
        DATA / "basse-news" / "docs_eu.jsonl",
        DATA / "basse-news" / "docs_es.jsonl",
        DATA / "bhtc-argia" / "train.jsonl",
        DATA / "ud-basque-bdt" / "pseudo_docs.jsonl",
    ):
        nc += [row["text"] for row in _jsonl(path)]
    return free, nc


def noisy_documents(pool: list[str], n: int, seed: int = 0) -> list[str]:
    """Real sentences with noise aimed at each rule's threshold (hashtags, ellipses, bullets, ...)."""
    rng = random.Random(seed)
    sentences = [s for s in pool if 20 < len(s) < 300]
    eu = [s for s in sentences if basque_fraction(s) >= 0.9][:3000] or sentences
    other = [s for s in sentences if basque_fraction(s) < 0.1][:3000] or sentences
    bullets = ["- ", "• ", "* ", "– ", "‣ ", "1. "]
    out = []
    for i in range(n):
        kind = i % 10
        lines = [rng.choice(eu) for _ in range(rng.randint(1, 8))]
        if kind == 0:  # hashtags around 10% of the words
            words = " ".join(lines).split()
            words += [
                f"#{rng.choice(words)}"
                for _ in range(max(1, int(len(words) * rng.uniform(0.05, 0.15))))
            ]
            rng.shuffle(words)
            text = " ".join(words)
        elif kind == 1:  # lines ending in an ellipsis, around 30%
            text = "\n".join(
                line.rstrip(".") + ("..." if rng.random() < 0.35 else "") for line in lines
            )
        elif kind == 2:  # bulleted lines around 90%, with or without blank lines between them
            joiner = "\n\n" if rng.random() < 0.5 else "\n"
            mark = rng.choice(bullets)
            text = joiner.join((mark if rng.random() < 0.92 else "") + line for line in lines)
        elif kind == 3:  # numbers and symbols around the alpha fraction
            words = " ".join(lines).split()
            words += [
                rng.choice([str(rng.randint(0, 9999)), "€", "%", "—", "|", "12,5", "+", "©"])
                for _ in range(int(len(words) * rng.uniform(0.1, 0.35)))
            ]
            rng.shuffle(words)
            text = " ".join(words)
        elif kind == 4:  # Basque mixed with another language around half of the text
            text = "\n".join(
                rng.choice(eu) if rng.random() < 0.5 else rng.choice(other)
                for _ in range(rng.randint(2, 8))
            )
        elif kind == 5:  # very short: around the 4-word minimum
            text = " ".join(rng.choice(eu).split()[: rng.randint(1, 6)])
        elif kind == 6:  # long compound words around the 12-character mean
            words = " ".join(lines).split()
            text = " ".join(
                w
                + (
                    rng.choice(["arekin", "etarikoengatik", "tasunarengana"])
                    if rng.random() < 0.6
                    else ""
                )
                for w in words
            )
        elif kind == 7:  # lorem ipsum or a curly bracket somewhere
            at = rng.randrange(len(lines))
            lines[at] += rng.choice(
                [" Lorem ipsum dolor sit amet.", ' {"a": 1}', " lorem\nipsum", " function() { }"]
            )
            text = "\n".join(lines)
        elif kind == 8:  # ellipses inside lines around 10% of the words
            words = " ".join(lines).split()
            text = " ".join(
                w + ("..." if rng.random() < 0.1 else "…" if rng.random() < 0.02 else "")
                for w in words
            )
        else:  # plain, possibly with blank lines
            text = ("\n\n" if rng.random() < 0.5 else "\n").join(lines)
        out.append(text)
    return out


# -- running -------------------------------------------------------------------------------------------


def _stock_bullet_fraction(text: str, skip_blank: bool) -> float:
    """datatrove's bullet-line fraction ('•' or '-' after lstrip), optionally over non-blank lines only."""
    lines = [line for line in text.splitlines() if line.strip() or not skip_blank]
    return sum(line.lstrip().startswith(("•", "-")) for line in lines) / max(len(lines), 1)


def timed(folder: str, filters, logs: str) -> float:
    executor = LocalPipelineExecutor(
        [JsonlReader(folder), *filters], tasks=2, workers=2, logging_dir=logs, start_method="fork"
    )
    start = time.perf_counter()
    executor.run()
    return time.perf_counter() - start


def decision(filt, text: str) -> tuple[bool, str]:
    result = filt.filter(Document(text=text, id="x", metadata={}))
    if result is True or result == (True, ""):
        return True, ""
    if result is False:
        return False, "dropped"
    return bool(result[0]), result[1]


def throughput(n_docs: int) -> None:
    texts = chunked(n_docs)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for part in range(2):
            with open(data / f"{part}.jsonl", "w") as handle:
                for i, t in enumerate(texts[part::2]):
                    handle.write(json.dumps({"id": f"{part}-{i}", "text": t}) + "\n")
        base = timed(str(data), stock_default(), f"{tmp}/l1")
        paper = timed(str(data), list(stock_paper().values()), f"{tmp}/l2")
        ours = timed(str(data), list(factory().values()), f"{tmp}/l3")
    n = len(texts)
    print(
        f"throughput: {n} documents (mean {sum(map(len, texts)) / n:.0f} chars), 2 tasks x 2 workers"
    )
    print(
        f"  baseline stock Gopher+C4+LanguageFilter(lid.176.ftz), defaults:  {n / base:,.0f} docs/s"
    )
    print(
        f"  stock classes, paper config (whitespace words, CLD2 fraction):  {n / paper:,.0f} docs/s"
    )
    print(
        f"  factory BasqueC4+BasqueGopher+BasqueLanguage(cld2):            {n / ours:,.0f} docs/s"
    )
    print(
        f"  ratio vs stock defaults: {base / ours:.2f}x; vs stock paper config: {paper / ours:.2f}x"
    )


def agreement(show: int) -> None:
    free, nc = real_documents()
    noisy = noisy_documents(free + nc, 3000)
    unique = list(dict.fromkeys(t for t in free + nc + noisy if t.strip()))
    print(
        f"decisions: {len(unique):,} unique documents ({len(set(free)):,} CC BY-SA/BY, {len(set(nc)):,} NC read here, "
        f"{len(set(noisy)):,} generated noisy)"
    )
    ref, ours = stock_paper(), factory()
    stage_agree = 0
    differences: dict[str, list] = {family: [] for family in ref}
    for text in unique:
        same = True
        for family in ref:
            a, b = decision(ref[family], text), decision(ours[family], text)
            if a[0] != b[0]:
                differences[family].append((a[1], b[1], text))
                same = False
        stage_agree += same
    for family, diffs in differences.items():
        print(f"  {family:>6}: agree on {len(unique) - len(diffs):,}/{len(unique):,}")
        for (stock_reason, factory_reason), n in Counter((a, b) for a, b, _ in diffs).most_common():
            print(
                f"          {n} x stock {stock_reason or 'keeps'!r} vs factory {factory_reason or 'keeps'!r}"
            )
            for _, _, text in [d for d in diffs if (d[0], d[1]) == (stock_reason, factory_reason)][
                :show
            ]:
                print(f"            e.g. {text[:160]!r}")
        bullets = [t for _, b, t in diffs if b.endswith("_too_many_bullet_lines")]
        if bullets:
            blank = sum(_stock_bullet_fraction(t, skip_blank=True) > 0.9 for t in bullets)
            print(
                f"          bullet-rule causes: {blank} only because the stock counts blank lines as lines, "
                f"{len(bullets) - blank} because the stock's bullets are only '•' and '-' (the factory adds '*', '–', '‣', '◦')"
            )
    print(
        f"whole stage (C4 + Gopher + LID): identical decisions on {stage_agree:,}/{len(unique):,} "
        f"({100 * stage_agree / len(unique):.2f}%)"
    )
    defaults = stock_default()
    lid_ft = sum(decision(defaults[2], t)[0] == decision(ours["lid"], t)[0] for t in unique)
    print(
        f"for reference, not the same method: stock LanguageFilter with fastText lid.176.ftz (top score > 0.5) "
        f"agrees with the CLD2 Basque fraction on {lid_ft:,}/{len(unique):,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument(
        "--show", type=int, default=3, help="examples printed per kind of disagreement"
    )
    args = parser.parse_args()
    if not (DATA / "flores200-devtest" / "docs.jsonl").exists():
        raise SystemExit(f"needs {DATA}/flores200-devtest (see ../shared/data/README.md)")
    throughput(args.docs)
    agreement(args.show)


if __name__ == "__main__":
    main()
