"""The store interface every backend implements."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from factory.errors import StoreError
from factory.refs import DatasetRef, validate_revision

MANIFEST_PATH = ".factory/manifest.json"

FileSource = Path | bytes


@dataclass(frozen=True)
class Revision:
    """A published commit. `created` is False when the publish found identical content."""

    repo_id: str
    sha: str
    branch: str
    tag: str | None = None
    created: bool = True

    def ref(self) -> str:
        return f"{self.repo_id}@{self.tag or self.sha}"


@dataclass(frozen=True)
class RefInfo:
    name: str
    kind: str  # "branch" or "tag"
    sha: str


def file_sha256(source: FileSource) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(files: dict[str, FileSource]) -> bytes:
    """sha256 of every published file; two publishes with equal manifests hold equal content."""
    entries = {
        path: file_sha256(source) for path, source in sorted(files.items()) if path != MANIFEST_PATH
    }
    return (json.dumps({"files": entries}, indent=1, sort_keys=True) + "\n").encode()


def with_manifest(files: dict[str, FileSource]) -> dict[str, FileSource]:
    return {**files, MANIFEST_PATH: build_manifest(files)}


def validate_path_in_repo(path: str) -> str:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or ".git" in parts
    ):
        raise ValueError(f"invalid path in repository: {path!r}")
    return path


def validate_publish(
    repo_id: str, files: dict[str, FileSource], branch: str, tag: str | None
) -> None:
    """Every backend checks a publish's names before it touches anything."""
    DatasetRef.parse(repo_id)
    validate_revision(branch)
    if tag:
        validate_revision(tag)
    for path in files:
        validate_path_in_repo(path)


def tag_taken(repo_id: str, tag: str, sha: str) -> StoreError:
    return StoreError(
        f"{repo_id}: tag {tag!r} already names commit {sha[:12]}; tags are immutable, choose another tag"
    )


class Store(ABC):
    """Where datasets are published and read back by revision."""

    backend: str

    @abstractmethod
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
        """One commit holding exactly `files` (plus the manifest); no commit if nothing changed."""

    def check_writable(self, repo_id: str) -> None:
        """Fail before any work when a publish to `repo_id` could not succeed (e.g. no token)."""

    @abstractmethod
    def resolve(self, repo_id: str, revision: str | None = None) -> str:
        """The commit sha a branch, tag or sha names (default: main)."""

    @abstractmethod
    def exists(self, repo_id: str) -> bool: ...

    @abstractmethod
    def list_repos(self) -> list[str]: ...

    @abstractmethod
    def list_refs(self, repo_id: str) -> list[RefInfo]: ...

    @abstractmethod
    def snapshot(self, repo_id: str, revision: str | None = None) -> Path:
        """A local read-only folder holding the files of `repo_id` at `revision`."""

    @abstractmethod
    def read_file(self, repo_id: str, path: str, revision: str | None = None) -> bytes | None:
        """One file's bytes at a revision, None if absent."""

    def load(self, repo_id: str, revision: str | None = None, config: str | None = None):
        """The dataset at `revision` as a `datasets.DatasetDict` (read from a local snapshot)."""
        import datasets

        folder = self.snapshot(repo_id, revision)
        kwargs = {"name": config} if config else {}
        return datasets.load_dataset(str(folder), **kwargs)
