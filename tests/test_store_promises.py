"""Promises of factory/store/base.py and git.py stated as properties.

* the manifest lists the sha256 of every published file but itself, whatever the order or the
  kind of source (path or bytes): equal manifests <=> equal content;
* a publish checks every name (repo id, branch, tag, paths) before it touches anything;
* the same files give the same git tree, wherever and whenever they are published;
* tags are immutable but a republish of the same content under the same tag is a no-op;
* read_file gives None for an absent file; a snapshot is the commit's files, made once.
"""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from factory.errors import RepoNotFound, StoreError
from factory.store.base import (
    MANIFEST_PATH,
    Revision,
    build_manifest,
    file_sha256,
    tag_taken,
    validate_path_in_repo,
    with_manifest,
)
from factory.store.git import GitStore

FILES = {"README.md": b"# card\n", "data/train-00000-of-00001.parquet": b"rows"}


def test_manifest_is_the_sha256_of_every_file_but_itself(tmp_path):
    on_disk = tmp_path / "rows.bin"
    on_disk.write_bytes(b"rows")
    manifest = build_manifest(
        {
            "data/train-00000-of-00001.parquet": on_disk,
            "README.md": b"# card\n",
            MANIFEST_PATH: b"old",
        }
    )
    assert manifest.endswith(b"\n")
    assert json.loads(manifest) == {
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in FILES.items()}
    }
    # order and source kind do not matter: equal content, equal bytes
    assert manifest == build_manifest(dict(reversed(list(FILES.items()))))
    assert build_manifest(FILES | {"README.md": b"# other\n"}) != manifest
    assert with_manifest(FILES) == FILES | {MANIFEST_PATH: manifest}


def test_manifest_bytes_are_fixed(tmp_path):
    """A later factory must write the same manifest for the same files, or its republish of
    unchanged content would make a new commit instead of a no-op."""
    card, rows = (hashlib.sha256(FILES[p]).hexdigest() for p in sorted(FILES))
    assert build_manifest(FILES).decode() == (
        '{\n "files": {\n'
        f'  "README.md": "{card}",\n'
        f'  "data/train-00000-of-00001.parquet": "{rows}"\n'
        " }\n}\n"
    )


def test_file_sha256_streams_large_files(tmp_path):
    data = bytes(range(256)) * 9000  # > 1 MiB, several blocks
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest() == file_sha256(data)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "data//x",
        "./x",
        "data/./x",
        "../x",
        "data/../x",
        ".git/config",
        "a/.git/x",
        "data/",
    ],
)
def test_bad_paths_in_repo_are_refused(path):
    with pytest.raises(ValueError, match="invalid path in repository"):
        validate_path_in_repo(path)


@pytest.mark.parametrize(
    "path",
    ["README.md", "data/dpo/train-00000-of-00001.parquet", "a.git", ".factory/manifest.json"],
)
def test_good_paths_in_repo_pass(path):
    assert validate_path_in_repo(path) == path


@pytest.mark.parametrize(
    "repo, files, branch, tag",
    [
        ("not-a-repo-id", FILES, "main", None),
        ("org/name", FILES, "bad branch", None),
        ("org/name", FILES, "main", "v1..2"),
        ("org/name", {"../escape": b"x"}, "main", None),
    ],
)
def test_bad_names_are_refused_before_anything_is_written(factory_home, repo, files, branch, tag):
    store = GitStore()
    with pytest.raises(ValueError):
        store.publish(repo, files, message="m", branch=branch, tag=tag)
    assert not store.root.exists() or store.list_repos() == []


def test_revision_ref_prefers_the_tag():
    assert Revision("org/a", "f" * 40, "main").ref() == f"org/a@{'f' * 40}"
    assert Revision("org/a", "f" * 40, "main", tag="v1").ref() == "org/a@v1"
    message = str(tag_taken("org/a", "v1", "0123456789abcdef" * 2 + "01234567"))
    assert "'v1'" in message and "commit 0123456789ab;" in message and "org/a" in message


def _tree(store: GitStore, repo: str, sha: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(store.repo_path(repo)), "rev-parse", f"{sha}^{{tree}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_same_files_same_tree_whatever_the_source_kind(factory_home, tmp_path):
    store = GitStore()
    on_disk = tmp_path / "rows.bin"
    on_disk.write_bytes(b"rows")
    one = store.publish("org/one", FILES, message="first")
    two = store.publish(
        "org/two",
        {"README.md": b"# card\n", "data/train-00000-of-00001.parquet": on_disk},
        message="other message",
    )
    assert _tree(store, "org/one", one.sha) == _tree(store, "org/two", two.sha)
    assert store.read_file("org/two", "data/train-00000-of-00001.parquet") == b"rows"
    assert store.read_file("org/two", MANIFEST_PATH) == build_manifest(FILES)


def test_republish_under_the_same_tag_is_a_no_op(factory_home):
    store = GitStore()
    first = store.publish("org/a", FILES, message="m", tag="v1")
    again = store.publish("org/a", FILES, message="m", tag="v1")
    assert (again.sha, again.created, again.tag) == (first.sha, False, "v1")
    assert [(r.name, r.kind, r.sha) for r in store.list_refs("org/a")] == [
        ("main", "branch", first.sha),
        ("v1", "tag", first.sha),
    ]
    with pytest.raises(StoreError, match="tags are immutable"):
        store.publish("org/a", FILES | {"README.md": b"new"}, message="m", tag="v1")
    assert store.resolve("org/a") == first.sha  # the refused publish moved nothing


def test_new_branch_gets_its_ref_even_without_new_content(factory_home):
    store = GitStore()
    main = store.publish("org/a", FILES, message="m")
    dev = store.publish("org/a", FILES, message="m", branch="dev")
    assert (dev.sha, dev.created) == (main.sha, False)
    assert store.resolve("org/a", "dev") == main.sha
    moved = store.publish("org/a", FILES | {"extra.txt": b"x"}, message="m", branch="dev")
    assert moved.created and store.resolve("org/a", "dev") == moved.sha
    assert store.resolve("org/a", "main") == main.sha


def test_read_file_and_snapshot(factory_home):
    store = GitStore()
    first = store.publish("org/a", FILES, message="m")
    store.publish("org/a", {"README.md": b"# v2\n"}, message="m2")
    assert store.read_file("org/a", "missing.txt") is None
    assert store.read_file("org/a", "README.md", first.sha) == b"# card\n"
    folder = store.snapshot("org/a", first.sha)
    assert folder.name == first.sha
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(
        [*FILES, MANIFEST_PATH]
    )
    assert (folder / "data" / "train-00000-of-00001.parquet").read_bytes() == b"rows"
    assert store.snapshot("org/a", first.sha) == folder  # made once, reused
    latest = store.snapshot("org/a")
    assert sorted(p.name for p in latest.rglob("*") if p.is_file()) == [
        "README.md",
        "manifest.json",
    ]
    assert not list(folder.parent.glob(".tmp-*"))  # no staging folder left behind


def test_list_repos_and_unknown_repo_message(factory_home):
    store = GitStore()
    assert store.list_repos() == []
    store.publish("org/b", FILES, message="m")
    store.publish("org/a", FILES, message="m")
    (store.root / "org" / "junk.git").mkdir()  # not a repository: no HEAD
    assert store.list_repos() == ["org/a", "org/b"]
    assert store.exists("org/a") and not store.exists("org/junk")
    with pytest.raises(RepoNotFound, match=r"'org/c' not found.*datasets: org/a, org/b"):
        store.resolve("org/c")


def test_store_lives_under_factory_home_and_names_keep_their_slashes(factory_home):
    store = GitStore()
    assert store.root == factory_home / "store"
    first = store.publish("org/a", FILES, message="m", branch="feature/x", tag="release/v1")
    assert sorted((r.name, r.kind) for r in store.list_refs("org/a")) == [
        ("feature/x", "branch"),
        ("release/v1", "tag"),
    ]
    assert store.resolve("org/a", "release/v1") == first.sha
    with pytest.raises(StoreError, match=r"org/a: tag 'release/v1' already names commit"):
        store.publish("org/a", {"other.txt": b"x"}, message="m", tag="release/v1")


def test_unknown_revision_lists_the_refs(factory_home):
    from factory.errors import RevisionNotFound

    store = GitStore()
    store.publish("org/a", FILES, message="m", tag="v1")
    with pytest.raises(RevisionNotFound, match=r"no revision 'v2' \(branches and tags: main, v1\)"):
        store.resolve("org/a", "v2")


def test_check_writable_makes_the_folder_or_says_why_not_in_one_line(factory_home, tmp_path):
    store = GitStore()
    store.check_writable("org/a")
    assert list((store.root / "org").iterdir()) == []  # the folder is there, the probe gone
    store.check_writable("org/b")  # the same folder again: still writable
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the store's folder should be")
    with pytest.raises(StoreError) as error:
        GitStore(blocked).check_writable("org/a")
    assert str(error.value) == (
        f"local store: cannot write under {blocked / 'org'} (Not a directory); "
        "set FACTORY_HOME to a folder you can write"
    )
