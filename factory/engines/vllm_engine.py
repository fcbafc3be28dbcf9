"""Offline generation with `vllm.LLM` (GPU only; the `vllm` extra: pip install 'latxa-factory[vllm]').

vLLM is imported only when this engine is made, so `import factory` works without it.
Each prompt gets its own seed derived from `SamplingParams.seed` and its index, so repeated
Magpie prompts still sample different instructions and a rerun reproduces them.
"""

from __future__ import annotations

from collections.abc import Sequence

from factory.engines.base import Engine, Prompt, prompt_seed
from factory.engines.spec import Completion, EngineSpec, SamplingParams
from factory.errors import MissingDependency

EXTRA = "'latxa-factory[vllm]'"


def import_vllm():
    try:
        import vllm
    except ImportError:
        raise MissingDependency("vllm", EXTRA, "engine.type vllm") from None
    return vllm


class VllmEngine(Engine):
    """`vllm.LLM(model, revision, tensor_parallel_size, enable_prefix_caching, ...)`, one `generate` per call."""

    def __init__(self, spec: EngineSpec):
        vllm = import_vllm()  # (EngineSpec already refuses the demo model here)
        self.spec = spec
        self._vllm = vllm
        options = {} if spec.max_model_len is None else {"max_model_len": spec.max_model_len}
        self.llm = vllm.LLM(
            model=spec.model,
            revision=spec.revision,
            tokenizer_revision=spec.revision,
            dtype=spec.dtype,
            tensor_parallel_size=spec.tensor_parallel_size,
            enable_prefix_caching=spec.enable_prefix_caching,
            gpu_memory_utilization=spec.gpu_memory_utilization,
            **options,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.model_id, self.model_revision = spec.model, spec.revision

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        vllm = self._vllm
        # tokenize text ourselves: vLLM would add a BOS in front of the template's own
        requests = [
            {
                "prompt_token_ids": self.tokenizer.encode(p, add_special_tokens=False)
                if isinstance(p, str)
                else list(p)
            }
            for p in prompts
        ]
        sampling = [
            vllm.SamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                stop=params.stop or None,
                stop_token_ids=params.stop_token_ids or None,
                seed=prompt_seed(params.seed, i),
            )
            for i in range(len(prompts))
        ]
        outputs = self.llm.generate(requests, sampling, use_tqdm=False)
        return [
            [
                Completion(
                    text=c.text,
                    token_ids=list(c.token_ids),
                    finish_reason="length" if c.finish_reason == "length" else "stop",
                    prompt_tokens=len(out.prompt_token_ids or []),
                    completion_tokens=len(c.token_ids),
                )
                for c in sorted(out.outputs, key=lambda c: c.index)
            ]
            for out in outputs
        ]
