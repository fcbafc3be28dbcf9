"""The local git store: one commit per publish, no-op republish, immutable tags, atomic failure.

Failures and races use real git: a wrapper first on PATH (tests/support/git_faults.py) fails a
chosen subcommand or lets "another process" act right before it runs.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import git_faults

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


def test_load_reads_the_named_config(factory_home):
    card = CARD.replace(
        b"---\n# test",
        b"- config_name: dpo\n  data_files:\n  - split: train\n    path: dpo/*.parquet\n---\n",
    )
    store = GitStore()
    store.publish(
        "org/data",
        {**files([{"a": 1}]), "README.md": card, "dpo/train.parquet": parquet([{"b": 2}])},
        message="two configs",
    )
    assert store.load("org/data")["train"].to_list() == [{"a": 1}]
    assert store.load("org/data", config="dpo")["train"].to_list() == [{"b": 2}]


# --- failures and races, with real git -----------------------------------------------------

REPO = "org/data"
# above any Linux pid_max (at most 2**22): never a running process
DEAD_PID = 2**22 + 1


@pytest.fixture
def faulty_git(tmp_path, monkeypatch):
    return git_faults.install(tmp_path / "fault-bin", monkeypatch)


def refs_of(store: GitStore, repo: str = REPO) -> dict[str, str]:
    return {ref.name: ref.sha for ref in store.list_refs(repo)}


def incoming(store: GitStore, repo: str = REPO) -> list[str]:
    return sorted(p.name for p in (store.repo_path(repo) / "objects").glob("factory-incoming-*"))


STEP = {
    "init": "local store: cannot create org/data under {root}: ",
    "hash-object": "local store: git hash-object failed for org/data: ",
    "update-ref": "local store: could not move main of org/data: ",
}


@pytest.mark.parametrize("fault", ["fail", "silent", "garbled"])
@pytest.mark.parametrize("at", list(STEP))
def test_a_failed_git_step_is_one_line_and_moves_nothing(factory_home, faulty_git, at, fault):
    """The error names the step and repeats git's last line, or its exit status when git said
    nothing; bytes that are not UTF-8 are replaced. No ref moves and nothing is left behind."""
    store = GitStore()
    if at != "init":
        store.publish(REPO, files([{"a": 1}]), message="first", tag="v1")
        before = refs_of(store)
    faulty_git(at, fault)
    with pytest.raises(StoreError) as error:
        store.publish(REPO, files([{"a": 2}]), message="second", tag="v2")
    said = {
        "fail": f"fatal: injected failure at {at}",
        "silent": ("git init " if at == "init" else "") + "exit status 3",
        "garbled": f"fatal: garbled \ufffd at {at}",
    }[fault]
    assert str(error.value) == STEP[at].format(root=store.root) + said
    faulty_git(None)
    if at == "init":
        assert not store.exists(REPO) and list((store.root / "org").iterdir()) == []
    else:
        assert refs_of(store) == before and incoming(store) == []


@pytest.mark.parametrize("winner", ["branch", "tag", "new-branch"])
def test_a_publish_that_lost_the_race_changes_nothing_and_says_so(factory_home, winner):
    """Another publish lands between this one's reads and its compare-and-swap of the refs:
    the refs stay as the winner left them, and the loser says so in one line."""
    store, other = GitStore(), GitStore()
    store.publish(REPO, files([{"a": 1}]), message="first", tag="v1")
    branch = "dev" if winner == "new-branch" else "main"
    commit, won = store._commit, {}

    def another_publish_first(*args, **kwargs):
        if winner == "tag":  # takes the tag this publish wants, on another branch
            other.publish(REPO, files([{"a": 3}]), message="other", branch="other", tag="v2")
        else:  # moves (or makes) the branch this publish wants to move
            other.publish(REPO, files([{"a": 3}]), message="other", branch=branch)
        won.update(refs_of(other))
        return commit(*args, **kwargs)

    store._commit = another_publish_first
    with pytest.raises(StoreError) as error:
        store.publish(REPO, files([{"a": 2}]), message="mine", branch=branch, tag="v2")
    assert str(error.value) == (
        f"{REPO}: {branch} moved while publishing (another publish won); nothing was published "
        "and the previous revision is intact; rerun to publish on top"
    )
    assert refs_of(store) == won and incoming(store) == []
    if winner != "tag":  # the rerun publishes on top of the winner
        del store._commit
        again = store.publish(REPO, files([{"a": 2}]), message="mine", branch=branch, tag="v2")
        assert refs_of(store)[branch] == again.sha != won[branch]
        parent = subprocess.run(
            ["git", "--git-dir", str(store.repo_path(REPO)), "rev-parse", f"{again.sha}^"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert parent == won[branch]


def test_a_taken_tag_is_refused_before_any_object_is_written(factory_home, faulty_git):
    store = GitStore()
    v1 = store.publish(REPO, files([{"a": 1}]), message="first", tag="v1")
    store.publish(REPO, files([{"a": 2}]), message="second")  # main moves on from v1
    before = refs_of(store)
    faulty_git("hash-object", "fail")  # writing an object would fail with another error
    for rows in ([{"a": 2}], [{"a": 3}]):  # the branch's content, new content
        with pytest.raises(StoreError, match=f"tag 'v1' already names commit {v1.sha[:12]};"):
            store.publish(REPO, files(rows), message="m", tag="v1")
    assert refs_of(store) == before


def test_a_tag_is_refused_only_when_it_would_name_another_commit(factory_home, monkeypatch):
    # fixed dates: the same tree, parent and message make the same commit
    for name in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(name, "2024-01-01T00:00:00+0000")
    store = GitStore()
    main = store.publish(REPO, files([{"a": 1}]), message="m")
    dev = store.publish(REPO, files([{"a": 2}]), message="m", branch="dev", tag="v2")
    # main gets the very commit v2 names (same files, parent and message): allowed
    again = store.publish(REPO, files([{"a": 2}]), message="m", tag="v2")
    assert again.sha == dev.sha != main.sha
    assert refs_of(store) == {"dev": dev.sha, "main": dev.sha, "v2": dev.sha}


def test_a_repository_made_meanwhile_by_another_publish_is_used(factory_home, faulty_git):
    store = GitStore()
    path = store.repo_path(REPO)
    other = (
        f'"$REAL_GIT" init --quiet --bare --initial-branch=main {shlex.quote(str(path))} && '
        f"echo winner > {shlex.quote(str(path / 'description'))}"
    )
    faulty_git("init", "before", other)  # the other creator finishes while this one runs init
    rev = store.publish(REPO, files([{"a": 1}]), message="first")
    assert (path / "description").read_text() == "winner\n"  # theirs, not replaced
    assert store.resolve(REPO) == rev.sha
    assert [p.name for p in path.parent.iterdir()] == ["data.git"]  # no .making- folder left


def test_a_repository_is_made_beside_its_place_under_the_creator_pid(factory_home, faulty_git):
    """So the rename into place is atomic, and a sweep can tell a killed creation from a live one."""
    store = GitStore()
    seen = factory_home / "seen.txt"
    org = store.root / "org"
    faulty_git("init", "before", f"ls -a {shlex.quote(str(org))} > {shlex.quote(str(seen))}")
    store.create_repo(REPO)
    making = [name for name in seen.read_text().split() if name.startswith(".making-")]
    assert len(making) == 1 and making[0].startswith(f".making-{os.getpid()}-")
    assert [p.name for p in org.iterdir()] == ["data.git"] and store.exists(REPO)


def test_leftovers_of_killed_publishes_are_swept_and_live_ones_kept(factory_home):
    store = GitStore()
    store.publish(REPO, files([{"a": 1}]), message="first")
    org, objects = store.root / "org", store.repo_path(REPO) / "objects"
    dead = [
        org / f".making-{DEAD_PID}-x",
        org / ".making-x",
        objects / f"factory-incoming-{DEAD_PID}-x",
    ]
    dead.append(objects / "factory-incoming-x")
    live = [org / f".making-{os.getpid()}-x", objects / f"factory-incoming-{os.getpid()}-x"]
    for folder in dead + live:
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "object").write_bytes(b"x")
    # plain files rmtree cannot remove: a sweep is best effort and never fails a publish
    (org / f".making-{DEAD_PID}-file").write_bytes(b"x")
    (objects / f"factory-incoming-{DEAD_PID}-file").write_bytes(b"x")
    store.create_repo("org/other")  # sweeps the folder of repositories being made
    rev = store.publish(REPO, files([{"a": 2}]), message="second")  # sweeps the object folders
    assert [p for p in dead if p.exists()] == [] and all(p.is_dir() for p in live)
    assert store.resolve(REPO) == rev.sha and store.list_repos() == ["org/data", "org/other"]


@pytest.mark.parametrize("junk", ["half-made", "file"])
def test_junk_where_the_repository_goes_is_replaced(factory_home, junk):
    store = GitStore()
    path = store.repo_path(REPO)
    if junk == "half-made":  # what a kill inside `git init` used to leave
        (path / "refs").mkdir(parents=True)
        (path / "HEAD").write_text("ref: refs/heads/main\n")
    else:  # a plain file, which rmtree cannot remove: moved aside all the same
        path.parent.mkdir(parents=True)
        path.write_bytes(b"not a repository")
    assert not store.exists(REPO)
    rev = store.publish(REPO, files([{"a": 1}]), message="first")
    assert store.exists(REPO) and store.resolve(REPO) == rev.sha
    assert store.list_repos() == [REPO]
    if junk == "half-made":
        assert [p.name for p in path.parent.iterdir()] == ["data.git"]


def test_a_failed_snapshot_leaves_no_staging_folder(factory_home, faulty_git):
    store = GitStore()
    rev = store.publish(REPO, files([{"a": 1}]), message="first")
    faulty_git("archive", "fail")
    with pytest.raises((StoreError, subprocess.CalledProcessError)):
        store.snapshot(REPO)
    folder = factory_home / "snapshots" / REPO
    assert list(folder.iterdir()) == []  # neither a staging folder nor a snapshot
    faulty_git(None)
    assert store.snapshot(REPO) == folder / rev.sha
    assert [p.name for p in folder.iterdir()] == [rev.sha]


def test_a_snapshot_made_meanwhile_by_another_process_is_used(factory_home, faulty_git):
    store = GitStore()
    rev = store.publish(REPO, files([{"a": 1}]), message="first")
    target = factory_home / "snapshots" / REPO / rev.sha
    q = shlex.quote
    other = (
        f"mkdir -p {q(str(target))} && echo theirs > {q(str(target / 'marker'))} && "
        f'"$REAL_GIT" --git-dir {q(str(store.repo_path(REPO)))} archive {rev.sha} '
        f"| tar -x -C {q(str(target))}"
    )
    faulty_git("archive", "before", other)  # the other process finishes while this one archives
    assert store.snapshot(REPO) == target
    assert (target / "marker").read_text() == "theirs\n"  # theirs, not replaced
    assert (target / "README.md").read_bytes() == CARD
    assert [p.name for p in target.parent.iterdir()] == [rev.sha]  # no staging folder left
