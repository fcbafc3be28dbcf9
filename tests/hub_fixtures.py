"""pytest fixtures that run the loopback Hub and point huggingface_hub and datasets at it.

Import them from `tests/conftest.py`: `from hub_fixtures import hub, hub_server  # noqa: F401`.

huggingface_hub reads `HF_ENDPOINT` once, at import, into `constants.ENDPOINT` (and datasets
into `config.HF_ENDPOINT`), so setting the environment variable inside a test is too late.
The `hub` fixture sets the environment (for subprocesses and `factory.settings`) AND patches
those module attributes for the test's duration; every client call reads them at call time.
Xet is switched off (`constants.HF_HUB_DISABLE_XET`) so large files go through the LFS
batch + PUT path that the loopback Hub serves.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

try:  # tests/ on sys.path (rootdir-less layout) or tests as a package
    from hubserver import LoopbackHub
except ImportError:  # pragma: no cover
    from tests.hubserver import LoopbackHub

HUB_USER = "latxa-test"
HUB_ORG = "latxa-org"
HUB_TOKEN = "hf_loopback_write_token"
_names = itertools.count()


@dataclass
class HubEnv:
    """The loopback Hub as seen from one test."""

    server: LoopbackHub
    endpoint: str
    token: str
    user: str
    org: str
    cache: Path

    def repo_id(self, stem: str = "ds", org: str | None = None) -> str:
        """A repo id no other test of this session uses."""
        return f"{org or self.org}/{stem}-{next(_names)}"

    def api(self, token: str | None = None):
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=token or self.token)


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory):
    server = LoopbackHub(root=tmp_path_factory.mktemp("loopback-hub"))
    server.add_token(HUB_TOKEN, HUB_USER, [HUB_ORG])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub(hub_server, monkeypatch, tmp_path):
    import datasets.config
    from huggingface_hub import HfFileSystem, constants

    endpoint = hub_server.endpoint
    cache = tmp_path / "hf-cache"
    env = {
        "HF_ENDPOINT": endpoint,
        "HF_TOKEN": HUB_TOKEN,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_CACHE": str(cache / "hub"),
        "HF_DATASETS_CACHE": str(cache / "datasets"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        endpoint + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache / "hub"))
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", endpoint)
    monkeypatch.setattr(
        datasets.config,
        "HUB_DATASETS_URL",
        endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}",
    )
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets")
    HfFileSystem.clear_instance_cache()  # fsspec keeps instances (and their listings) across tests
    yield HubEnv(hub_server, endpoint, HUB_TOKEN, HUB_USER, HUB_ORG, cache)
    HfFileSystem.clear_instance_cache()
