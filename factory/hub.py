"""Publish and load datasets by revision, whatever the backend.

>>> import factory.hub
>>> ds = factory.hub.load("latxa/magpie-eu", revision="v1")          # a DatasetDict
>>> ds = factory.hub.load("latxa/magpie-eu@3f2a...")                  # ref form
"""

from __future__ import annotations

from typing import Literal

from factory import settings
from factory.refs import DatasetRef
from factory.store.base import Store

Backend = Literal["local", "hub"]


def open_store(backend: Backend = "local") -> Store:
    if backend == "local":
        from factory.store.git import GitStore

        return GitStore()
    if backend == "hub":
        from factory.store.hub import HubStore

        return HubStore()
    raise ValueError(f"unknown store backend {backend!r} (allowed: local, hub)")


def store_for(repo_id: str, backend: Backend | None = None) -> Store:
    """The store that holds `repo_id`: the one named, else the local store if it has it, else the Hub."""
    if backend is not None:
        return open_store(backend)
    local = open_store("local")
    if local.exists(repo_id):
        return local
    if settings.hub_configured():
        return open_store("hub")
    # no Hub configured: say what the local store has instead of trying the network
    local.resolve(repo_id)  # raises RepoNotFound listing the local datasets
    return local


def _split_ref(repo_id: str, revision: str | None) -> tuple[str, str | None]:
    ref = DatasetRef.parse(repo_id)
    if ref.revision and revision and ref.revision != revision:
        raise ValueError(
            f"two revisions given for {ref.repo_id}: {ref.revision!r} and {revision!r}"
        )
    return ref.repo_id, revision or ref.revision


def load(
    repo_id: str,
    revision: str | None = None,
    *,
    config: str | None = None,
    backend: Backend | None = None,
):
    """The dataset at a revision (branch, tag or sha) as a `datasets.DatasetDict`."""
    repo_id, revision = _split_ref(repo_id, revision)
    return store_for(repo_id, backend).load(repo_id, revision, config=config)


def resolve(repo_id: str, revision: str | None = None, *, backend: Backend | None = None) -> str:
    repo_id, revision = _split_ref(repo_id, revision)
    return store_for(repo_id, backend).resolve(repo_id, revision)
