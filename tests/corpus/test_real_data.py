"""The corpus filters and language ID on the real texts of `../shared/data` (skipped when absent).

Expectations come from each folder's SOURCE.md, not from running the code:
* FLORES-200 devtest and NTREX-128 are professional translations of news and wiki prose,
  aligned across eus/eng/spa/fra: every Basque document is clean Basque prose (no filter may
  drop it) and every English/Spanish/French one is not Basque (the LID filter drops it, with
  its reason, and only the LID filter);
* FLORES holds 9,402 whitespace-separated Basque words in 144 articles, NTREX 17,118 in 59;
* Tatoeba pairs are short everyday sentences: CLD2 (the paper's LID) recognises short Basque
  better than fastText, which is why it is the default.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from factory import langid
from factory.corpus.features import features_of
from factory.corpus.filters import (
    BasqueC4Filter,
    BasqueGopherFilter,
    BasqueLanguageFilter,
    QualityScoreFilter,
)

LANGUAGES = ("eus", "eng", "spa", "fra")
PARALLEL = {"flores200-devtest": (144, 9402), "ntrex128": (59, 17118)}  # docs, Basque words


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def filters():
    return [
        BasqueC4Filter(),
        BasqueGopherFilter(),
        BasqueLanguageFilter(method="cld2"),
        BasqueLanguageFilter(method="fasttext"),
        QualityScoreFilter(),
    ]


@pytest.mark.parametrize("folder", PARALLEL)
def test_parallel_documents_match_their_source_md(shared_data, folder):
    docs = jsonl(shared_data / folder / "docs.jsonl")
    n_docs, words = PARALLEL[folder]
    assert len(docs) == n_docs
    assert sum(len(d["eus"].split()) for d in docs) == words
    # the Gopher word count (the `min_words` rule) agrees with it to within 1%
    counted = sum(features_of(Document(text=d["eus"], id=d["id"])).words for d in docs)
    assert abs(counted - words) <= words * 0.01


@pytest.mark.parametrize("folder", PARALLEL)
def test_basque_prose_passes_every_filter(shared_data, folder):
    docs = jsonl(shared_data / folder / "docs.jsonl")
    steps = filters()
    dropped = {}
    for d in docs:
        doc = Document(text=d["eus"], id=d["id"], metadata={"source": folder})
        for step in steps:
            result = step.filter(doc)
            if result is not True:
                dropped[d["id"]] = result[1]
    assert dropped == {}
    assert all(d["eus"] and features_of(Document(text=d["eus"], id="x")).words >= 4 for d in docs)


@pytest.mark.parametrize("folder", PARALLEL)
@pytest.mark.parametrize("language", ["eng", "spa", "fra"])
def test_other_languages_are_dropped_by_language_id_only(shared_data, folder, language):
    docs = jsonl(shared_data / folder / "docs.jsonl")
    for method in ("cld2", "fasttext"):
        lid = BasqueLanguageFilter(method=method)
        for d in docs:
            doc = Document(text=d[language], id=d["id"], metadata={"source": folder})
            assert lid.filter(doc) == (False, "basque_lid_v1_low_basque_fraction"), (
                method,
                d["id"],
            )
            assert doc.metadata["corpus_scores"]["eu_fraction"] < 0.5
    # the language-agnostic rules see well-formed prose and keep it
    for d in docs:
        doc = Document(text=d[language], id=d["id"], metadata={"source": folder})
        assert BasqueC4Filter().filter(doc) is True


def test_basque_fraction_of_a_two_language_article_lies_between(shared_data):
    """An article in Basque followed by its Spanish translation is neither kept as all Basque
    nor dropped as none: its fraction lies strictly inside (0, 1), below the pure Basque one."""
    docs = jsonl(shared_data / "flores200-devtest" / "docs.jsonl")
    for d in docs:
        pure = langid.basque_fraction(d["eus"])
        mixed = langid.basque_fraction(f"{d['eus']}\n{d['spa']}")
        assert 0.1 < mixed < 0.9 and mixed < pure, d["id"]


def test_cld2_recognises_short_basque_better_than_fasttext(shared_data):
    pairs = jsonl(shared_data / "tatoeba-eus" / "eus-spa.jsonl")
    assert len(pairs) == 1850
    basque = [p["src"] for p in pairs]
    rate = {
        method: sum(langid.top_language(s, method)[0] == "eu" for s in basque) / len(basque)
        for method in ("cld2", "fasttext")
    }
    assert rate["cld2"] > rate["fasttext"] > 0.5
    assert rate["cld2"] > 0.85
    # and neither calls the Spanish side Basque
    spanish = [p["tgt"] for p in pairs[:300]]
    for method in ("cld2", "fasttext"):
        assert sum(langid.top_language(s, method)[0] == "eu" for s in spanish) <= 3
