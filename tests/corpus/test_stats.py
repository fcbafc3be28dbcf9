"""Corpus statistics: histogram bins and per-source sums across tasks."""

from datatrove.data import Document

from factory.corpus.stats import LENGTH_BINS, WORDLEN_BINS, CorpusStats, _bin, merge_stats


def test_bin_is_the_last_edge_not_above_the_value():
    assert (
        _bin(1, LENGTH_BINS) == 0 and _bin(0.2, WORDLEN_BINS) == 0 and _bin(-3, WORDLEN_BINS) == 0
    )
    assert LENGTH_BINS[_bin(10, LENGTH_BINS)] == 10 and LENGTH_BINS[_bin(11, LENGTH_BINS) + 1] > 11
    assert (
        WORDLEN_BINS[_bin(4.49, WORDLEN_BINS)] == 4.0
        and WORDLEN_BINS[_bin(4.5, WORDLEN_BINS)] == 4.5
    )
    assert _bin(10**9, LENGTH_BINS) == len(LENGTH_BINS) - 1


def test_stats_sum_over_tasks(tmp_path):
    docs = [
        Document(text=" ".join(["etxea"] * n), id=str(n), metadata={"source": "wiki"})
        for n in (1, 10, 10)
    ]
    list(CorpusStats(str(tmp_path), "raw").run(iter(docs[:1]), 0, 2))
    list(CorpusStats(str(tmp_path), "raw").run(iter(docs[1:]), 1, 2))
    wiki = merge_stats(tmp_path, "raw")["sources"]["wiki"]
    assert (wiki["docs"], wiki["words"]) == (3, 21)
    assert wiki["length_hist"][0] == 1 and wiki["length_hist"][LENGTH_BINS.index(10)] == 2
    assert wiki["wordlen_hist"][WORDLEN_BINS.index(5.0)] == 3
