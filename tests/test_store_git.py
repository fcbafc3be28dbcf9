"""The local git store: one commit per publish, no-op republish, immutable tags, atomic failure."""

from __future__ import annotations

import io
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.errors import RepoNotFound, RevisionNotFound, StoreError
from factory.store.base import MANIFEST_PATH
from factory.store.git import GitStore

CARD = b"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# test
"""


def parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def files(rows):
    return {"README.md": CARD, "data/train-00000-of-00001.parquet": parquet(rows)}


def commit_count(store: GitStore, repo: str) -> int:
    out = subprocess.run(
        ["git", "--git-dir", str(store.repo_path(repo)), "rev-list", "--all", "--count"],
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


def test_publish_tag_resolve_and_load(factory_home):
    store = GitStore()
    rows = [{"id": i, "text": f"testu {i}"} for i in range(5)]
    rev = store.publish("org/data", files(rows), message="first", tag="v1")
    assert rev.created and len(rev.sha) == 40 and rev.tag == "v1"
    assert (
        store.resolve("org/data", "v1")
        == rev.sha
        == store.resolve("org/data", "main")
        == store.resolve("org/data", rev.sha)
    )
    assert store.read_file("org/data", MANIFEST_PATH, "v1") is not None
    by_tag = store.load("org/data", "v1")["train"]
    by_sha = store.load("org/data", rev.sha)["train"]
    assert by_tag.to_list() == by_sha.to_list() == rows
    assert store.list_repos() == ["org/data"]
    assert {(r.name, r.kind) for r in store.list_refs("org/data")} == {
        ("main", "branch"),
        ("v1", "tag"),
    }


def test_identical_content_makes_no_commit(factory_home):
    store = GitStore()
    first = store.publish("org/data", files([{"a": 1}]), message="first")
    again = store.publish("org/data", files([{"a": 1}]), message="again", tag="v2")
    assert not again.created and again.sha == first.sha
    assert commit_count(store, "org/data") == 1
    assert store.resolve("org/data", "v2") == first.sha


def test_new_content_moves_branch_and_keeps_old_revision(factory_home):
    store = GitStore()
    old = store.publish("org/data", files([{"a": 1}]), message="first", tag="v1")
    new = store.publish("org/data", files([{"a": 2}]), message="second", tag="v2")
    assert new.sha != old.sha
    assert store.load("org/data", "v1")["train"].to_list() == [{"a": 1}]
    assert store.load("org/data", "main")["train"].to_list() == [{"a": 2}]


def test_removed_files_are_deleted_in_new_commit(factory_home):
    store = GitStore()
    store.publish("org/data", {**files([{"a": 1}]), "extra.txt": b"x"}, message="first")
    store.publish("org/data", files([{"a": 1}]), message="second")
    assert store.read_file("org/data", "extra.txt") is None


def test_tags_are_immutable(factory_home):
    store = GitStore()
    store.publish("org/data", files([{"a": 1}]), message="first", tag="v1")
    with pytest.raises(StoreError, match="tag 'v1' already names commit"):
        store.publish("org/data", files([{"a": 2}]), message="second", tag="v1")
    # the failed publish moved nothing
    assert store.load("org/data", "main")["train"].to_list() == [{"a": 1}]


def test_failed_publish_leaves_previous_revision(factory_home, tmp_path):
    store = GitStore()
    old = store.publish("org/data", files([{"a": 1}]), message="first")
    broken = {**files([{"a": 2}]), "data/missing.parquet": tmp_path / "does-not-exist.parquet"}
    with pytest.raises(OSError):
        store.publish("org/data", broken, message="broken")
    assert store.resolve("org/data") == old.sha


def test_other_branch_starts_from_main(factory_home):
    store = GitStore()
    main = store.publish("org/data", files([{"a": 1}]), message="first")
    dev = store.publish("org/data", files([{"a": 2}]), message="dev", branch="dev")
    parent = subprocess.run(
        ["git", "--git-dir", str(store.repo_path("org/data")), "rev-parse", f"{dev.sha}^"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert parent == main.sha
    assert store.resolve("org/data", "main") == main.sha


def test_unknown_repo_and_revision(factory_home):
    store = GitStore()
    with pytest.raises(RepoNotFound, match="dataset 'org/none' not found in the local store"):
        store.resolve("org/none")
    store.publish("org/data", files([{"a": 1}]), message="first")
    with pytest.raises(
        RevisionNotFound,
        match="dataset 'org/data' has no revision 'v9' \\(branches and tags: main\\)",
    ):
        store.resolve("org/data", "v9")
    with pytest.raises(ValueError, match="invalid revision"):
        store.resolve("org/data", "a..b")
