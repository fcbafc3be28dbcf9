import pytest
from datatrove.data import Document

from factory.corpus.filters import (
    BasqueC4Filter,
    BasqueGopherFilter,
    BasqueLanguageFilter,
    QualityScoreFilter,
)
from factory.corpus.quality import resolve_scorer
from factory.errors import RecipeError

GOOD = (
    "Euskara Euskal Herriko hizkuntza da, eta munduko hizkuntza zaharrenetako bat. "
    "Gaur egun milioi bat hiztun inguru ditu, gehienak Hego Euskal Herrian."
)


def doc(text, source="web"):
    return Document(text=text, id="d", metadata={"source": source})


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Kaixo zer", "basque_gopher_v1_too_few_words"),
        ("ab cd ef gh ij kl mn op qr", "basque_gopher_v1_short_mean_word_length"),
        (
            "Euskalerriratzekoarenganakoarekin elkartasunezkoenetarikoarengatik nazioartekotzearenganakoarekin Euskalerriratzekoarenganakoarekin",
            "basque_gopher_v1_long_mean_word_length",
        ),
        (
            "2023 2024 2025 1250 3310 4567 8990 1230 1345 Euskara",
            "basque_gopher_v1_low_alpha_word_fraction",
        ),
        (
            "#euskara #kultura #berriak #gaur etxea kalea herria mendia itsasoa ibaia",
            "basque_gopher_v1_too_many_hashes",
        ),
        (
            "Etxea kalea... herria mendia... itsasoa ibaia... basoa zelaia... hondartza",
            "basque_gopher_v1_too_many_ellipses",
        ),
        (
            "* Etxea handia da eta polita\n* Kalea luzea da eta zabala\n* Herria polita da eta txikia",
            "basque_gopher_v1_too_many_bullet_lines",
        ),
        (
            "Irakurri gehiago orain gure webgunean eta ikusi azken albiste guztiak...\nIkusi bideoa hemen bertan gure webgunean eta partekatu lagunekin gaur\nEntzun irratia gaur gure webgunean eta jarraitu gurekin egun osoan...",
            "basque_gopher_v1_too_many_ellipsis_lines",
        ),
    ],
)
def test_gopher_reasons(text, reason):
    assert BasqueGopherFilter().filter(doc(text)) == (False, reason)


def test_gopher_keeps_basque_and_per_source_override():
    assert BasqueGopherFilter().filter(doc(GOOD)) is True
    f = BasqueGopherFilter(per_source={"wiki": {"min_words": 1}})
    assert f.filter(doc("Kaixo zer", "wiki")) is True
    assert f.filter(doc("Kaixo zer", "web")) == (False, "basque_gopher_v1_too_few_words")


def test_gopher_none_switches_a_rule_off_and_failures_lists_all():
    assert (
        BasqueGopherFilter(min_words=None, min_mean_word_length=None).filter(doc("ab cd")) is True
    )
    failed = BasqueGopherFilter().failures(doc("#a #b"))
    assert (
        "basque_gopher_v1_too_few_words" in failed and "basque_gopher_v1_too_many_hashes" in failed
    )


def test_c4_reasons():
    f = BasqueC4Filter()
    assert f.filter(doc("Lorem ipsum dolor sit amet " + GOOD)) == (
        False,
        "basque_c4_v1_lorem_ipsum",
    )
    assert f.filter(doc("function() { return 1; } " + GOOD)) == (
        False,
        "basque_c4_v1_curly_bracket",
    )
    assert f.filter(doc(GOOD)) is True
    assert BasqueC4Filter(drop_curly_bracket=False).filter(doc("{ " + GOOD)) is True


def test_language_filter_reason_and_score():
    f = BasqueLanguageFilter()
    d = doc(
        "This sentence is written in English and talks about the weather in the city of London today."
    )
    assert f.filter(d) == (False, "basque_lid_v1_low_basque_fraction")
    assert d.metadata["corpus_scores"]["eu_fraction"] < 0.5
    assert BasqueLanguageFilter(method="fasttext").filter(doc(GOOD)) is True


def test_quality_filter_reason():
    f = QualityScoreFilter()
    assert f.filter(doc(GOOD)) is True
    bad = "\n".join(["KLIKATU HEMEN ORAIN!!!!!!!", "www.example.com 123 456", "menua"] * 5)
    assert f.filter(doc(bad)) == (False, "quality_v1_low_score")


def test_scorer_resolution():
    assert resolve_scorer("fasttext_eu_v1")(GOOD) > 0.5
    assert resolve_scorer("builtins:len") is len
    with pytest.raises(RecipeError, match="unknown scorer 'ccv2'.*heuristic_v1"):
        resolve_scorer("ccv2")


def test_unknown_threshold_is_rejected():
    with pytest.raises(TypeError, match="unknown threshold"):
        BasqueGopherFilter(min_stop_words=2)


def test_one_expressive_word_costs_its_share_not_the_line():
    from factory.corpus.quality import heuristic_v1, heuristic_v2

    article = (
        "Atzo arratsaldean herriko plazan kontzertu ederra izan genuen, eta jendea "
        "pozik joan zen etxera: zoragarriaaaaaaa izan zela esan zuten askok."
    )
    assert heuristic_v1(article) < 0.55  # the old scorer dropped it for one word
    assert heuristic_v2(article) > 0.9
    # a line that is nothing but a run is still penalised as before
    assert heuristic_v2("aaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbb cccccccccccccccc.") <= 0.5 + 1e-9
    spam = "\n".join(["KLIKATU HEMEN ORAIN!!!!!!!", "www.example.com 123 456", "menua"] * 5)
    assert heuristic_v2(spam) < 0.55
