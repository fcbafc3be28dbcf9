"""Inputs resolve to pinned files: another recipe's output is read from the store that recipe publishes to."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.builds.inputs import resolve_inputs
from factory.errors import InputError
from factory.recipes import load_recipe
from factory.store.git import GitStore
from factory.store.hub import HubStore


def published(text: str) -> dict[str, bytes]:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"id": "a", "text": text}]), buffer)
    return {"data/train-00000-of-00001.parquet": buffer.getvalue()}


def recipes(folder, repo_id: str, backend: str):
    upstream = folder / "up.yaml"
    upstream.write_text(
        f"kind: echo\nname: up\noutput:\n  repo_id: {repo_id}\n  tag: v1\n  backend: {backend}\n"
    )
    downstream = folder / "down.yaml"
    downstream.write_text(
        "kind: echo\nname: down\ninputs:\n  - recipe: up.yaml\noutput:\n  repo_id: test/down\n"
    )
    return load_recipe(downstream)


@pytest.mark.server
def test_recipe_input_is_read_from_its_own_backend(hub, tmp_path):
    repo_id = hub.repo_id("up")
    on_hub = HubStore(cache_dir=hub.cache / "store").publish(
        repo_id, published("hub rows"), message="m", tag="v1"
    )
    in_local = GitStore().publish(repo_id, published("stale local rows"), message="m", tag="v1")
    assert on_hub.sha != in_local.sha

    [resolved] = resolve_inputs(recipes(tmp_path, repo_id, "hub"))
    assert (resolved.source, resolved.sha) == ("recipe", on_hub.sha)
    assert pq.read_table(resolved.files[0]).to_pylist() == [{"id": "a", "text": "hub rows"}]

    [resolved] = resolve_inputs(recipes(tmp_path, repo_id, "local"))
    assert resolved.sha == in_local.sha


def test_unpublished_recipe_input_says_build_it_first(tmp_path):
    with pytest.raises(
        InputError,
        match=r"inputs.0.recipe: up.yaml has not been published yet \(test/up@v1\); build it first",
    ):
        resolve_inputs(recipes(tmp_path, "test/up", "local"))
