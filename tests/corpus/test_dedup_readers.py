import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.corpus.dedup import (
    DedupBuckets,
    DedupClusters,
    DedupFilter,
    DedupSignatures,
    minhasher_for,
    normalize_url,
)
from factory.corpus.readers import SourceFile, SourceReader
from factory.corpus.splits import split_sizes

WORDS = (
    "etxe kale herri mendi itsaso ibai baso zelai hondartza euri haize eguzki ilargi izar lore zuhaitz "
    "txori arrain katu txakur behi ardi zaldi oilo sagu ogi ur esne gazta sagar madari"
).split()


def make_text(rng, n=120):
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def edit(text, rng, fraction):
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * fraction)):
        words[i] = "aldatua" + str(rng.randrange(1000))
    return " ".join(words)


def run_dedup(tmp_path, docs_by_rank, low_quality=(), memory_gb=2.0):
    """The four dedup steps as the executor would run them (2 signature tasks, 2 bucket tasks)."""
    index = str(tmp_path / "index")
    hasher = minhasher_for(7, 2, 32, 4)
    for rank, docs in enumerate(docs_by_rank):
        for d in docs:
            d.metadata["shard"] = rank
        list(
            DedupSignatures(
                index,
                hasher,
                paragraph_min_chars=10 if low_quality else None,
                memory_gb=memory_gb,
            ).run(iter(docs), rank, 2)
        )
    for rank in range(2):
        list(
            DedupBuckets(index, 34, 0.5, list(low_quality), memory_gb=memory_gb).run(None, rank, 2)
        )
    list(DedupClusters(index, ["wiki", "web", "hplt"]).run(None, 0, 1))
    f = DedupFilter(index)
    return {d.id: f.filter(d) for docs in docs_by_rank for d in docs}, {
        d.id: d for docs in docs_by_rank for d in docs
    }


def mk(doc_id, text, prio, rec, url=None):
    from datatrove.data import Document

    return Document(
        text=text,
        id=doc_id,
        metadata={"key": [prio, prio, rec], "url": url, "source": ["wiki", "web", "hplt"][prio]},
    )


def test_priority_wins_and_reasons(tmp_path):
    rng = random.Random(1)
    a, b, c = make_text(rng), make_text(rng), make_text(rng)
    # the low-priority copies sit in rank 0, the preferred ones in rank 1: order must not matter
    rank0 = [
        mk("web-a", a, 1, 0),
        mk("web-b", edit(b, rng, 0.08), 1, 1),
        mk("web-url", c, 1, 2, url="https://www.x.eus/a/"),
    ]
    rank1 = [
        mk("wiki-a", "  " + a.upper(), 0, 0),
        mk("wiki-b", b, 0, 1),
        mk("wiki-c", make_text(rng), 0, 2, url="http://x.eus/a"),
    ]
    result, docs = run_dedup(tmp_path, [rank0, rank1])
    assert result["wiki-a"] is True and result["wiki-b"] is True and result["wiki-c"] is True
    assert result["web-a"] == (False, "dedup_exact")
    assert result["web-b"] == (False, "dedup_near")
    assert result["web-url"] == (False, "dedup_url")
    # the kept copy by its published id and source, not a reader-internal key
    assert docs["web-b"].metadata["duplicate_of"] == {"id": "wiki-b", "source": "wiki"}
    assert docs["web-a"].metadata["duplicate_of"] == {"id": "wiki-a", "source": "wiki"}


def test_near_dup_recall_and_precision(tmp_path):
    rng = random.Random(2)
    originals = [make_text(rng) for _ in range(60)]
    docs = [mk(f"o{i}", t, 0, i) for i, t in enumerate(originals)]
    docs += [
        mk(f"n{i}", edit(t, rng, 0.05 + 0.05 * (i % 2)), 1, i) for i, t in enumerate(originals[:30])
    ]
    result, _ = run_dedup(tmp_path, [docs[::2], docs[1::2]])
    removed = {k for k, v in result.items() if v is not True}
    assert removed == {f"n{i}" for i in range(30)}


def test_memory_bound_spills_sorted_runs_with_the_same_result(tmp_path):
    from pathlib import Path

    rng = random.Random(3)
    originals = [make_text(rng) for _ in range(80)]
    docs = [mk(f"o{i}", t, 0, i) for i, t in enumerate(originals)]
    docs += [mk(f"n{i}", edit(t, rng, 0.07), 1, i) for i, t in enumerate(originals[:40])]
    docs += [mk(f"x{i}", originals[i], 2, i) for i in range(10)]  # exact copies
    big, _ = run_dedup(tmp_path / "big", [docs[::2], docs[1::2]])
    # about 1000 records (~29 documents of 34 keys) per run: each task spills several runs
    small, _ = run_dedup(tmp_path / "small", [docs[::2], docs[1::2]], memory_gb=1e-9)
    runs = list(Path(tmp_path / "small" / "index" / "kind005").glob("00000-*.npy"))
    assert len(runs) >= 2
    assert small == big
    assert {k for k, v in big.items() if v is not True} == {f"n{i}" for i in range(40)} | {
        f"x{i}" for i in range(10)
    }


def test_paragraph_dedup_for_low_quality_sources(tmp_path):
    shared = "Paragrafo hau iturri askotan agertzen da eta behin bakarrik gorde behar da."
    rng = random.Random(3)
    wiki_own, hplt_own = make_text(rng, 60), make_text(rng, 60)
    rank0 = [mk("wiki", f"{shared}\n{wiki_own}", 0, 0)]
    rank1 = [mk("hplt", f"{hplt_own}\n{shared}", 2, 0), mk("hplt-all", shared, 2, 1)]
    result, docs = run_dedup(tmp_path, [rank0, rank1], low_quality=[2])
    assert result["hplt"] is True and docs["hplt"].text == hplt_own
    assert result["hplt-all"] == (False, "dedup_exact") or result["hplt-all"] == (
        False,
        "dedup_paragraphs_empty",
    )
    assert docs["wiki"].text.startswith(shared)


def test_normalize_url():
    assert normalize_url("https://www.Berria.eus/a/b/#x") == normalize_url("http://berria.eus/a/b")


def test_reader_quarantines_bad_input(tmp_path):
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(
        b'{"id": "1", "text": "Kaixo mundua", "url": "u"}\n{"id": broken\n'
        b'{"text": "bad \xff byte"}\n[1, 2]\n{"body": "x"}\n\n'
    )
    blocks = tmp_path / "b.txt"
    blocks.write_text("Lehen blokea.\nBigarren lerroa.\n\n  \n\nBigarren blokea.\n")
    pq.write_table(
        pa.Table.from_pylist([{"id": "p1", "text": "Parquet testua", "url": None}]),
        tmp_path / "c.parquet",
    )
    fields = {"id": "id", "text": "text", "url": "url", "date": "date"}
    files = [
        SourceFile("s", 0, "jsonl", str(jsonl), 0, fields),
        SourceFile("s", 0, "text_blocks", str(blocks), 1, fields),
        SourceFile("t", 1, "parquet", str(tmp_path / "c.parquet"), 2, fields),
        SourceFile("t", 1, "text_file", str(tmp_path / "missing.txt"), 3, fields),
    ]
    reader = SourceReader(
        files, quarantine_writer=JsonlWriter(str(tmp_path / "q"), compression=None)
    )
    docs = list(reader.run(None, 0, 1))
    assert [d.text for d in docs] == [
        "Kaixo mundua",
        "Lehen blokea.\nBigarren lerroa.",
        "Bigarren blokea.",
        "Parquet testua",
    ]
    assert docs[0].metadata["key"] == [0, 0, 0] and docs[2].metadata["key"] == [0, 1, 1]
    reasons = [
        json.loads(line)["metadata"]["quarantine_reason"]
        for line in (tmp_path / "q" / "00000.jsonl").read_text().splitlines()
    ]
    assert reasons == [
        "input_malformed_json",
        "input_undecodable_bytes",
        "input_not_a_record",
        "input_missing_text",
        "input_unreadable_file",
    ]


@pytest.mark.parametrize(
    "n, expected", [(100, (1, 1)), (10_000, (100, 100)), (3, (1, 1)), (2, (0, 0))]
)
def test_split_sizes(n, expected):
    assert split_sizes(n, 0.01, 0.01) == expected


def test_half_written_side_files_of_a_killed_task_are_ignored(tmp_path):
    rng = random.Random(4)
    a = make_text(rng)
    docs = [mk("wiki-a", a, 0, 0), mk("web-a", a, 1, 0)]
    result, _ = run_dedup(tmp_path, [docs[:1], docs[1:]])
    index = tmp_path / "index"
    before = (index / "removals" / "00001.json").read_text()
    # what a task SIGKILLed inside np.save leaves behind: a truncated temporary file
    for folder in ("pairs", "para", "kind001"):
        (index / folder / "00007.tmp.npy").write_bytes(b"\x93NUMPY truncated")
    list(DedupBuckets(str(index), 34, 0.5, []).run(None, 1, 2))
    list(DedupClusters(str(index), ["wiki", "web", "hplt"]).run(None, 0, 1))
    assert (index / "removals" / "00001.json").read_text() == before
    assert result["web-a"] == (False, "dedup_exact")


def _plant(text, rng):
    words = text.split()
    for _ in range(max(1, round(len(words) * rng.uniform(0.05, 0.10)))):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.6:
            words[i] = rng.choice(words)
        elif op < 0.8 and len(words) > 2:
            del words[i]
        else:
            words.insert(i, rng.choice(words))
    return " ".join(words)


def test_schema_defaults_find_edited_copies_of_real_basque(tmp_path, shared_data):
    """A recipe without `dedup:` removes copies of real Basque documents with 5-10% of words edited."""
    from factory.corpus.recipe import DedupSpec

    spec = DedupSpec()
    texts = []
    for name in ("flores200-devtest", "ntrex128"):
        for line in (shared_data / name / "docs.jsonl").read_text().splitlines()[:60]:
            texts.append(json.loads(line)["eus"])
    texts = list(dict.fromkeys(texts))
    rng = random.Random(5)
    docs = [mk(f"o{i}", t, 0, i) for i, t in enumerate(texts)]
    copies = [mk(f"n{i}", _plant(t, rng), 1, i) for i, t in enumerate(texts[:50])]
    index = str(tmp_path / "index")
    hasher = minhasher_for(1234, spec.ngram, spec.bands, spec.rows)
    all_docs = docs + copies
    for rank, part in enumerate([all_docs[::2], all_docs[1::2]]):
        for d in part:
            d.metadata["shard"] = rank
        list(DedupSignatures(index, hasher).run(iter(part), rank, 2))
    for rank in range(2):
        list(DedupBuckets(index, 2 + spec.bands, spec.threshold, []).run(None, rank, 2))
    list(DedupClusters(index, ["wiki", "web", "hplt"]).run(None, 0, 1))
    f = DedupFilter(index)
    removed = {d.id for d in all_docs if f.filter(d) is not True}
    found = len(removed & {c.id for c in copies}) / len(copies)
    assert found >= 0.95, found  # 5-gram MinHash at 0.7 (the old default) found about 3%
    assert removed <= {c.id for c in copies}  # no original is lost


def test_schema_defaults_are_the_shipped_basque_settings():
    from pathlib import Path

    import yaml

    from factory.corpus.recipe import DedupSpec

    shipped = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "recipes" / "corpus_eu.yaml").read_text()
    )["dedup"]
    assert DedupSpec().model_dump(include=set(shipped)) == shipped
