"""The `Engine` interface every generation backend implements, and helpers they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from factory.builds.seeds import derive_seed
from factory.engines.spec import Completion, EngineSpec, SamplingParams

Prompt = str | list[int]


class Engine(ABC):
    """Prompts (raw text or token ids) plus sampling parameters -> completions.

    Text prompts are used exactly as given: no chat template and no BOS token are added
    (Magpie's pre-query templates already start with the model's BOS).

    Attributes:
        spec: the recipe's `engine:` section.
        model_id: the model's name for lineage (e.g. `latxa-factory/demo-tiny-eu`).
        model_revision: the resolved revision (a commit, or the demo model's content hash), or None.
        tokenizer: a transformers tokenizer (chat templates, token ids), or None when unavailable.
    """

    spec: EngineSpec
    model_id: str
    model_revision: str | None
    tokenizer: Any

    @abstractmethod
    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        """One list of `params.n` completions per prompt, in prompt order."""

    def close(self) -> None:
        """Free what the engine holds (GPU memory, connections); the default holds nothing."""


def prompt_seed(seed: int | None, index: int) -> int | None:
    """A seed per prompt for backends that seed each request (vllm, openai).

    Magpie sends the same prompt many times; one shared seed would make them all identical.
    """
    return None if seed is None else derive_seed(seed, "prompt", index)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` cut before the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
