"""The `hub` reader: a source that is a published dataset pinned at a revision (local git store, loopback Hub)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.builds.runner import build
from factory.corpus.normalize import Normalizer
from factory.recipes import load_recipe

SAMPLE = Path(__file__).resolve().parents[2] / "factory" / "corpus" / "sample"


def _docs(name: str, n: int) -> list[dict]:
    rows = []
    for line in (SAMPLE / name).read_bytes().splitlines():  # the sample holds planted bad lines
        try:
            rows.append(json.loads(line.decode()))
        except ValueError:
            continue
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("text"), str)][:n]


def _published_files(tmp_path: Path) -> tuple[dict[str, Path | bytes], list[dict]]:
    """A small Hub-layout dataset: train as Parquet (renamed fields), validation as JSON lines."""
    train = [
        {"doc_id": f"hub-{i}", "body": r["text"], "link": f"https://hub.example/{i}"}
        for i, r in enumerate(_docs("euscrawl.jsonl", 12))
    ]
    shard = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(train), shard)
    validation = [
        {"doc_id": f"hub-v{i}", "body": r["text"], "link": None}
        for i, r in enumerate(_docs("hplt.jsonl", 3))
    ]
    files = {
        "data/train-00000-of-00001.parquet": shard,
        "data/validation-00000-of-00001.jsonl": "".join(
            json.dumps(r) + "\n" for r in validation
        ).encode(),
        "README.md": b"---\nlicense: cc-by-sa-4.0\n---\n# upstream\n",
    }
    return files, train + validation


def _recipe(tmp_path: Path, dataset: str, split: str | None = None) -> Path:
    wiki = tmp_path / "wiki.jsonl"
    wiki.write_text("".join(json.dumps(r) + "\n" for r in _docs("wikipedia.jsonl", 10)))
    recipe = tmp_path / "corpus.yaml"
    recipe.write_text(
        "kind: corpus\nname: corpus-hub\nseed: 3\n"
        "sources:\n"
        "  - {name: wiki, reader: jsonl, path: wiki.jsonl}\n"
        f"  - name: upstream\n    reader: hub\n    dataset: {dataset}\n"
        + (f"    split: {split}\n" if split else "")
        + "    fields: {id: doc_id, text: body, url: link, date: null}\n"
        "executor: {tasks: 2}\noutput: {repo_id: test/corpus-hub}\n"
    )
    return recipe


def _rows(result) -> list[dict]:
    """The published corpus rows (the default config; `data/excluded/` holds the drops)."""
    return [
        row
        for name, path in sorted(result.dataset.files.items())
        if name.endswith(".parquet") and not name.startswith("data/excluded/")
        for row in pq.read_table(path).to_pylist()
    ]


def test_hub_source_from_the_local_store_is_pinned_and_read(tmp_path):
    from factory.store.git import GitStore

    files, upstream = _published_files(tmp_path)
    first = GitStore().publish("up/stream", files, message="v1")
    # a later commit on main must not change what a recipe pinned at the first sha reads
    GitStore().publish(
        "up/stream", {**files, "data/train-00000-of-00001.parquet": b"not parquet"}, message="v2"
    )

    result = build(
        load_recipe(_recipe(tmp_path, f"up/stream@{first.sha}")),
        publish=False,
        log=lambda m: None,
        workdir=tmp_path / "w",
    )
    rows = _rows(result)
    from_hub = {r["id"]: r for r in rows if r["source"] == "upstream"}
    assert set(from_hub) == {
        r["doc_id"] for r in upstream
    }  # Parquet and JSON lines shards, all kept
    assert from_hub["hub-0"]["url"] == "https://hub.example/0" and from_hub["hub-0"][
        "text"
    ] == Normalizer().normalize(upstream[0]["body"])
    card = result.files["README.md"].decode()
    assert first.sha in card  # the lineage names the pinned revision

    # the moved branch, read as a source: the broken shard is quarantined, the build goes on
    moved = build(
        load_recipe(_recipe(tmp_path, "up/stream@main")),
        publish=False,
        log=lambda m: None,
        workdir=tmp_path / "w2",
    )
    assert {r["id"] for r in _rows(moved) if r["source"] == "upstream"} == {
        r["doc_id"] for r in upstream[12:]
    }
    assert "`input_unreadable_file`: 1" in moved.files["README.md"].decode()


@pytest.mark.server
def test_hub_source_from_the_loopback_hub(hub, tmp_path):
    from factory.store.hub import HubStore

    files, upstream = _published_files(tmp_path)
    repo_id = hub.repo_id("corpus-src")
    revision = HubStore().publish(repo_id, files, message="upstream", tag="v1")

    result = build(
        load_recipe(_recipe(tmp_path, f"{repo_id}@v1", split="train")),
        publish=False,
        log=lambda m: None,
        workdir=tmp_path / "w",
    )
    ids = {r["id"] for r in _rows(result) if r["source"] == "upstream"}
    assert ids == {r["doc_id"] for r in upstream[:12]}  # `split: train` reads the train shard only
    lineage = next(
        line for line in result.files["README.md"].decode().splitlines() if repo_id in line
    )
    assert revision.sha in lineage
