"""Issue 10 items 4 and 7: stores under fault injection never wedge or publish half a revision.

A `git` wrapper on PATH (tests/support/git_faults.py) kills its caller (SIGKILL) or fails at a
chosen subcommand; the loopback Hub kills the publishing process when a chosen request arrives.
After every kill the store still reads, and the same publish run again completes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import git_faults
from support.helpers import one_error_line, run_cli, write_echo_inputs

from factory.errors import CredentialsError, RepoNotFound, StoreError
from factory.store.base import MANIFEST_PATH
from factory.store.git import GitStore
from factory.store.hub import HubStore

REPO_ROOT = Path(__file__).resolve().parent.parent

PUBLISHER = """
import sys
from pathlib import Path
from factory.store.git import GitStore
from factory.store.hub import HubStore

backend, repo, src, tag = sys.argv[1:5]
files = {p.relative_to(src).as_posix(): p for p in sorted(Path(src).rglob("*")) if p.is_file()}
store = GitStore() if backend == "local" else HubStore()
store.publish(repo, files, message="publish " + tag, tag=tag)
"""


@pytest.fixture
def faulty_git(tmp_path, monkeypatch):
    """Put the wrapper first on PATH; `arm(at, fault)` chooses where it strikes."""
    return git_faults.install(tmp_path / "fault-bin", monkeypatch)


def version(folder: Path, n: int) -> Path:
    """A small dataset folder whose content depends on `n`."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(f"# version {n}\n")
    (folder / "data" / "train-00000-of-00001.jsonl").write_text(f'{{"text": "bertsioa {n}"}}\n')
    return folder


def files_of(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def publish_in_child(backend: str, repo: str, src: Path, tag: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, backend, repo, str(src), tag],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def loose_objects(store: GitStore, repo: str) -> set[str]:
    objects = store.repo_path(repo) / "objects"
    return {
        p.relative_to(objects).as_posix()
        for p in objects.glob("??/*")
        if p.is_file() and len(p.parent.name) == 2
    }


# --- local store -------------------------------------------------------------------------


def test_4_half_made_repo_counts_as_absent_and_is_replaced(tmp_path, factory_home):
    store = GitStore()
    half = store.repo_path("test/half")
    (half / "refs").mkdir(parents=True)  # what a kill inside `git init` used to leave
    (half / "HEAD").write_text("ref: refs/heads/main\n")
    (half / "config").write_text("[core]\n\tbare = true\n")
    assert not store.exists("test/half") and store.list_repos() == []
    with pytest.raises(RepoNotFound):
        store.list_refs("test/half")
    done = run_cli("ls", "test/half", home=factory_home)
    assert "not found" in one_error_line(done)
    rev = store.publish("test/half", files_of(version(tmp_path / "v1", 1)), message="m", tag="v1")
    assert store.resolve("test/half", "v1") == rev.sha


@pytest.mark.slow
@pytest.mark.parametrize("at", ["init", "hash-object", "commit-tree", "update-ref"], ids=str)
def test_4_sigkill_anywhere_in_a_local_publish_then_rerun(tmp_path, factory_home, faulty_git, at):
    store = GitStore()
    repo = "test/killed"
    v2 = version(tmp_path / "v2", 2)
    if at != "init":
        first = store.publish(repo, files_of(version(tmp_path / "v1", 1)), message="m", tag="v1")
    faulty_git(at, "kill")
    child = publish_in_child("local", repo, v2, "v2")
    child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL
    faulty_git(None)

    if at == "init":
        assert not store.exists(repo) and store.list_repos() == []
    else:  # the previous revision is intact, and main never moved without its tag
        refs = {ref.name: ref.sha for ref in store.list_refs(repo)}
        assert refs["v1"] == first.sha
        assert refs["main"] == refs.get("v2", first.sha)
    again = store.publish(repo, files_of(v2), message="again", tag="v2")
    assert store.resolve(repo, "main") == store.resolve(repo, "v2") == again.sha
    assert store.read_file(repo, "README.md", "v2") == b"# version 2\n"
    assert not list(store.repo_path(repo).glob("objects/factory-incoming-*"))


def test_4_full_disk_mid_publish_leaves_no_objects_and_one_line(tmp_path, faulty_git):
    store = GitStore()
    repo = "test/full"
    store.publish(repo, files_of(version(tmp_path / "v1", 1)), message="m", tag="v1")
    before = loose_objects(store, repo)
    faulty_git("hash-object", "full")
    with pytest.raises(StoreError) as error:
        store.publish(repo, files_of(version(tmp_path / "v2", 2)), message="m", tag="v2")
    assert "No space left on device" in str(error.value) and "\n" not in str(error.value)
    assert loose_objects(store, repo) == before
    assert not list(store.repo_path(repo).glob("objects/factory-incoming-*"))
    assert [ref.name for ref in store.list_refs(repo)] == ["main", "v1"]


def test_4_branch_and_tag_move_together_or_not_at_all(tmp_path, faulty_git, monkeypatch):
    store = GitStore()
    repo = "test/together"
    first = store.publish(repo, files_of(version(tmp_path / "v1", 1)), message="m", tag="v1")
    faulty_git("update-ref", "second")  # a second ref update would fail (e.g. killed there)
    try:
        store.publish(repo, files_of(version(tmp_path / "v2", 2)), message="m", tag="v2")
    except StoreError:
        pass
    refs = {ref.name: ref.sha for ref in store.list_refs(repo)}
    assert refs["v1"] == first.sha
    assert refs["main"] == refs.get("v2", first.sha)  # main moved if and only if v2 was made
    faulty_git("update-ref", "fail")  # every ref update fails: nothing moves
    with pytest.raises(StoreError):
        store.publish(repo, files_of(version(tmp_path / "v3", 3)), message="m", tag="v3")
    assert {ref.name: ref.sha for ref in store.list_refs(repo)} == refs


def test_4_lost_race_is_one_clear_line(tmp_path, monkeypatch):
    store = GitStore()
    repo = "test/race"
    store.publish(repo, files_of(version(tmp_path / "v1", 1)), message="m")
    commit = store._commit
    other = GitStore()

    def another_publish_first(*args, **kwargs):
        other.publish(repo, files_of(version(tmp_path / "v3", 3)), message="other")
        return commit(*args, **kwargs)

    monkeypatch.setattr(store, "_commit", another_publish_first)
    with pytest.raises(StoreError) as error:
        store.publish(repo, files_of(version(tmp_path / "v2", 2)), message="m", tag="v2")
    assert str(error.value) == (
        f"{repo}: main moved while publishing (another publish won); nothing was published "
        "and the previous revision is intact; rerun to publish on top"
    )
    assert store.read_file(repo, "README.md") == b"# version 3\n"
    assert "v2" not in {ref.name for ref in store.list_refs(repo)}


# --- loopback Hub ------------------------------------------------------------------------


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("route", ["commit", "tag"], ids=str)  # before and after the commit
def test_4_sigkill_anywhere_in_a_hub_publish_then_rerun(hub, tmp_path, route, monkeypatch):
    store = HubStore()
    repo = hub.repo_id("killed")
    first = store.publish(repo, files_of(version(tmp_path / "v1", 1)), message="m", tag="v1")
    v2 = version(tmp_path / "v2", 2)
    state = hub.server.state
    pop_failure = state.pop_failure
    child: list[subprocess.Popen] = []

    def kill_on(name):
        if name == route and child and child[0].poll() is None:
            os.kill(child[0].pid, signal.SIGKILL)
            child[0].wait()
            # the route still runs: a "tag" kill lands after the commit, as a real kill could
        return pop_failure(name)

    monkeypatch.setattr(state, "pop_failure", kill_on)
    child.append(publish_in_child("hub", repo, v2, "v2"))
    child[0].communicate(timeout=120)
    monkeypatch.setattr(state, "pop_failure", pop_failure)
    assert child[0].returncode == -signal.SIGKILL

    # the killed client's request may still be landing on the server: read the refs once settled
    refs, deadline = None, time.monotonic() + 10
    while time.monotonic() < deadline:
        now = {ref.name: ref.sha for ref in store.list_refs(repo)}
        if now == refs:
            break
        refs = now
        time.sleep(1.0)
    assert refs["v1"] == first.sha
    # a request the server had received before the kill may still land (as with a real kill);
    # a tag that landed names the commit it was made for
    assert refs.get("v2", refs["main"]) == refs["main"]
    again = store.publish(repo, files_of(v2), message="again", tag="v2")
    assert store.resolve(repo, "v2") == store.resolve(repo) == again.sha
    assert store.read_file(repo, "README.md", "v2") == b"# version 2\n"
    # a commit that landed before the kill is found and tagged, not published twice
    assert again.created == (refs["main"] == first.sha)
    if route == "tag":
        assert not again.created
    assert store.read_file(repo, MANIFEST_PATH, "v1") != store.read_file(repo, MANIFEST_PATH)


# --- 7. Hub credentials and reachability, checked before the build ---------------------------


@pytest.mark.server
def test_7_bad_token_no_write_access_and_unreachable_hub_fail_before_work(
    hub, tmp_path, factory_home
):
    with pytest.raises(CredentialsError, match=r"\(401\)"):
        HubStore(token="hf_not_a_real_token").check_writable(hub.repo_id())
    hub.server.add_token("hf_outsider_token", "outsider", [])
    with pytest.raises(CredentialsError, match=r"no write access .* \(403\)"):
        HubStore(token="hf_outsider_token").check_writable(hub.repo_id())
    with pytest.raises(StoreError, match="cannot reach the Hub at http://127.0.0.1:9"):
        HubStore(endpoint="http://127.0.0.1:9", token=hub.token).check_writable(hub.repo_id())

    write_echo_inputs(tmp_path / "in", files=1, rows=5)
    recipe = tmp_path / "hub.yaml"
    recipe.write_text(
        "kind: echo\nname: hub-echo\ninputs:\n  - path: in\n"
        f"output:\n  repo_id: {hub.repo_id()}\n  backend: hub\ncard:\n  template: base.md.j2\n"
    )
    done = run_cli("build", str(recipe), home=factory_home, HF_TOKEN="hf_outsider_token")
    assert "(403)" in one_error_line(done)
    assert "hf_outsider_token" not in done.stderr
    assert not (factory_home / "builds").exists()


def test_7_xet_transfer_errors_are_one_line():
    hf_xet = pytest.importorskip("hf_xet")
    store = HubStore(endpoint="http://127.0.0.1:9", token="hf_secret_token")
    with pytest.raises(StoreError) as error:
        with store._errors("publish", "org/data"):
            raise hf_xet.XetAuthenticationError("token refused by cas\nsecond line")
    text = str(error.value)
    assert "xet transfer" in text and "org/data" in text and "\n" not in text
    assert "hf_secret_token" not in text
    with pytest.raises(KeyError):  # anything else is a bug and keeps its traceback
        with store._errors("publish", "org/data"):
            raise KeyError("x")
