"""HubStore against the loopback Hub: one commit per publish, immutable tags, clean errors."""

from __future__ import annotations

import json

import pytest

from factory.errors import CredentialsError, RepoNotFound, RevisionNotFound, StoreError
from factory.store.base import MANIFEST_PATH
from factory.store.hub import HubStore

pytestmark = pytest.mark.server

ROWS = {"text": ["kaixo mundua", "egun on", "gabon"], "id": [1, 2, 3]}


@pytest.fixture
def store(hub):
    return HubStore(cache_dir=hub.cache / "store")


@pytest.fixture
def dataset_files(tmp_path):
    """A published layout: a parquet shard, a card, the recipe."""
    import datasets

    shard = tmp_path / "train.parquet"
    datasets.Dataset.from_dict(ROWS).to_parquet(str(shard))
    return {
        "data/train-00000-of-00001.parquet": shard,
        "README.md": b"---\nlicense: apache-2.0\nlanguage:\n- eu\n---\n# test dataset\n",
        "recipe.yaml": b"kind: echo\nseed: 1\n",
    }


def _tree(hub, repo_id, revision):
    entries = hub.api().list_repo_tree(
        repo_id, revision=revision, repo_type="dataset", recursive=True
    )
    return sorted(e.path for e in entries if hasattr(e, "blob_id"))


def test_publish_commits_once_and_tags(hub, store, dataset_files):
    repo_id = hub.repo_id()
    revision = store.publish(repo_id, dataset_files, message="build 1", tag="v1")
    assert revision.created and revision.tag == "v1" and len(revision.sha) == 40
    assert store.resolve(repo_id, "v1") == store.resolve(repo_id) == revision.sha
    assert _tree(hub, repo_id, revision.sha) == sorted(
        [*dataset_files, MANIFEST_PATH, ".gitattributes"]
    )
    assert [(r.name, r.kind) for r in store.list_refs(repo_id)] == [
        ("main", "branch"),
        ("v1", "tag"),
    ]
    manifest = json.loads(store.read_file(repo_id, MANIFEST_PATH, "v1"))
    assert set(manifest["files"]) == set(dataset_files)
    assert store.read_file(repo_id, "absent.txt", "v1") is None
    assert repo_id in store.list_repos()
    commits = [
        path for _, route, path in hub.server.requests if route == "commit" and repo_id in path
    ]
    assert len(commits) == 1


def test_identical_republish_makes_no_commit(hub, store, dataset_files):
    repo_id = hub.repo_id()
    first = store.publish(repo_id, dataset_files, message="build 1", tag="v1")
    again = store.publish(repo_id, dataset_files, message="build 1 again", tag="v1")
    assert (again.sha, again.created) == (first.sha, False)
    other_tag = store.publish(repo_id, dataset_files, message="same content", tag="v1-bis")
    assert (other_tag.sha, other_tag.created) == (first.sha, False)
    assert store.resolve(repo_id, "v1-bis") == first.sha


def test_changed_publish_deletes_stale_files_and_keeps_old_tag(hub, store, dataset_files):
    repo_id = hub.repo_id()
    first = store.publish(repo_id, dataset_files, message="build 1", tag="v1")
    smaller = {k: v for k, v in dataset_files.items() if k != "recipe.yaml"}
    second = store.publish(repo_id, smaller, message="build 2", tag="v2")
    assert second.created and second.sha != first.sha
    assert "recipe.yaml" not in _tree(hub, repo_id, "v2")
    assert "recipe.yaml" in _tree(hub, repo_id, "v1")
    with pytest.raises(StoreError, match="tags are immutable"):
        store.publish(repo_id, dataset_files, message="build 3", tag="v1")
    assert store.resolve(repo_id) == second.sha  # the refused publish wrote nothing


def test_failed_commit_leaves_previous_revision(hub, store, dataset_files):
    repo_id = hub.repo_id()
    first = store.publish(repo_id, dataset_files, message="build 1", tag="v1")
    changed = {**dataset_files, "recipe.yaml": b"kind: echo\nseed: 2\n"}
    hub.server.fail_next("commit", 500)
    with pytest.raises(StoreError, match=r"HTTP 500") as error:
        store.publish(repo_id, changed, message="build 2", tag="v2")
    assert "\n" not in str(error.value)
    assert store.resolve(repo_id) == first.sha
    assert [r.name for r in store.list_refs(repo_id) if r.kind == "tag"] == ["v1"]
    assert store.read_file(repo_id, "recipe.yaml") == b"kind: echo\nseed: 1\n"


def test_publish_to_new_branch_starts_from_main(hub, store, dataset_files):
    repo_id = hub.repo_id()
    main = store.publish(repo_id, dataset_files, message="build 1")
    dev = store.publish(
        repo_id, {**dataset_files, "extra.txt": b"x"}, message="dev build", branch="dev"
    )
    assert dev.created and dev.branch == "dev"
    assert store.resolve(repo_id, "main") == main.sha
    assert store.resolve(repo_id, "dev") == dev.sha
    assert "extra.txt" in _tree(hub, repo_id, "dev") and "extra.txt" not in _tree(
        hub, repo_id, "main"
    )


def test_losing_a_race_publishes_nothing(hub, store, dataset_files, monkeypatch):
    from huggingface_hub import CommitOperationAdd

    repo_id = hub.repo_id()
    store.publish(repo_id, dataset_files, message="build 1", tag="v1")
    commit = store._commit

    def another_writer_first(*args, **kwargs):
        hub.api().create_commit(
            repo_id,
            [CommitOperationAdd("other.txt", b"x")],
            commit_message="other",
            repo_type="dataset",
        )
        return commit(*args, **kwargs)

    monkeypatch.setattr(store, "_commit", another_writer_first)
    with pytest.raises(StoreError, match="branch moved"):
        store.publish(
            repo_id, {**dataset_files, "recipe.yaml": b"seed: 2\n"}, message="build 2", tag="v2"
        )
    other_head = hub.api().dataset_info(repo_id).sha
    assert store.resolve(repo_id) == other_head
    assert store.read_file(repo_id, "recipe.yaml") == b"kind: echo\nseed: 1\n"
    assert [r.name for r in store.list_refs(repo_id) if r.kind == "tag"] == ["v1"]


def test_load_by_tag_and_by_sha_gives_identical_rows(hub, store, dataset_files, monkeypatch):
    repo_id = hub.repo_id()
    revision = store.publish(repo_id, dataset_files, message="build 1", tag="v1")
    by_tag = store.load(repo_id, "v1")
    by_sha = store.load(repo_id, revision.sha)
    assert by_tag["train"].to_dict() == by_sha["train"].to_dict() == ROWS
    monkeypatch.setattr(
        "datasets.config.HF_ENDPOINT", "http://127.0.0.1:9"
    )  # datasets points elsewhere
    assert store.load(repo_id, "v1")["train"].to_dict() == ROWS  # read from a snapshot instead
    snapshot = store.snapshot(repo_id, "v1")
    assert snapshot.name == revision.sha and (snapshot / "README.md").is_file()


def test_errors_are_one_line_and_name_repo_and_revision(hub, store, dataset_files):
    repo_id = hub.repo_id()
    with pytest.raises(RepoNotFound, match=repo_id) as error:
        store.resolve(repo_id)
    assert "\n" not in str(error.value)
    assert not store.exists(repo_id)
    store.publish(repo_id, dataset_files, message="build 1")
    assert store.exists(repo_id)
    with pytest.raises(RevisionNotFound, match=f"{repo_id}.*'nope'") as error:
        store.resolve(repo_id, "nope")
    assert "\n" not in str(error.value)


def test_writes_need_a_valid_token(hub, monkeypatch, dataset_files):
    monkeypatch.delenv("HF_TOKEN")
    before = len(hub.server.requests)
    with pytest.raises(CredentialsError, match="needs a token: set HF_TOKEN"):
        HubStore().publish(hub.repo_id(), dataset_files, message="m")
    with pytest.raises(CredentialsError, match="needs a token"):
        HubStore().check_writable(hub.repo_id())
    assert len(hub.server.requests) == before  # refused before any request
    assert HubStore().list_repos() == []

    bad = "hf_wrong_secret_value"
    store = HubStore(token=bad)
    with pytest.raises(CredentialsError, match="401") as error:
        store.publish(hub.repo_id(), dataset_files, message="m")
    assert bad not in str(error.value) and bad not in repr(store)


@pytest.mark.slow
def test_factory_build_publishes_to_the_hub(hub, tmp_path, factory_home):
    """The CLI in a subprocess: HF_ENDPOINT is read at import there, as in real use."""
    import subprocess
    import sys

    from support.helpers import cli_env, write_echo_inputs, write_echo_recipe

    repo_id = hub.repo_id("echo")
    write_echo_inputs(tmp_path / "in")
    recipe = write_echo_recipe(tmp_path / "r.yaml", "in", repo_id=repo_id)
    done = subprocess.run(
        [sys.executable, "-m", "factory.cli", "build", str(recipe), "--set", "output.backend=hub"],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(FACTORY_HOME=str(factory_home)),
    )
    assert done.returncode == 0, done.stderr
    store = HubStore()
    sha = store.resolve(repo_id)
    assert store.read_file(repo_id, MANIFEST_PATH, sha) is not None
    assert store.load(repo_id, sha)["train"].num_rows > 0
