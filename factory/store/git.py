"""The embedded default store: bare git repositories under `FACTORY_HOME/store`.

Each repository has the layout of a Hub dataset repo (README.md card, `data/...parquet`).
A publish builds the tree with git plumbing in a private index and moves the branch with
`update-ref NEW OLD`, a compare-and-swap: a publish that fails or loses a race leaves the
previous revision as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

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
            raise StoreError(
                f"local store: git {args[0]} failed for {repo_id}: {result.stderr.decode(errors='replace').strip()}"
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

    def exists(self, repo_id: str) -> bool:
        return (self.repo_path(repo_id) / "HEAD").is_file()

    def create_repo(self, repo_id: str) -> None:
        path = self.repo_path(repo_id)
        if not self.exists(repo_id):
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
                check=True,
                capture_output=True,
            )

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
        if base and self.read_file(repo_id, MANIFEST_PATH, base) == files[MANIFEST_PATH]:
            sha, created = base, False
        else:
            sha, created = self._commit(repo_id, files, message, base), True
        if existing_tag and existing_tag != sha:
            raise tag_taken(repo_id, tag, existing_tag)
        if created or parent is None:
            self._git(repo_id, "update-ref", f"refs/heads/{branch}", sha, parent or ZERO_SHA)
        if tag and not existing_tag:
            self._git(repo_id, "update-ref", f"refs/tags/{tag}", sha, ZERO_SHA)
        return Revision(repo_id=repo_id, sha=sha, branch=branch, tag=tag, created=created)

    def _commit(
        self, repo_id: str, files: dict[str, FileSource], message: str, parent: str | None
    ) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            entries = []
            for path, source in sorted(files.items()):
                if isinstance(source, bytes):
                    blob = self._git(repo_id, "hash-object", "-w", "--stdin", input=source)
                else:
                    blob = self._git(
                        repo_id, "hash-object", "-w", "--", str(Path(source).resolve())
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
        return self._git(repo_id, *args)

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
            if (path / "HEAD").is_file()
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
