"""The quality filters on real text: output language, length ratio, copies, spans, QE scorer."""

from __future__ import annotations

from datatrove.data import Document

from factory.translate.recipe import LanguageCheck, LengthRatio, Scorer
from factory.translate.stages import (
    CopyCheck,
    LanguageCheckFilter,
    LengthRatioCheck,
    QualityEstimation,
    StructureCheck,
)

EN = "The bells of the old church fell silent because the parish could not pay for repairs."
EU = "Eliza zaharreko kanpaiak isildu egin ziren, parrokiak ezin zituelako konponketak ordaindu."


def doc(source: str, target: str, **facts) -> Document:
    fact = {
        "role": "user",
        "translated": True,
        "units": 1,
        "repaired": 0,
        "truncated": 0,
        "chatter_stripped": 0,
        "refusals": 0,
        "copied_chars": 0,
        "source_prose": source,
        "target_prose": target,
        "completion_tokens": 5,
        **facts,
    }
    return Document(
        text="",
        id="x",
        metadata={
            "conversations": [{"role": "user", "content": source}],
            "translation": {
                "conversations": [{"role": "user", "content": target}],
                "messages": [fact],
            },
        },
    )


def test_language_check_keeps_basque_and_drops_english():
    check = LanguageCheckFilter("eu", LanguageCheck(min_fraction=0.5))
    kept = doc(EN, EU)
    assert check.filter(kept) is True and kept.metadata["quality"]["language_score"] > 0.5
    assert check.filter(doc(EN, EN)) == (False, "translate_not_eu")


def test_length_ratio_bounds():
    check = LengthRatioCheck(LengthRatio(min=0.5, max=2.0, min_chars=20))
    assert check.filter(doc(EN, EU)) is True
    assert check.filter(doc(EN, "Kanpaiak.")) == (False, "translate_too_short")
    assert check.filter(doc(EN, EU * 3)) == (False, "translate_too_long")
    assert (
        check.filter(doc("Hi.", "Kaixo, zer moduz zaude gaur goizean?")) is True
    )  # too short to judge


def test_untranslated_copies_are_dropped():
    letters = sum(c.isalpha() for c in EN)
    assert CopyCheck(0.5).filter(doc(EN, EN, copied_chars=letters)) == (
        False,
        "translate_untranslated",
    )
    assert CopyCheck(0.5).filter(doc(EN, EU)) is True


def test_structure_check_on_assembled_text():
    source = "Run `make` now.\n\n```sh\nmake all\n```"
    assert (
        StructureCheck().filter(doc(source, "Exekutatu `make` orain.\n\n```sh\nmake all\n```"))
        is True
    )
    assert StructureCheck().filter(
        doc(source, "Exekutatu `make` orain.\n\n```sh\negin dena\n```")
    ) == (False, "translate_code_changed")
    assert StructureCheck().filter(
        doc(source, "Exekutatu make orain.\n\n```sh\nmake all\n```")
    ) == (False, "translate_spans_broken")
    assert StructureCheck().filter(
        doc(source, "Exekutatu `make` ⟦0⟧.\n\n```sh\nmake all\n```")
    ) == (False, "translate_spans_broken")


def test_pluggable_qe_scorer_scores_and_drops():
    step = QualityEstimation(Scorer(function="qe_scorer:score", min_score=0.5, batch_size=4))
    good, bad = doc(EN, EU), doc(EN, "Ez.")
    assert step.filter_batch([good, bad]) == [True, (False, "translate_low_qe")]
    assert good.metadata["quality"]["qe_score"] > 0.5 > bad.metadata["quality"]["qe_score"]
