"""Generation engines behind one interface (`Engine.generate`), and the datatrove executors.

`make_engine(spec)` imports the chosen backend only when called, so `import factory` needs
neither vllm nor a running server.
"""

from factory.engines.base import Engine, Prompt
from factory.engines.spec import DEMO_MODEL, Completion, EngineSpec, SamplingParams

__all__ = [
    "DEMO_MODEL",
    "Completion",
    "Engine",
    "EngineSpec",
    "Prompt",
    "SamplingParams",
    "make_engine",
    "preflight",
]


def make_engine(spec: EngineSpec) -> Engine:
    """The engine `spec.type` names; a backend that is not installed raises `MissingDependency`."""
    if spec.type == "vllm":
        from factory.engines.vllm_engine import VllmEngine

        return VllmEngine(spec)
    if spec.type == "openai":
        from factory.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(spec)
    from factory.engines.transformers_engine import TransformersEngine

    return TransformersEngine(spec)


def preflight(spec: EngineSpec) -> None:
    """Fail before any stage runs when the engine cannot work: an openai server that is down,
    refuses the key or is not OpenAI-compatible is one `EngineError` line (exit 2)."""
    if spec.type == "openai":
        make_engine(spec).close()
