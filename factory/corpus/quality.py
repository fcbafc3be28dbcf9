"""Pluggable document quality scorers (the paper's CCv2 step), registered under versioned names.

A scorer maps a text to a score in [0, 1]. `heuristic_v1` follows Corpus Cleaner v2's shape
(Palomar-Giner et al. 2024): every line starts at 1 and taggers multiply penalties
(bad encoding, noise, URLs, tiny lines, missing end punctuation, shouting, character runs); the
document score is the character-weighted mean of its lines, lowered by repeated lines. It is a
re-implementation of the idea, not CCv2 itself (CCv2 is a C++/Python tool not on PyPI).
A recipe may also name `module:function`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from factory.errors import RecipeError

Scorer = Callable[[str], float]

_MOJIBAKE = re.compile(r"\ufffd|Ã[\x80-\xbf¡-ÿ]|â€|Â[\x80-\xbf ]")
_URL = re.compile(r"https?://|www\.|\S+@\S+\.\w{2,}")
_RUN = re.compile(r"(\S)\1{5,}")
_END = (".", "!", "?", ":", ";", '"', "'", "»", "”", ")")

_SCORERS: dict[str, Scorer] = {}


def register(name: str):
    """Decorator: register a scorer under `name`; names are unique."""

    def wrap(fn: Scorer) -> Scorer:
        if name in _SCORERS:
            raise ValueError(f"scorer {name!r} is already registered")
        _SCORERS[name] = fn
        return fn

    return wrap


def available() -> list[str]:
    return sorted(_SCORERS)


def resolve_scorer(name: str) -> Scorer:
    """A registered scorer or `module:function`; a `RecipeError` naming the valid ones otherwise."""
    if name in _SCORERS:
        return _SCORERS[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as error:
            raise RecipeError(f"quality.scorer: cannot import {name!r} ({error})") from None
        if not callable(fn):
            raise RecipeError(f"quality.scorer: {name!r} is not callable")
        return fn
    raise RecipeError(
        f"quality.scorer: unknown scorer {name!r} (allowed: {', '.join(available())} or module:function)"
    )


def _line_score(line: str) -> float:
    score = 1.0
    if _MOJIBAKE.search(line):
        score *= 0.1  # bad encoding survived ftfy
    visible = [c for c in line if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    if visible and letters / len(visible) < 0.6:
        score *= 0.4  # numbers, symbols, markup
    if _URL.search(line):
        score *= 0.6
    words = line.split()
    if len(words) < 3:
        score *= 0.6  # tiny line: menus, captions, buttons
    elif not line.endswith(_END):
        score *= 0.85
    if letters > 10 and line.upper() == line:
        score *= 0.6  # shouting
    if _RUN.search(line):
        score *= 0.5
    return score


@register("heuristic_v1")
def heuristic_v1(text: str) -> float:
    """CCv2-style score: char-weighted mean of line scores, times the share of distinct lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    total = sum(len(line) for line in lines)
    mean = sum(_line_score(line) * len(line) for line in lines) / total
    distinct = len(set(lines)) / len(lines)
    return round(mean * (0.5 + 0.5 * distinct), 6)


def _token_share(line: str, pattern: re.Pattern) -> float:
    """Share of the line's visible characters in the tokens that match `pattern`."""
    tokens = line.split()
    total = sum(len(t) for t in tokens)
    hit = sum(len(t) for t in tokens if pattern.search(t))
    return hit / total if total else 0.0


def _line_score_v2(line: str) -> float:
    """As v1, but a character run or a URL costs in proportion to the tokens that carry it.

    v1 halved a whole line for one expressive word ("Kaixoooooo"), so a one-line article with
    one such word fell under the quality threshold; the penalty now scales with the offending
    tokens' share of the line (a line that is all run or all URL still gets v1's factor).
    """
    score = 1.0
    if _MOJIBAKE.search(line):
        score *= 0.1
    visible = [c for c in line if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    if visible and letters / len(visible) < 0.6:
        score *= 0.4
    score *= 1.0 - 0.4 * _token_share(line, _URL)
    words = line.split()
    if len(words) < 3:
        score *= 0.6
    elif not line.endswith(_END):
        score *= 0.85
    if letters > 10 and line.upper() == line:
        score *= 0.6
    score *= 1.0 - 0.5 * _token_share(line, _RUN)
    return score


@register("heuristic_v2")
def heuristic_v2(text: str) -> float:
    """`heuristic_v1` with token-level penalties for character runs and URLs (the default)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    total = sum(len(line) for line in lines)
    mean = sum(_line_score_v2(line) * len(line) for line in lines) / total
    distinct = len(set(lines)) / len(lines)
    return round(mean * (0.5 + 0.5 * distinct), 6)


@register("fasttext_eu_v1")
def fasttext_eu_v1(text: str) -> float:
    """fastText (lid.176.ftz) probability that the whole text is Basque."""
    from factory.langid import fasttext_scores

    return fasttext_scores(text, k=5).get("eu", 0.0)
