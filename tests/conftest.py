"""Shared fixtures: every test gets its own FACTORY_HOME; the spine's test kind `echo` is registered."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
# ../shared/data beside the checkout (CI), or wherever FACTORY_SHARED_DATA points (a worktree elsewhere)
SHARED_DATA = Path(os.environ.get("FACTORY_SHARED_DATA") or REPO.parent / "shared" / "data")

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


@pytest.fixture(autouse=True)
def factory_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("factory-home")
    monkeypatch.setenv("FACTORY_HOME", str(home))
    return home


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
