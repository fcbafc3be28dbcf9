"""`make_engine` picks the backend lazily and explains a missing one in one line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from factory.engines import EngineSpec, make_engine
from factory.errors import EngineError, FactoryError, MissingDependency


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_missing_names_the_extra():
    with pytest.raises(MissingDependency) as caught:
        make_engine(EngineSpec(type="vllm", model="meta-llama/Llama-3.1-8B-Instruct"))
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "engine.type vllm needs the Python module `vllm`, which is not installed: pip install 'latxa-factory[vllm]'"
    )
    assert isinstance(caught.value, FactoryError)


def test_importing_engines_loads_no_backend():
    code = (
        "import sys, factory.engines; "
        "print(sorted(m for m in ('torch', 'transformers', 'vllm', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_openai_key_variable_must_be_set(monkeypatch):
    monkeypatch.delenv("LATXA_TEST_KEY", raising=False)
    spec = EngineSpec(
        type="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key_env="LATXA_TEST_KEY"
    )
    with pytest.raises(EngineError, match="LATXA_TEST_KEY is not set"):
        make_engine(spec)


def test_unreachable_server_is_one_engine_error():
    spec = EngineSpec(
        type="openai", model="m", base_url="http://127.0.0.1:9/v1", request_timeout_s=5
    )
    with pytest.raises(EngineError) as caught:
        make_engine(spec)  # the first contact (server detection) finds it down
    message = str(caught.value)
    assert message.startswith("engine.base_url: cannot reach http://127.0.0.1:9/v1/models (")
    assert "is the server running?" in message and "\n" not in message


def test_unloadable_model_is_one_engine_error(tmp_path):
    with pytest.raises(EngineError, match="cannot load it with transformers"):
        make_engine(EngineSpec(model=str(tmp_path / "nothing-here"), device="cpu"))
