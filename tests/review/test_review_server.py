"""Push -> answer -> pull -> rebuild against a real argilla-server 2.8 on loopback.

The corpus flow: a tiny corpus is built and published, a seeded sample is pushed to Argilla,
two annotators answer (through the SDK), `review pull` publishes the review dataset with its
report and drop list, and the corpus rebuilt with `review_drops` loses exactly the rows the
majority discarded, counted under `review_discard`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from battle_logs import SALT
from review_helpers import answer, dataset, factory

from factory.builds.runner import build
from factory.hub import open_store
from factory.recipes import load_recipe

pytestmark = [pytest.mark.server, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "factory" / "corpus" / "sample" / "wikipedia.jsonl"


def corpus_recipe(folder: Path, drops: str | None = None) -> Path:
    path = folder / "mini.yaml"
    extra = f"review_drops: [{drops}]\n" if drops else ""
    path.write_text(
        "kind: corpus\nname: corpus-mini\nseed: 1\n"
        f"sources:\n  - name: wikipedia\n    reader: jsonl\n    path: {SAMPLE}\n"
        "dedup: {url: true, exact: true, near: false}\nlanguage_id: {method: cld2}\n"
        "splits: {validation: 0.0, test: 0.0}\nexecutor: {type: local, tasks: 1}\n"
        f"output:\n  repo_id: test/corpus-mini\n{extra}"
    )
    return path


def published_rows(result, excluded: bool = False) -> list[dict]:
    """The corpus rows, or with `excluded` the drops the corpus publishes as its `excluded` config."""
    return [
        row
        for name, source in result.files.items()
        if name.endswith(".parquet") and name.startswith("data/excluded/") == excluded
        for row in pq.read_table(source).to_pylist()
    ]


def published_ids(result) -> set[str]:
    return {r["id"] for r in published_rows(result)}


def test_corpus_push_answer_pull_rebuild_drops(argilla_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    first = build(load_recipe(corpus_recipe(tmp_path)), log=lambda _: None)
    ref = f"test/corpus-mini@{first.revision.sha}"
    kept = published_ids(first)

    code, out, err = factory(capsys, "review", "push", ref, "--sample", "6", "--seed", "3")
    assert code == 0, err
    assert "pushed 6 corpus records" in out
    name = "test--corpus-mini--corpus"
    records = list(dataset(argilla_env, name).records)
    assert len(records) == 6
    meta = records[0].metadata
    assert meta["source_repo"] == "test/corpus-mini" and meta["revision"] == first.revision.sha
    assert {r.metadata["row_id"] for r in records} <= kept
    # the same sample again: the same records, updated, not added
    code, _, err = factory(capsys, "review", "push", ref, "--sample", "6", "--seed", "3")
    assert code == 0, err
    assert len(list(dataset(argilla_env, name).records)) == 6

    by_row = {r.metadata["row_id"]: r.id for r in records}
    rows = sorted(by_row)
    discard, split_vote = rows[:2], rows[2]
    votes = {
        annotator: {
            by_row[row]: (
                {"keep": "discard", "reason": "boilerplate"}
                if row in discard or (row == split_vote and annotator == "annotator1")
                else {"keep": "keep"}
            )
            for row in rows
        }
        for annotator in ("annotator1", "annotator2")
    }
    answer(argilla_env, name, votes)

    out_dir = tmp_path / "review-out"
    code, out, err = factory(
        capsys, "review", "pull", name, "--output", "test/corpus-mini-review", "--out", str(out_dir)
    )
    assert code == 0, err
    assert "12 answers, 2 rows to drop" in out
    drops = [json.loads(line) for line in (out_dir / "drops.jsonl").read_text().splitlines()]
    assert sorted(d["row_id"] for d in drops) == discard  # 1 of 2 on the split vote: kept
    assert {d["reason"] for d in drops} == {"review_discard"}
    report = json.loads((out_dir / "report.json").read_text())
    assert report["annotators"] == 2 and report["questions"]["keep"]["counts"] == {
        "discard": 5,
        "keep": 7,
    }
    assert report["questions"]["keep"]["pairwise_agreement"] == round(5 / 6, 4)

    review_sha = open_store("local").resolve("test/corpus-mini-review")
    review = open_store("local").load("test/corpus-mini-review", review_sha)["train"].to_list()
    assert len(review) == 12 and all(r["annotator"].startswith("ann_") for r in review)
    published = json.dumps(review) + (out_dir / "report.json").read_text()
    assert "annotator1" not in published and "annotator2" not in published  # names never leave

    again = build(
        load_recipe(corpus_recipe(tmp_path, f"test/corpus-mini-review@{review_sha}")),
        publish=False,
        log=lambda _: None,
    )
    assert published_ids(again) == kept - set(discard)
    drops = {r["id"]: r["reason"] for r in published_rows(again, excluded=True)}
    assert all(drops.get(row_id, "").endswith("review_discard") for row_id in discard), drops
    card = again.files["README.md"]
    card = card.decode() if isinstance(card, bytes) else Path(card).read_text()
    assert "review_discard" in card


def test_bad_input_is_one_line_exit_2(argilla_env, tmp_path, capsys, monkeypatch):
    store = open_store("local")
    rev = store.publish(
        "test/docs",
        {"data/train-00000-of-00001.jsonl": b'{"id": "d1", "text": "Kaixo mundua."}\n'},
        message="docs",
    )
    ref = f"test/docs@{rev.sha}"
    cases = [
        (["--api-url", "http://127.0.0.1:9"], "unreachable"),
        (["--api-key", "not-the-key-at-all"], "refused the API key"),
    ]
    for extra, expected in cases:
        code, _, err = factory(capsys, "review", "push", ref, "--sample", "1", *extra)
        assert code == 2 and expected in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    code, _, err = factory(capsys, "review", "push", "test/docs@no-such-revision", "--sample", "1")
    assert code == 2 and "no-such-revision" in err and len(err.strip().splitlines()) == 1

    # an existing dataset with another schema is refused before any record is sent
    code, _, err = factory(capsys, "review", "push", ref, "--sample", "1", "--name", "taken")
    assert code == 0, err
    code, _, err = factory(
        capsys, "review", "push", ref, "--sample", "1", "--name", "taken", "--kind", "translations"
    )
    assert code == 2 and "another schema" in err
    assert len(list(dataset(argilla_env, "taken").records)) == 1
