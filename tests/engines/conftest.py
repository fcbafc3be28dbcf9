"""One demo model per test session, cached across sessions in the repo's ignored `.factory-home/`.

The first session builds it (about a minute or two on 2 cores); later ones load it in well under
a second. `FACTORY_DEMO_MODEL_CACHE` points elsewhere if set (tests/conftest.py sets the default).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_model_path() -> Path:
    from factory.demo.model import ensure_demo_model

    return ensure_demo_model()


@pytest.fixture(scope="session")
def demo_engine(demo_model_path):
    from factory.engines import EngineSpec, make_engine

    return make_engine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=8))
