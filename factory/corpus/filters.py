"""The paper's document filters (Table 7) as datatrove filters, tuned for Basque.

Each filter takes its thresholds as keyword arguments (`None` switches a rule off) plus
`per_source` overrides, returns `False, "<prefix>_<rule>"` for the first rule a document fails,
and offers `failures(doc)` listing every rule it fails (the paper's Table 7 counts a document
under each filter that flags it). Versioned prefixes say which rules ran.

Unlike datatrove's stock GopherQualityFilter there is no stop-word rule: with its default
(English) stop words it drops every Basque document.
"""

from __future__ import annotations

from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from factory.corpus.features import features_of
from factory.corpus.quality import resolve_scorer
from factory.langid import basque_fraction

SCORES_KEY = "corpus_scores"


class _SourceAwareFilter(BaseFilter):
    """Holds default thresholds and per-source overrides; subclasses list their rules."""

    prefix = ""
    keys: tuple[str, ...] = ()

    def __init__(
        self,
        exclusion_writer: DiskWriter | None = None,
        per_source: dict[str, dict[str, Any]] | None = None,
        **thresholds,
    ):
        super().__init__(exclusion_writer)
        unknown = sorted(set(thresholds) - set(self.keys))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown threshold(s) {unknown} (allowed: {list(self.keys)})"
            )
        self.defaults = {key: thresholds.get(key) for key in self.keys}
        self.per_source = {
            source: self.defaults | {k: v for k, v in over.items() if k in self.keys}
            for source, over in (per_source or {}).items()
        }

    def thresholds(self, doc: Document) -> dict[str, Any]:
        return self.per_source.get(doc.metadata.get("source"), self.defaults)

    def failures(self, doc: Document) -> list[str]:
        raise NotImplementedError

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        failed = self.failures(doc)
        return (False, failed[0]) if failed else True


class _ScoreFilter(_SourceAwareFilter):
    """A document score, cached in `metadata["corpus_scores"][score_key]`, dropped below its threshold."""

    score_key = ""
    reason = ""

    def score(self, text: str) -> float:
        raise NotImplementedError

    def failures(self, doc: Document) -> list[str]:
        limit = self.thresholds(doc)[self.keys[0]]
        scores = doc.metadata.setdefault(SCORES_KEY, {})
        if self.score_key not in scores:  # Table 7's label-only pass already scored it
            scores[self.score_key] = round(float(self.score(doc.text)), 4)
        if limit is not None and scores[self.score_key] < limit:
            return [f"{self.prefix}_{self.reason}"]
        return []


class BasqueLanguageFilter(_ScoreFilter):
    """Drops documents whose fraction of Basque text is below `min_basque_fraction`.

    Drops (reasons): `basque_lid_v1_low_basque_fraction`.
    Adds `metadata["corpus_scores"]["eu_fraction"]`.
    """

    name = "🌍 Basque fraction"
    prefix = "basque_lid_v1"
    keys = ("min_basque_fraction",)
    score_key = "eu_fraction"
    reason = "low_basque_fraction"

    def __init__(self, method: str = "cld2", min_basque_fraction: float | None = 0.5, **kwargs):
        super().__init__(min_basque_fraction=min_basque_fraction, **kwargs)
        self.method = method

    def score(self, text: str) -> float:
        return basque_fraction(text, self.method)


class BasqueGopherFilter(_SourceAwareFilter):
    """Gopher's heuristics with the paper's Basque thresholds (Table 7).

    Drops (reasons): `basque_gopher_v1_too_few_words`, `_too_many_words`,
    `_short_mean_word_length`, `_long_mean_word_length`, `_low_alpha_word_fraction`,
    `_too_many_hashes`, `_too_many_ellipses`, `_too_many_bullet_lines`, `_too_many_ellipsis_lines`.
    References: Rae et al. 2022 (Gopher), Etxaniz et al. 2024 (Latxa) Appendix A.
    """

    name = "🥇 Basque Gopher"
    prefix = "basque_gopher_v1"
    keys = (
        "min_words",
        "max_words",
        "min_mean_word_length",
        "max_mean_word_length",
        "min_alpha_word_fraction",
        "max_symbol_word_ratio",
        "max_bullet_line_fraction",
        "max_ellipsis_line_fraction",
    )

    def __init__(
        self,
        min_words: int | None = 4,
        max_words: int | None = None,
        min_mean_word_length: float | None = 3,
        max_mean_word_length: float | None = 12,
        min_alpha_word_fraction: float | None = 0.8,
        max_symbol_word_ratio: float | None = 0.1,
        max_bullet_line_fraction: float | None = 0.9,
        max_ellipsis_line_fraction: float | None = 0.3,
        **kwargs,
    ):
        super().__init__(
            min_words=min_words,
            max_words=max_words,
            min_mean_word_length=min_mean_word_length,
            max_mean_word_length=max_mean_word_length,
            min_alpha_word_fraction=min_alpha_word_fraction,
            max_symbol_word_ratio=max_symbol_word_ratio,
            max_bullet_line_fraction=max_bullet_line_fraction,
            max_ellipsis_line_fraction=max_ellipsis_line_fraction,
            **kwargs,
        )

    def failures(self, doc: Document) -> list[str]:
        t = self.thresholds(doc)
        f = features_of(doc)
        p = self.prefix
        failed = []
        if t["min_words"] is not None and f.words < t["min_words"]:
            failed.append(f"{p}_too_few_words")
        if t["max_words"] is not None and f.words > t["max_words"]:
            failed.append(f"{p}_too_many_words")
        if t["min_mean_word_length"] is not None and f.mean_word_length < t["min_mean_word_length"]:
            failed.append(f"{p}_short_mean_word_length")
        if t["max_mean_word_length"] is not None and f.mean_word_length > t["max_mean_word_length"]:
            failed.append(f"{p}_long_mean_word_length")
        if (
            t["min_alpha_word_fraction"] is not None
            and f.alpha_word_fraction < t["min_alpha_word_fraction"]
        ):
            failed.append(f"{p}_low_alpha_word_fraction")
        if t["max_symbol_word_ratio"] is not None:
            if f.hash_ratio > t["max_symbol_word_ratio"]:
                failed.append(f"{p}_too_many_hashes")
            if f.ellipsis_ratio > t["max_symbol_word_ratio"]:
                failed.append(f"{p}_too_many_ellipses")
        if (
            t["max_bullet_line_fraction"] is not None
            and f.bullet_line_fraction > t["max_bullet_line_fraction"]
        ):
            failed.append(f"{p}_too_many_bullet_lines")
        if (
            t["max_ellipsis_line_fraction"] is not None
            and f.ellipsis_line_fraction > t["max_ellipsis_line_fraction"]
        ):
            failed.append(f"{p}_too_many_ellipsis_lines")
        return failed


class BasqueC4Filter(_SourceAwareFilter):
    """C4's document-level rules the paper kept: 'lorem ipsum' and '{'.

    Drops (reasons): `basque_c4_v1_lorem_ipsum`, `basque_c4_v1_curly_bracket`.
    """

    name = "⛰ Basque C4"
    prefix = "basque_c4_v1"
    keys = ("drop_lorem_ipsum", "drop_curly_bracket")

    def __init__(self, drop_lorem_ipsum: bool = True, drop_curly_bracket: bool = True, **kwargs):
        super().__init__(
            drop_lorem_ipsum=drop_lorem_ipsum, drop_curly_bracket=drop_curly_bracket, **kwargs
        )

    def failures(self, doc: Document) -> list[str]:
        t = self.thresholds(doc)
        f = features_of(doc)
        failed = []
        if t["drop_lorem_ipsum"] and f.lorem_ipsum:
            failed.append(f"{self.prefix}_lorem_ipsum")
        if t["drop_curly_bracket"] and f.curly_bracket:
            failed.append(f"{self.prefix}_curly_bracket")
        return failed


class QualityScoreFilter(_ScoreFilter):
    """Drops documents whose quality score is below `min_quality_score` (the paper's CCv2 < 0.55).

    Drops (reasons): `quality_v1_low_score`. Adds `metadata["corpus_scores"]["quality"]`.
    """

    name = "🏅 Quality score"
    prefix = "quality_v1"
    keys = ("min_quality_score",)
    score_key = "quality"
    reason = "low_score"

    def __init__(
        self, scorer: str = "heuristic_v2", min_quality_score: float | None = 0.55, **kwargs
    ):
        super().__init__(min_quality_score=min_quality_score, **kwargs)
        self.scorer_name = scorer
        self.scorer = resolve_scorer(scorer)

    def score(self, text: str) -> float:
        return self.scorer(text)


def make_filters(recipe, writer_for=None) -> list[_SourceAwareFilter]:
    """The recipe's filters, in the order they run (cheap rules first, LID and scorer last)."""
    defaults = recipe.filters.model_dump()
    per_source = {s.name: dict(s.filters) for s in recipe.sources if s.filters}

    def args(cls):
        return {k: defaults[k] for k in cls.keys} | {
            "per_source": per_source,
            "exclusion_writer": writer_for(cls.prefix) if writer_for else None,
        }

    return [
        BasqueC4Filter(**args(BasqueC4Filter)),
        BasqueGopherFilter(**args(BasqueGopherFilter)),
        BasqueLanguageFilter(method=recipe.language_id.method, **args(BasqueLanguageFilter)),
        QualityScoreFilter(scorer=recipe.quality.scorer, **args(QualityScoreFilter)),
    ]
