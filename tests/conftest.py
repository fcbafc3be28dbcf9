"""Shared fixtures: every test gets its own FACTORY_HOME; the spine's test kind `echo` is registered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
# A loopback server that stops answering must fail its test by name, well before the global
# `timeout` in pyproject.toml; slow server tests keep the global limit.
SERVER_TIMEOUT_S = 120


def _shared_data() -> Path:
    """`../shared/data` beside the clone; `FACTORY_SHARED_DATA` (the `shared` folder or its `data`)
    wins; in a git worktree, the folder beside the main checkout."""
    env = os.environ.get("FACTORY_SHARED_DATA")
    if env:
        path = Path(env)
        return path / "data" if (path / "data").is_dir() else path
    beside = REPO.parent / "shared" / "data"
    if beside.is_dir():
        return beside
    try:
        common = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--path-format=absolute", "--git-common-dir"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return beside
    return Path(common).parent.parent / "shared" / "data" if common else beside


SHARED_DATA = _shared_data()

# Test files are imported with --import-mode=importlib (so equal basenames in different folders
# don't clash); helper modules beside them are imported by plain name, so their folders go on sys.path.
for _folder in [
    TESTS,
    *sorted(p for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))),
]:
    sys.path.insert(0, str(_folder))
os.environ.setdefault("FACTORY_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.pop("HF_TOKEN", None)
# one demo model for the whole suite, in the checkout's git-ignored .factory-home/
os.environ.setdefault("FACTORY_DEMO_MODEL_CACHE", str(REPO / ".factory-home" / "models"))

import support.echo_kind  # noqa: E402,F401  (registers the `echo` kind)
from hub_fixtures import hub, hub_server  # noqa: E402,F401  (loopback Hub)

# one `transformers serve` for the whole session, shared by the engine and translate tests
from support.openai_servers import transformers_server  # noqa: E402,F401
from support.server_groups import schedule_rank, shared_server_group  # noqa: E402


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ServerGroupScheduling(LoadScopeScheduling):
        # one unit per file or server group, handed out in collection order (see below)
        def _split_scope(self, nodeid: str) -> str:
            return shared_server_group(nodeid)

    config.option.loadscopereorder = False
    return ServerGroupScheduling(config, log)


@pytest.fixture(autouse=True)
def factory_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("factory-home")
    monkeypatch.setenv("FACTORY_HOME", str(home))
    return home


def pytest_collection_modifyitems(items):
    # the longest units first (stable: files keep their own order otherwise)
    items.sort(key=lambda item: schedule_rank(item.nodeid))
    for item in items:
        if item.get_closest_marker("server") and not (
            item.get_closest_marker("slow") or item.get_closest_marker("timeout")
        ):
            item.add_marker(pytest.mark.timeout(SERVER_TIMEOUT_S))


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (`../shared/data`); the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data is not present at {SHARED_DATA} (set FACTORY_SHARED_DATA)")
    return SHARED_DATA
