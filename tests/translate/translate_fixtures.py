"""Shared fixtures of the translate tests (a module, not a conftest.py, as tests/magpie).

The demo MT model is trained once per cache (the repo's ignored `.factory-home/models`) with fewer
steps than the default (`FACTORY_DEMO_MT_TRAIN_STEPS`), so the suite builds it in seconds; build
subprocesses inherit the same environment and reuse it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("FACTORY_DEMO_MODEL_CACHE", str(REPO / ".factory-home" / "models"))
os.environ.setdefault("FACTORY_DEMO_MT_TRAIN_STEPS", "150")
RECIPE = REPO / "recipes" / "magpie_translate_eu.yaml"
SAMPLE = REPO / "factory" / "translate" / "sample" / "conversations_en.jsonl"


@pytest.fixture(scope="session")
def demo_mt_path() -> Path:
    from factory.demo.mt_model import ensure_demo_mt_model

    return ensure_demo_mt_model()


@pytest.fixture(scope="session")
def demo_mt_engine(demo_mt_path):
    from factory.translate.backends import Seq2SeqEngine
    from factory.translate.recipe import Seq2SeqSpec

    return Seq2SeqEngine(Seq2SeqSpec(model="demo:tiny-mt-en-eu", device="cpu", batch_size=16))


@pytest.fixture(scope="session")
def demo_chat_path() -> Path:
    from factory.demo.model import ensure_demo_model

    return ensure_demo_model()
