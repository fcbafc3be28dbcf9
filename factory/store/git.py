"""The embedded default store: bare git repositories under `FACTORY_HOME/store`.

Each repository has the layout of a Hub dataset repo (README.md card, `data/...parquet`).
A publish builds the tree with git plumbing in a private index, writing its objects to a
private object folder first (git's own "quarantine"), and moves the branch and the tag in ONE
`update-ref --stdin` transaction, a compare-and-swap: a publish that fails or loses a race
leaves the previous revision as it was (objects it had already moved in stay unreachable, no ref
names them, until `git gc` prunes them). A repository is made
in a temporary folder and renamed into place, so a kill never leaves a half-made one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from factory.builds.files import pid_alive
from factory.errors import RepoNotFound, RevisionNotFound, StoreError
from factory.refs import COMMIT_SHA, DatasetRef, validate_revision
from factory.settings import factory_home
from factory.store.base import (
    MANIFEST_PATH,
    FileSource,
    RefInfo,
    Revision,
    Store,
    tag_taken,
    validate_publish,
    with_manifest,
)

ZERO_SHA = "0" * 40
_INCOMING = "factory-incoming-"  # private object folders of publishes in flight: <prefix><pid>-...
_MAKING = ".making-"  # repositories being created, renamed into place when whole


def _owner_pid(name: str, prefix: str) -> int | None:
    head = name.removeprefix(prefix).split("-", 1)[0]
    return int(head) if head.isdigit() else None


_COMMITTER = {
    "GIT_AUTHOR_NAME": "latxa-factory",
    "GIT_AUTHOR_EMAIL": "factory@localhost",
    "GIT_COMMITTER_NAME": "latxa-factory",
    "GIT_COMMITTER_EMAIL": "factory@localhost",
}


class GitStore(Store):
    backend = "local"

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else factory_home() / "store"

    # --- plumbing -------------------------------------------------------------

    def repo_path(self, repo_id: str) -> Path:
        DatasetRef.parse(repo_id)
        return self.root / f"{repo_id}.git"

    def _git(
        self,
        repo_id: str,
        *args: str,
        input: bytes | None = None,
        env: dict | None = None,
        check=True,
    ) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(self.repo_path(repo_id)), *args],
            input=input,
            capture_output=True,
            env={**os.environ, **_COMMITTER, **(env or {})},
        )
        if check and result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            raise StoreError(
                f"local store: git {args[0]} failed for {repo_id}: "
                + (detail[-1] if detail else f"exit status {result.returncode}")
            )
        return result.stdout.decode().strip() if result.returncode == 0 else ""

    def _rev_parse(self, repo_id: str, name: str) -> str | None:
        out = self._git(
            repo_id, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False
        )
        return out or None

    def _require_repo(self, repo_id: str) -> None:
        if not self.exists(repo_id):
            known = ", ".join(self.list_repos()) or "none yet"
            raise RepoNotFound(
                f"dataset {repo_id!r} not found in the local store {self.root} (datasets: {known}; "
                "set HF_ENDPOINT or HF_TOKEN to read from a Hub)"
            )

    # --- Store ------------------------------------------------------------------

    @staticmethod
    def _whole(path: Path) -> bool:
        """A usable bare repository: what `git init` makes last is there too."""
        return (
            all((path / name).exists() for name in ("HEAD", "config", "objects", "refs"))
            and (path / "objects").is_dir()
        )

    def exists(self, repo_id: str) -> bool:
        return self._whole(self.repo_path(repo_id))

    def check_writable(self, repo_id: str) -> None:
        """The store's folder takes a new file (checked before a long build)."""
        folder = self.repo_path(repo_id).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
                pass
        except OSError as error:
            raise StoreError(
                f"local store: cannot write under {folder} ({error.strerror or type(error).__name__}); "
                "set FACTORY_HOME to a folder you can write"
            ) from None

    def create_repo(self, repo_id: str) -> None:
        """Make the bare repository in a temporary folder and rename it into place.

        A folder left half-made by a kill (from before this was atomic) counts as absent and is
        moved aside, so the next publish starts clean instead of failing forever.
        """
        path = self.repo_path(repo_id)
        if self.exists(repo_id):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._sweep_making(path.parent)
        making = Path(tempfile.mkdtemp(dir=path.parent, prefix=f"{_MAKING}{os.getpid()}-"))
        try:
            done = subprocess.run(
                ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(making)],
                capture_output=True,
            )
            if done.returncode != 0:
                detail = done.stderr.decode(errors="replace").strip().splitlines()
                raise StoreError(
                    f"local store: cannot create {repo_id} under {self.root}: "
                    + (detail[-1] if detail else f"git init exit status {done.returncode}")
                )
            if path.exists() and not self.exists(repo_id):
                broken = path.with_name(f"{_MAKING}{os.getpid()}-broken-{path.name}")
                path.rename(broken)
                shutil.rmtree(broken, ignore_errors=True)
            try:
                making.rename(path)
            except OSError:
                if not self.exists(repo_id):  # not "another publish made it first"
                    raise
        finally:
            shutil.rmtree(making, ignore_errors=True)

    @staticmethod
    def _sweep_making(folder: Path) -> None:
        """Remove repositories a killed process was still creating."""
        for stale in folder.glob(f"{_MAKING}*"):
            pid = _owner_pid(stale.name, _MAKING)
            if pid is None or not pid_alive(pid):
                shutil.rmtree(stale, ignore_errors=True)

    @contextmanager
    def _incoming(self, repo_id: str):
        """A private object folder for one publish; its objects join the repository only on success.

        git reads the repository's objects through the alternates variable, so unchanged blobs
        are found and only new ones land here. A failed or killed publish leaves nothing behind
        in `objects/` (a kill leaves this folder, which the next publish removes).
        """
        objects = self.repo_path(repo_id) / "objects"
        for stale in objects.glob(f"{_INCOMING}*"):
            pid = _owner_pid(stale.name, _INCOMING)
            if pid is None or not pid_alive(pid):
                shutil.rmtree(stale, ignore_errors=True)
        incoming = Path(tempfile.mkdtemp(dir=objects, prefix=f"{_INCOMING}{os.getpid()}-"))
        env = {
            "GIT_OBJECT_DIRECTORY": str(incoming),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects),
        }
        try:
            yield env, incoming
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    @staticmethod
    def _migrate(incoming: Path, objects: Path) -> None:
        """Move the publish's objects into the repository (renames within one filesystem)."""
        for folder in sorted(p for p in incoming.iterdir() if p.is_dir()):
            target = objects / folder.name
            target.mkdir(exist_ok=True)
            for item in folder.iterdir():
                dest = target / item.name
                if not dest.exists():
                    os.replace(item, dest)

    def publish(
        self,
        repo_id: str,
        files: dict[str, FileSource],
        *,
        message: str,
        branch: str = "main",
        tag: str | None = None,
        private: bool = False,
    ) -> Revision:
        validate_publish(repo_id, files, branch, tag)
        self.create_repo(repo_id)
        parent = self._rev_parse(repo_id, f"refs/heads/{branch}")
        base = parent or self._rev_parse(repo_id, "refs/heads/main")
        existing_tag = self._rev_parse(repo_id, f"refs/tags/{tag}") if tag else None

        files = with_manifest(files)
        if existing_tag and base and existing_tag != base:
            # tags are immutable: refuse before writing anything, unless the content is the tagged one
            if self.read_file(repo_id, MANIFEST_PATH, existing_tag) != files[MANIFEST_PATH]:
                raise tag_taken(repo_id, tag, existing_tag)
        with self._incoming(repo_id) as (env, incoming):
            if base and self.read_file(repo_id, MANIFEST_PATH, base) == files[MANIFEST_PATH]:
                sha, created = base, False
            else:
                sha, created = self._commit(repo_id, files, message, base, env), True
            if existing_tag and existing_tag != sha:
                raise tag_taken(repo_id, tag, existing_tag)
            updates = []
            if created or parent is None:
                updates.append(f"update refs/heads/{branch} {sha} {parent or ZERO_SHA}\n")
            if tag and not existing_tag:
                updates.append(f"update refs/tags/{tag} {sha} {ZERO_SHA}\n")
            if created:
                self._migrate(incoming, self.repo_path(repo_id) / "objects")
            if updates:
                self._move_refs(repo_id, branch, "".join(updates))
        return Revision(repo_id=repo_id, sha=sha, branch=branch, tag=tag, created=created)

    def _move_refs(self, repo_id: str, branch: str, updates: str) -> None:
        """Branch and tag move together or not at all; a lost compare-and-swap is one clear line."""
        result = subprocess.run(
            ["git", "--git-dir", str(self.repo_path(repo_id)), "update-ref", "--stdin"],
            input=f"start\n{updates}prepare\ncommit\n".encode(),
            capture_output=True,
            env={**os.environ, **_COMMITTER},
        )
        if result.returncode == 0:
            return
        text = result.stderr.decode(errors="replace")
        if (
            "but expected" in text
            or "reference already exists" in text
            or "cannot lock ref" in text
        ):
            raise StoreError(
                f"{repo_id}: {branch} moved while publishing (another publish won); nothing was "
                "published and the previous revision is intact; rerun to publish on top"
            )
        detail = text.strip().splitlines()
        raise StoreError(
            f"local store: could not move {branch} of {repo_id}: "
            + (detail[-1] if detail else f"exit status {result.returncode}")
        )

    def _commit(
        self,
        repo_id: str,
        files: dict[str, FileSource],
        message: str,
        parent: str | None,
        objects_env: dict[str, str],
    ) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **objects_env}
            entries = []
            for path, source in sorted(files.items()):
                if isinstance(source, bytes):
                    blob = self._git(
                        repo_id, "hash-object", "-w", "--stdin", input=source, env=objects_env
                    )
                else:
                    blob = self._git(
                        repo_id,
                        "hash-object",
                        "-w",
                        "--",
                        str(Path(source).resolve()),
                        env=objects_env,
                    )
                entries.append(f"100644 {blob}\t{path}")
            self._git(
                repo_id,
                "update-index",
                "--add",
                "--index-info",
                input="\n".join(entries).encode(),
                env=env,
            )
            tree = self._git(repo_id, "write-tree", env=env)
        args = ["commit-tree", tree, "-m", message]
        if parent:
            args += ["-p", parent]
        return self._git(repo_id, *args, env=objects_env)

    def resolve(self, repo_id: str, revision: str | None = None) -> str:
        self._require_repo(repo_id)
        revision = revision or "main"
        validate_revision(revision)
        candidates = (
            [revision]
            if COMMIT_SHA.match(revision)
            else [f"refs/tags/{revision}", f"refs/heads/{revision}"]
        )
        for name in candidates:
            sha = self._rev_parse(repo_id, name)
            if sha:
                return sha
        names = ", ".join(ref.name for ref in self.list_refs(repo_id)) or "none"
        raise RevisionNotFound(
            f"dataset {repo_id!r} has no revision {revision!r} (branches and tags: {names})"
        )

    def list_repos(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            str(path.relative_to(self.root))[: -len(".git")]
            for path in self.root.glob("*/*.git")
            if self._whole(path)
        )

    def list_refs(self, repo_id: str) -> list[RefInfo]:
        self._require_repo(repo_id)
        out = self._git(
            repo_id, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"
        )
        refs = []
        for line in out.splitlines():
            name, sha = line.split()
            kind = "branch" if name.startswith("refs/heads/") else "tag"
            refs.append(RefInfo(name=name.split("/", 2)[2], kind=kind, sha=sha))
        return refs

    def read_file(self, repo_id: str, path: str, revision: str | None = None) -> bytes | None:
        sha = self.resolve(repo_id, revision)
        result = subprocess.run(
            ["git", "--git-dir", str(self.repo_path(repo_id)), "cat-file", "blob", f"{sha}:{path}"],
            capture_output=True,
        )
        return result.stdout if result.returncode == 0 else None

    def snapshot(self, repo_id: str, revision: str | None = None) -> Path:
        sha = self.resolve(repo_id, revision)
        target = factory_home() / "snapshots" / repo_id / sha
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            archive = subprocess.run(
                ["git", "--git-dir", str(self.repo_path(repo_id)), "archive", "--format=tar", sha],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(staging)], input=archive, check=True)
            try:
                staging.rename(target)
            except OSError:  # another process made it first
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target
