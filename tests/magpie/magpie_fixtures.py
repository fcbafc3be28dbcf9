"""Shared fixtures of the magpie tests (a module, not a conftest.py: a second conftest would shadow tests/conftest.py).

The demo model once per session, cached in the repo's ignored `.factory-home/` (as tests/engines)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from factory.demo.model import CACHE_ENV

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault(CACHE_ENV, str(REPO / ".factory-home" / "models"))


@pytest.fixture(scope="session")
def demo_model_path() -> Path:
    from factory.demo.model import ensure_demo_model

    return ensure_demo_model()
