"""Bare git repositories on disk, written with git plumbing, as the loopback Hub keeps them.

Large files are stored the way the Hub stores them: the git tree holds an LFS pointer
(`version https://git-lfs.github.com/spec/v1`, `oid sha256:...`, `size N`) and the bytes live
in a content-addressed folder next to the repositories.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ZERO_SHA = "0" * 40
SHA1 = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_POINTER = re.compile(
    rb"^version https://git-lfs.github.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n$"
)
# What the Hub writes as the first commit of every new repository.
INITIAL_GITATTRIBUTES = b"""*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
"""
_ENV = {
    "GIT_AUTHOR_NAME": "loopback-hub",
    "GIT_AUTHOR_EMAIL": "hub@localhost",
    "GIT_COMMITTER_NAME": "loopback-hub",
    "GIT_COMMITTER_EMAIL": "hub@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitError(Exception):
    """A git command failed (the handler answers 500 with its stderr)."""


class RefMoved(Exception):
    """`update-ref NEW OLD` found the ref elsewhere than OLD."""


@dataclass(frozen=True)
class Entry:
    """One tree entry, with LFS files reported by their real size."""

    path: str
    kind: str  # "file" or "directory"
    oid: str
    size: int
    lfs_oid: str | None = None
    pointer_size: int | None = None

    def as_json(self) -> dict:
        data: dict = {"type": self.kind, "oid": self.oid, "size": self.size, "path": self.path}
        if self.lfs_oid:
            data["lfs"] = {"oid": self.lfs_oid, "size": self.size, "pointerSize": self.pointer_size}
        return data


def lfs_pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def parse_pointer(blob: bytes) -> tuple[str, int] | None:
    match = _POINTER.match(blob) if len(blob) < 200 else None
    return (match.group(1).decode(), int(match.group(2))) if match else None


class LfsObjects:
    """Content-addressed large files, shared by every repository of one server."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, oid: str) -> Path:
        if not SHA256.match(oid):
            raise ValueError(f"invalid LFS oid {oid!r}")
        return self.root / oid[:2] / oid

    def has(self, oid: str) -> bool:
        return self.path(oid).is_file()

    def put(self, oid: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != oid:
            raise ValueError("uploaded bytes do not match their sha256 oid")
        target = self.path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{oid}.{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)


class GitRepo:
    """One bare repository; every write goes through a private index and `update-ref NEW OLD`."""

    def __init__(self, path: Path):
        self.path = path

    def git(
        self, *args: str, input: bytes | None = None, env: dict | None = None, check: bool = True
    ) -> bytes:
        result = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=input,
            capture_output=True,
            env={**os.environ, **_ENV, **(env or {})},
        )
        if check and result.returncode != 0:
            raise GitError(f"git {args[0]}: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout if result.returncode == 0 else b""

    def init(self, private: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(self.path)],
            check=True,
            capture_output=True,
        )
        self.git("config", "hub.private", "true" if private else "false")
        sha = self.commit(
            None, [("file", ".gitattributes", INITIAL_GITATTRIBUTES)], "initial commit"
        )
        self.update_ref("refs/heads/main", sha, ZERO_SHA)

    @property
    def private(self) -> bool:
        return self.git("config", "--get", "hub.private", check=False).strip() == b"true"

    # --- refs -------------------------------------------------------------------

    def rev_parse(self, name: str) -> str | None:
        if name.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
        return out.decode().strip() or None

    def resolve(self, revision: str) -> str | None:
        """A branch, tag, full ref or full commit sha -> commit sha, or None."""
        if revision.startswith("refs/"):
            return self.rev_parse(revision)
        if SHA1.match(revision):
            return self.rev_parse(revision)
        return self.rev_parse(f"refs/heads/{revision}") or self.rev_parse(f"refs/tags/{revision}")

    def refs(self) -> list[tuple[str, str]]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)")
        refs = []
        for line in out.decode().splitlines():
            name, sha, *peeled = line.split()
            refs.append((name, peeled[0] if peeled else sha))
        return refs

    def update_ref(self, ref: str, new: str, old: str) -> None:
        """Compare-and-swap: fails with RefMoved unless `ref` is at `old` (ZERO_SHA: absent)."""
        result = subprocess.run(
            ["git", "--git-dir", str(self.path), "update-ref", ref, new, old],
            capture_output=True,
            env={**os.environ, **_ENV},
        )
        if result.returncode != 0:
            raise RefMoved(result.stderr.decode(errors="replace").strip())

    def commit_time(self, sha: str) -> str:
        stamp = int(self.git("show", "-s", "--format=%ct", sha).strip())
        when = datetime.fromtimestamp(stamp, tz=UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    # --- trees ------------------------------------------------------------------

    def entries(self, sha: str, path: str = "", recursive: bool = False) -> list[Entry] | None:
        """Entries under `path` (a folder) at commit `sha`; None when `path` is not a folder."""
        if path:
            kind = self.git("cat-file", "-t", f"{sha}:{path}", check=False).strip()
            if kind != b"tree":
                return None
        args = ["ls-tree", "-l", "-z"] + (["-r", "-t"] if recursive else [])
        args += [sha, "--", f"{path}/"] if path else [sha]
        out = self.git(*args)
        return [self._entry(line) for line in out.split(b"\0") if line]

    def entry(self, sha: str, path: str) -> Entry | None:
        out = self.git("ls-tree", "-l", "-z", sha, "--", path, check=False)
        lines = [line for line in out.split(b"\0") if line]
        return self._entry(lines[0]) if lines else None

    def _entry(self, line: bytes) -> Entry:
        meta, name = line.split(b"\t", 1)
        _mode, kind, oid, size = meta.split()
        path = name.decode()
        if kind == b"tree":
            return Entry(path, "directory", oid.decode(), 0)
        size = int(size)
        if size < 200:
            pointer = parse_pointer(self.git("cat-file", "blob", oid.decode()))
            if pointer:
                return Entry(path, "file", oid.decode(), pointer[1], pointer[0], size)
        return Entry(path, "file", oid.decode(), size)

    def blob(self, oid: str) -> bytes:
        return self.git("cat-file", "blob", oid)

    # --- writes -----------------------------------------------------------------

    def commit(
        self, parent: str | None, operations: list[tuple[str, str, bytes | None]], message: str
    ) -> str:
        """Write a commit from `parent` applying (kind, path, payload) operations.

        kind is "file" (payload: the blob bytes), "delete" or "delete_folder". Raises
        KeyError(path) when a deleted path does not exist. The branch is not moved here.
        """
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self.git("read-tree", parent, env=env)
            for kind, path, payload in operations:
                if kind == "file":
                    blob = self.git("hash-object", "-w", "--stdin", input=payload).decode().strip()
                    self.git(
                        "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env
                    )
                    continue
                pattern = f"{path.rstrip('/')}/" if kind == "delete_folder" else path
                present = [
                    p for p in self.git("ls-files", "-z", "--", pattern, env=env).split(b"\0") if p
                ]
                if kind == "delete" and present != [path.encode()]:
                    raise KeyError(path)
                if not present:
                    raise KeyError(path)
                # mode 0 removes a path; --force-remove would need a work tree
                removals = b"".join(b"0 " + ZERO_SHA.encode() + b"\t" + p + b"\0" for p in present)
                self.git("update-index", "-z", "--index-info", input=removals, env=env)
            tree = self.git("write-tree", env=env).decode().strip()
        args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        return self.git(*args).decode().strip()
