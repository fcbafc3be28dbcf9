"""The loopback Hub answers the real huggingface_hub and datasets clients as the Hub does."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

pytestmark = pytest.mark.server

PARQUET_LIKE = b"PAR1" + bytes(range(256)) * 4  # binary and *.parquet: goes through LFS


def _new_repo(hub):
    repo_id = hub.repo_id()
    hub.api().create_repo(repo_id, repo_type="dataset")
    return repo_id


def _commit(hub, repo_id, operations, **kwargs):
    return hub.api().create_commit(
        repo_id, operations, commit_message="test", repo_type="dataset", **kwargs
    )


def test_create_repo_answers_url_and_conflict(hub):
    api = hub.api()
    repo_id = hub.repo_id()
    url = api.create_repo(repo_id, repo_type="dataset")
    assert url.repo_id == repo_id and url.endpoint == hub.endpoint
    assert api.create_repo(repo_id, repo_type="dataset", exist_ok=True).repo_id == repo_id
    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo(repo_id, repo_type="dataset")
    assert error.value.response.status_code == 409
    assert error.value.response.json()["url"].endswith(f"/datasets/{repo_id}")
    info = api.dataset_info(repo_id)
    assert info.id == repo_id and len(info.sha) == 40 and info.last_modified is not None
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]


def test_commit_regular_lfs_and_delete(hub):
    api = hub.api()
    repo_id = _new_repo(hub)
    first = _commit(
        hub,
        repo_id,
        [
            CommitOperationAdd("README.md", b"---\nlicense: apache-2.0\n---\n# card\n"),
            CommitOperationAdd("data/train-00000-of-00001.parquet", PARQUET_LIKE),
            CommitOperationAdd("notes.txt", b"remove me"),
        ],
    )
    files = {
        f.path: f
        for f in api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)
        if hasattr(f, "size")
    }
    shard = files["data/train-00000-of-00001.parquet"]
    assert shard.lfs is not None and shard.lfs.sha256 == hashlib.sha256(PARQUET_LIKE).hexdigest()
    assert shard.size == len(PARQUET_LIKE)
    assert files["README.md"].lfs is None
    assert ("PUT", "lfs-upload") in {(m, r) for m, r, _ in hub.server.requests}

    second = _commit(hub, repo_id, [CommitOperationDelete("notes.txt")], parent_commit=first.oid)
    assert second.oid != first.oid
    paths = {f.path for f in api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)}
    assert "notes.txt" not in paths and "README.md" in paths
    assert api.dataset_info(repo_id).card_data["license"] == "apache-2.0"
    with pytest.raises(EntryNotFoundError):
        _commit(hub, repo_id, [CommitOperationDelete("notes.txt")])


def test_parent_commit_conflict_keeps_branch(hub):
    api = hub.api()
    repo_id = _new_repo(hub)
    stale = api.dataset_info(repo_id).sha
    moved = _commit(hub, repo_id, [CommitOperationAdd("a.txt", b"a")], parent_commit=stale).oid
    with pytest.raises(HfHubHTTPError) as error:
        _commit(hub, repo_id, [CommitOperationAdd("b.txt", b"b")], parent_commit=stale)
    assert error.value.response.status_code == 412
    assert api.dataset_info(repo_id).sha == moved


def test_tags_branches_and_refs(hub):
    api = hub.api()
    repo_id = _new_repo(hub)
    v1 = _commit(hub, repo_id, [CommitOperationAdd("a.txt", b"one")]).oid
    api.create_tag(repo_id, tag="v1", repo_type="dataset")
    api.create_branch(repo_id, branch="feature/x", repo_type="dataset")  # quoted as feature%2Fx
    with pytest.raises(HfHubHTTPError) as error:
        api.create_branch(repo_id, branch="feature/x", repo_type="dataset")
    assert error.value.response.status_code == 409
    api.create_branch(repo_id, branch="feature/x", repo_type="dataset", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as error:
        api.create_tag(repo_id, tag="v1", repo_type="dataset")
    assert error.value.response.status_code == 409
    v2 = _commit(hub, repo_id, [CommitOperationAdd("a.txt", b"two")], revision="feature/x").oid

    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    assert {b.name: b.target_commit for b in refs.branches} == {"main": v1, "feature/x": v2}
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [("v1", "refs/tags/v1", v1)]
    assert api.dataset_info(repo_id, revision="feature/x").sha == v2


def test_downloads_by_tag_sha_and_branch(hub):
    api = hub.api()
    repo_id = _new_repo(hub)
    v1 = _commit(
        hub,
        repo_id,
        [CommitOperationAdd("a.txt", b"one"), CommitOperationAdd("x.parquet", PARQUET_LIKE)],
    ).oid
    api.create_tag(repo_id, tag="v1", repo_type="dataset")
    v2 = _commit(hub, repo_id, [CommitOperationAdd("a.txt", b"two")]).oid

    by_tag = Path(
        snapshot_download(repo_id, repo_type="dataset", revision="v1", cache_dir=hub.cache / "s")
    )
    by_sha = Path(
        snapshot_download(repo_id, repo_type="dataset", revision=v1, cache_dir=hub.cache / "s")
    )
    by_branch = Path(
        snapshot_download(repo_id, repo_type="dataset", revision="main", cache_dir=hub.cache / "s")
    )
    assert (by_tag / "a.txt").read_bytes() == (by_sha / "a.txt").read_bytes() == b"one"
    assert (by_tag / "x.parquet").read_bytes() == PARQUET_LIKE
    assert (by_branch / "a.txt").read_bytes() == b"two"
    assert by_branch.name == v2

    path = hf_hub_download(
        repo_id, "a.txt", repo_type="dataset", revision=v1, cache_dir=hub.cache / "d"
    )
    assert open(path, "rb").read() == b"one"
    meta = get_hf_file_metadata(
        hf_hub_url(repo_id, "x.parquet", repo_type="dataset", revision="v1")
    )
    assert meta.commit_hash == v1 and meta.size == len(PARQUET_LIKE)
    assert meta.etag == hashlib.sha256(PARQUET_LIKE).hexdigest()


def test_errors_carry_the_hub_error_codes(hub):
    api = hub.api()
    repo_id = _new_repo(hub)
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info(f"{hub.org}/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(repo_id, revision="nope")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "missing.txt", repo_type="dataset", cache_dir=hub.cache / "e")
    with pytest.raises(HfHubHTTPError) as error:
        hub.api(token="hf_not_a_valid_token").create_commit(
            repo_id, [CommitOperationAdd("a.txt", b"a")], commit_message="m", repo_type="dataset"
        )
    assert error.value.response.status_code == 401
    before = api.dataset_info(repo_id).sha
    hub.server.fail_next("commit", 500)
    with pytest.raises(HfHubHTTPError):
        _commit(hub, repo_id, [CommitOperationAdd("a.txt", b"a")])
    assert api.dataset_info(repo_id).sha == before


def test_datasets_push_and_load_by_tag_and_sha(hub):
    import datasets

    repo_id = hub.repo_id("pushed")
    rows = {"text": ["kaixo", "mundua", "agur"], "n": [1, 2, 3]}
    datasets.Dataset.from_dict(rows).push_to_hub(repo_id, token=hub.token)
    api = hub.api()
    sha = api.dataset_info(repo_id).sha
    api.create_tag(repo_id, tag="v1", repo_type="dataset")
    by_tag = datasets.load_dataset(repo_id, revision="v1", cache_dir=str(hub.cache / "ds"))
    by_sha = datasets.load_dataset(repo_id, revision=sha, cache_dir=str(hub.cache / "ds"))
    assert by_tag["train"].to_dict() == by_sha["train"].to_dict() == rows
    unknown = {r for _, r, _ in hub.server.requests} - {"unknown"}
    assert {"preupload", "lfs-batch", "commit", "tree", "resolve"} <= unknown


def test_file_system_ranges_and_private_repos(hub):
    from huggingface_hub import HfApi, HfFileSystem

    api = hub.api()
    repo_id = hub.repo_id()
    api.create_repo(repo_id, repo_type="dataset", private=True)
    _commit(hub, repo_id, [CommitOperationAdd("data/x.parquet", PARQUET_LIKE)])
    fs = HfFileSystem(endpoint=hub.endpoint, token=hub.token)
    assert fs.ls(f"datasets/{repo_id}/data", detail=False) == [f"datasets/{repo_id}/data/x.parquet"]
    with fs.open(f"datasets/{repo_id}/data/x.parquet", "rb", block_size=16) as handle:
        handle.seek(10)
        assert handle.read(20) == PARQUET_LIKE[10:30]  # served with Range requests
    assert any(r == "resolve" for _, r, _ in hub.server.requests)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.endpoint, token=False).dataset_info(repo_id)
    assert api.dataset_info(repo_id).private is True
