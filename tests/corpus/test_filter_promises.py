"""Promises of factory/corpus/features.py and filters.py stated as properties.

* features: words are whitespace tokens with a letter or digit; punctuation-only tokens count
  only in the alpha fraction's denominator; ratios are per token, fractions per non-empty line;
* every threshold is inclusive at its bound (a document exactly at a limit is kept) and `None`
  switches its rule off; `failures` lists every rule in the documented order and `filter`
  reports the first one;
* per-source overrides change only the keys they name;
* a score is computed once, rounded to 4 places, cached in `metadata["corpus_scores"]`, and
  reused when it is already there;
* `make_filters` runs the cheap rules first (C4, Gopher), then LID, then the scorer, with the
  recipe's thresholds and an exclusion writer per filter prefix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datatrove.data import Document

from factory.corpus.features import FEATURES_KEY, features_of, text_features
from factory.corpus.filters import (
    BasqueC4Filter,
    BasqueGopherFilter,
    BasqueLanguageFilter,
    QualityScoreFilter,
    make_filters,
)
from factory.recipes import load_recipe

REPO = Path(__file__).resolve().parents[2]
OFF = dict.fromkeys(BasqueGopherFilter.keys)  # every Gopher rule switched off


def doc(text: str, source: str = "web") -> Document:
    return Document(text=text, id="d", metadata={"source": source})


def test_features_of_a_known_text():
    text = "Kaixo mundua # ... …\n* lerro bat...\n\n- bi 123\n{x} lorem IPSUM"
    f = text_features(text)
    assert f.tokens == 14
    assert f.words == 9  # '#', '...', '…', '*', '-' are not words
    assert f.mean_word_length == pytest.approx(40 / 9)
    assert f.alpha_word_fraction == pytest.approx(8 / 14)  # '123' has no letter
    assert f.hash_ratio == pytest.approx(1 / 14)
    assert f.ellipsis_ratio == pytest.approx(3 / 14)  # '...', 'bat...', '…'
    assert f.bullet_line_fraction == pytest.approx(2 / 4)  # the empty line is not a line
    assert f.ellipsis_line_fraction == pytest.approx(2 / 4)
    assert f.lorem_ipsum and f.curly_bracket


@pytest.mark.parametrize("bullet", ["*", "-", "•", "‣", "◦", "–"])
def test_every_bullet_mark_counts(bullet):
    assert text_features(f"{bullet} bat\nbi").bullet_line_fraction == 0.5


def test_empty_text_features():
    f = text_features("")
    assert (f.words, f.tokens, f.mean_word_length, f.alpha_word_fraction) == (0, 0, 0.0, 0.0)
    assert (f.hash_ratio, f.bullet_line_fraction, f.ellipsis_line_fraction) == (0.0, 0.0, 0.0)
    assert not f.lorem_ipsum and not f.curly_bracket


def test_features_are_cached_until_the_text_changes_length():
    d = doc("bat bi hiru")
    assert features_of(d).words == 3
    assert d.metadata[FEATURES_KEY]["_text_len"] == len("bat bi hiru")
    d.metadata[FEATURES_KEY]["words"] = 99  # a cached value is trusted while the length holds
    assert features_of(d).words == 99
    d.text = "bat bi hiru lau"
    assert features_of(d).words == 4


# one rule at a time, at its bound (kept) and just past it (dropped)
BOUNDS = [
    ("min_words", 4, "bat bi hiru lau", "bat bi hiru", "too_few_words"),
    ("max_words", 4, "bat bi hiru lau", "bat bi hiru lau bost", "too_many_words"),
    ("min_mean_word_length", 3, "abc abc", "abc ab", "short_mean_word_length"),
    ("max_mean_word_length", 4, "abcd abcd", "abcd abcde", "long_mean_word_length"),
    ("min_alpha_word_fraction", 0.8, "a b c d 1", "a b c 1 2", "low_alpha_word_fraction"),
    ("max_symbol_word_ratio", 0.25, "#a b c d", "#a #b c d", "too_many_hashes"),
    ("max_symbol_word_ratio", 0.25, "a... b c d", "a... b... c d", "too_many_ellipses"),
    ("max_bullet_line_fraction", 0.5, "* a\nb", "* a\n* b\nc", "too_many_bullet_lines"),
    ("max_ellipsis_line_fraction", 0.5, "a…\nb", "a…\nb…\nc", "too_many_ellipsis_lines"),
]


@pytest.mark.parametrize("key, limit, at_bound, past, reason", BOUNDS, ids=[b[4] for b in BOUNDS])
def test_gopher_bounds_are_inclusive(key, limit, at_bound, past, reason):
    rule = BasqueGopherFilter(**(OFF | {key: limit}))
    assert rule.filter(doc(at_bound)) is True
    assert rule.filter(doc(past)) == (False, f"basque_gopher_v1_{reason}")
    assert BasqueGopherFilter(**OFF).filter(doc(past)) is True  # None switches it off


def test_failures_list_every_rule_in_order_and_filter_reports_the_first():
    text = "# # #\n* …"
    failed = BasqueGopherFilter().failures(doc(text))
    assert failed == [
        "basque_gopher_v1_too_few_words",
        "basque_gopher_v1_short_mean_word_length",
        "basque_gopher_v1_low_alpha_word_fraction",
        "basque_gopher_v1_too_many_hashes",
        "basque_gopher_v1_too_many_ellipses",
        "basque_gopher_v1_too_many_ellipsis_lines",
    ]
    assert BasqueGopherFilter().filter(doc(text)) == (False, failed[0])
    c4 = BasqueC4Filter().failures(doc("Lorem Ipsum {"))
    assert c4 == ["basque_c4_v1_lorem_ipsum", "basque_c4_v1_curly_bracket"]


def test_per_source_override_changes_only_its_keys():
    f = BasqueGopherFilter(per_source={"wiki": {"min_words": 1, "not_a_threshold": 5}, "web": {}})
    assert f.thresholds(doc("x", "wiki")) == f.defaults | {"min_words": 1}
    assert f.thresholds(doc("x", "web")) == f.defaults
    assert f.thresholds(doc("x", "unknown")) == f.defaults
    assert f.defaults["min_words"] == 4 and f.defaults["max_mean_word_length"] == 12


def test_documented_defaults():
    assert BasqueGopherFilter().defaults == {
        "min_words": 4,
        "max_words": None,
        "min_mean_word_length": 3,
        "max_mean_word_length": 12,
        "min_alpha_word_fraction": 0.8,
        "max_symbol_word_ratio": 0.1,
        "max_bullet_line_fraction": 0.9,
        "max_ellipsis_line_fraction": 0.3,
    }
    assert BasqueC4Filter().defaults == {"drop_lorem_ipsum": True, "drop_curly_bracket": True}
    assert BasqueLanguageFilter().defaults == {"min_basque_fraction": 0.5}
    assert BasqueLanguageFilter().method == "cld2"
    assert QualityScoreFilter().defaults == {"min_quality_score": 0.55}
    assert (
        QualityScoreFilter().scorer_name == "heuristic_v2"
    )  # the recipe default (corpus/recipe.py)


def test_score_threshold_is_inclusive_rounded_cached_and_reused():
    f = QualityScoreFilter(scorer="builtins:len", min_quality_score=5)
    at = doc("12345")
    assert f.filter(at) is True and at.metadata["corpus_scores"] == {"quality": 5.0}
    assert f.filter(doc("1234")) == (False, "quality_v1_low_score")
    cached = doc("1")
    cached.metadata["corpus_scores"] = {"quality": 100.0}  # the label-only pass scored it
    assert f.filter(cached) is True and cached.metadata["corpus_scores"] == {"quality": 100.0}
    off = QualityScoreFilter(scorer="builtins:len", min_quality_score=None)
    unscored = doc("1")
    assert off.filter(unscored) is True and unscored.metadata["corpus_scores"] == {"quality": 1.0}


def test_score_is_rounded_to_four_places():
    f = QualityScoreFilter(scorer="thirds_scorer:score", min_quality_score=None)
    d = doc("1234567")  # 7 / 3
    f.filter(d)
    assert d.metadata["corpus_scores"] == {"quality": 2.3333}


def test_language_filter_bound_is_inclusive():
    d = doc("x")
    d.metadata["corpus_scores"] = {"eu_fraction": 0.5}
    assert BasqueLanguageFilter(min_basque_fraction=0.5).filter(d) is True
    assert BasqueLanguageFilter(min_basque_fraction=0.51).filter(d) == (
        False,
        "basque_lid_v1_low_basque_fraction",
    )


def test_make_filters_order_thresholds_and_writers():
    recipe = load_recipe(REPO / "recipes" / "corpus_eu.yaml", ["filters.min_words=7"])
    asked = []
    made = make_filters(recipe, writer_for=lambda prefix: asked.append(prefix) or prefix)
    assert [type(f) for f in made] == [
        BasqueC4Filter,
        BasqueGopherFilter,
        BasqueLanguageFilter,
        QualityScoreFilter,
    ]
    assert asked == [f.prefix for f in made]
    assert [f.exclusion_writer for f in made] == asked
    assert made[1].defaults["min_words"] == 7
    assert made[2].method == recipe.language_id.method
    assert made[3].scorer_name == recipe.quality.scorer
    overrides = {s.name: dict(s.filters) for s in recipe.sources if s.filters}
    for f in made:
        for source, over in overrides.items():
            expected = f.defaults | {k: v for k, v in over.items() if k in f.keys}
            assert f.per_source[source] == expected
    assert all(f.exclusion_writer is None for f in make_filters(recipe))
