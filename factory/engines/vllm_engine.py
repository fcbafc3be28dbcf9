"""Offline generation with `vllm.LLM` (GPU only; the `vllm` extra: pip install 'latxa-factory[vllm]').

vLLM is imported only when this engine is made, so `import factory` works without it.

One `LLM` per process: vLLM does not give back the GPU memory of an `LLM` that is dropped
(vllm#6544), so the instruction and response stages of one task share the model that the first
one loaded (`close()` leaves it loaded; a different model replaces it).

Seeds: one per call (a Magpie chunk). Before each call the workers' random generators are
seeded with it (`collective_rpc`), and requests carry no seed of their own: a per-request seed
takes vLLM's sampler off its batched path (its own comment: "This can be slow"). The same chunk
then samples the same texts on the same hardware and software, and a resumed build repeats the
chunks it redoes. Where `collective_rpc` is missing (old vLLM), each request gets its own seed.

To share one model across many tasks or jobs, run `vllm serve MODEL` once and point the recipes
at it with `engine.type: openai` and `engine.base_url: http://HOST:8000/v1` (the openai engine).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from factory.builds.seeds import derive_seed
from factory.engines.base import Engine, Prompt, cut_at_stop, prompt_seed
from factory.engines.spec import Completion, EngineSpec, SamplingParams
from factory.errors import MissingDependency

EXTRA = "'latxa-factory[vllm]'"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# the process's one LLM: (load key, LLM)
_LOADED: dict[str, tuple[tuple, object]] = {}


def import_vllm():
    try:
        import vllm
    except ImportError:
        raise MissingDependency("vllm", EXTRA, "engine.type vllm") from None
    return vllm


def _load_key(spec: EngineSpec) -> tuple:
    return (
        spec.model,
        spec.revision,
        spec.dtype,
        spec.tensor_parallel_size,
        spec.enable_prefix_caching,
        spec.max_model_len,
        spec.gpu_memory_utilization,
    )


def shared_llm(spec: EngineSpec, vllm):
    """The process's `LLM` for `spec`, built on first use; another spec replaces it."""
    key = _load_key(spec)
    held = _LOADED.get("llm")
    if held is not None and held[0] == key:
        return held[1]
    if held is not None:
        _LOADED.clear()
        _free_gpu_memory()
    options = {} if spec.max_model_len is None else {"max_model_len": spec.max_model_len}
    llm = vllm.LLM(
        model=spec.model,
        revision=spec.revision,
        tokenizer_revision=spec.revision,
        dtype=spec.dtype,
        tensor_parallel_size=spec.tensor_parallel_size,
        enable_prefix_caching=spec.enable_prefix_caching,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        **options,
    )
    _LOADED["llm"] = (key, llm)
    return llm


def _free_gpu_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def loaded_revision(model: str, revision: str | None) -> str | None:
    """The commit of the snapshot a model id (or a local snapshot folder) was loaded from.

    A hub model is loaded from `HF_HUB_CACHE/models--ORG--NAME/snapshots/COMMIT`, and the ref
    asked for (`main` when none) is recorded in `refs/`; a commit given as the revision is itself.
    None when it cannot be known (a plain local folder).
    """
    if revision and _COMMIT.match(revision):
        return revision
    path = Path(model)
    if path.is_dir():
        resolved = path.resolve()
        if resolved.parent.name == "snapshots" and _COMMIT.match(resolved.name):
            return resolved.name
        return None
    from huggingface_hub import constants

    ref = Path(constants.HF_HUB_CACHE) / f"models--{model.replace('/', '--')}" / "refs"
    ref_file = ref / (revision or "main")
    if ref_file.is_file():
        commit = ref_file.read_text().strip()
        return commit if _COMMIT.match(commit) else None
    return None


def _seed_worker(worker, seed: int) -> None:
    """Runs inside each vLLM worker: seed the generators its sampler draws from."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class VllmEngine(Engine):
    """`vllm.LLM(model, revision, tensor_parallel_size, enable_prefix_caching, ...)`, one `generate` per call."""

    def __init__(self, spec: EngineSpec):
        vllm = import_vllm()  # (EngineSpec already refuses the demo model here)
        self._setup(spec, vllm, shared_llm(spec, vllm))

    @classmethod
    def from_llm(cls, spec: EngineSpec, llm, vllm) -> VllmEngine:
        """An engine around an already built `LLM` (tests pass a stand-in without a GPU)."""
        engine = cls.__new__(cls)
        engine._setup(spec, vllm, llm)
        return engine

    def _setup(self, spec: EngineSpec, vllm, llm) -> None:
        self.spec, self._vllm, self.llm = spec, vllm, llm
        self.tokenizer = llm.get_tokenizer()
        config = llm.llm_engine.model_config
        self.model_id = spec.model
        # what was loaded, not what the recipe asked for (None for an unpinned recipe)
        self.model_revision = loaded_revision(
            getattr(config, "model", spec.model), getattr(config, "revision", spec.revision)
        ) or loaded_revision(spec.model, spec.revision)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        # tokenize text ourselves: vLLM would add a BOS in front of the template's own
        ids = [
            self.tokenizer.encode(p, add_special_tokens=False) if isinstance(p, str) else list(p)
            for p in prompts
        ]
        if params.first_token_logit_bias:
            return self._first_token_biased(ids, params)
        return [
            [self._completion(out, c, list(c.token_ids), c.text) for c in _choices(out)]
            for out in self._generate(ids, params)
        ]

    def _generate(self, ids: list[list[int]], params: SamplingParams, logit_bias=None) -> list:
        vllm = self._vllm
        per_call = params.seed is not None and hasattr(self.llm, "collective_rpc")
        if per_call:
            self.llm.collective_rpc(_seed_worker, args=(params.seed,))

        def sampling(seed: int | None):
            extra = {"logit_bias": logit_bias} if logit_bias else {}
            return vllm.SamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                stop=params.stop or None,
                stop_token_ids=params.stop_token_ids or None,
                seed=seed,
                **extra,
            )

        if per_call or params.seed is None:
            batch = sampling(None)  # one SamplingParams for all: vLLM's batched sampler
        else:
            batch = [sampling(prompt_seed(params.seed, i)) for i in range(len(ids))]
        requests = [{"prompt_token_ids": p} for p in ids]
        return self.llm.generate(requests, batch, use_tqdm=False)

    def _first_token_biased(
        self, ids: list[list[int]], params: SamplingParams
    ) -> list[list[Completion]]:
        """The bias at the first position only, in two passes: one token with vLLM's
        `logit_bias`, then each completion continued from its prompt plus that token, unbiased
        (vLLM's `logit_bias` applies at every position; prefix caching makes the second pass
        reuse the prompt). Same distribution as a first-position-only logits processor."""
        firsts = self._generate(
            ids,
            params.model_copy(update={"max_tokens": 1}),
            {int(k): float(v) for k, v in params.first_token_logit_bias.items()},
        )
        heads = [(i, c) for i, out in enumerate(firsts) for c in _choices(out)]
        open_ = [(i, c) for i, c in heads if c.token_ids and c.finish_reason == "length"]
        rest = {}
        if open_ and params.max_tokens > 1:
            seed = None if params.seed is None else derive_seed(params.seed, "after-first-token")
            outs = self._generate(
                [ids[i] + [c.token_ids[0]] for i, c in open_],
                params.model_copy(
                    update={"n": 1, "max_tokens": params.max_tokens - 1, "seed": seed}
                ),
            )
            rest = {(i, c.index): _choices(out)[0] for (i, c), out in zip(open_, outs)}
        results: list[list[Completion]] = [[] for _ in ids]
        for (i, head), out in zip(heads, (firsts[i] for i, _ in heads)):
            tail = rest.get((i, head.index))
            if tail is None:
                results[i].append(self._completion(out, head, list(head.token_ids), head.text))
                continue
            token_ids = [head.token_ids[0], *tail.token_ids]
            text, _ = cut_at_stop(
                self.tokenizer.decode(token_ids, skip_special_tokens=True), params.stop
            )
            results[i].append(self._completion(out, tail, token_ids, text))
        return results

    @staticmethod
    def _completion(out, choice, token_ids: list[int], text: str) -> Completion:
        return Completion(
            text=text,
            token_ids=token_ids,
            finish_reason="length" if choice.finish_reason == "length" else "stop",
            prompt_tokens=len(out.prompt_token_ids or []),
            completion_tokens=len(token_ids),
        )

    def close(self) -> None:
        """Keeps the process's `LLM` loaded for the next stage (vLLM cannot free it anyway)."""


def _choices(out) -> list:
    return sorted(out.outputs, key=lambda c: c.index)
