"""In-process generation with transformers: batched, left-padded `model.generate`, CPU or GPU.

Determinism: with `SamplingParams.seed` set, torch is seeded before every batch from
`derive_seed(seed, "batch", index)`, so the same prompts in the same order with the same
`batch_size`, seed and sampling settings give the same outputs on the same hardware and software.
Outputs depend on the batch a prompt lands in (padding and the shared random stream), so
changing `batch_size` or the prompt list changes them. `seed=None` leaves torch's global
random state as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from factory.builds.seeds import derive_seed
from factory.engines.base import Engine, Prompt, cut_at_stop
from factory.engines.spec import DEMO_MODEL, Completion, EngineSpec, SamplingParams
from factory.errors import EngineError, MissingDependency

_WIDTH_BUCKET = 64  # GPU: prompt widths are padded up to a multiple of this (fewer recompiles)


class TransformersEngine(Engine):
    """Loads `spec.model` with the Auto classes (or builds the demo model) and generates in batches."""

    def __init__(self, spec: EngineSpec):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingDependency(
                "transformers", "'latxa-factory'", "The transformers engine"
            ) from None
        self.spec = spec
        self._torch = torch
        if spec.model == DEMO_MODEL:
            from factory.demo.model import DEMO_MODEL_ID, demo_revision, ensure_demo_model

            path, revision = str(ensure_demo_model()), None
            self.model_id, self.model_revision = DEMO_MODEL_ID, demo_revision()
        else:
            path, revision = spec.model, spec.revision
            self.model_id, self.model_revision = spec.model, spec.revision
        self.device = _pick_device(torch, spec.device)
        dtype = (
            "auto" if spec.dtype == "auto" else getattr(torch, spec.dtype)
        )  # the spec's names are torch's
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one bar per task per stage drowns the build's own progress lines
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
            self.model = AutoModelForCausalLM.from_pretrained(path, revision=revision, dtype=dtype)
        except OSError as error:
            raise EngineError(
                f"engine.model {spec.model!r}: cannot load it with transformers ({error})"
            ) from None
        self._setup(self.model)

    @classmethod
    def from_model(
        cls, spec: EngineSpec, model, tokenizer, *, model_id: str, model_revision: str | None = None
    ) -> TransformersEngine:
        """An engine around an already loaded model (benchmarks build random-weight models in memory)."""
        import torch

        engine = cls.__new__(cls)
        engine.spec, engine._torch, engine.tokenizer, engine.model = spec, torch, tokenizer, model
        engine.model_id, engine.model_revision = model_id, model_revision
        engine.device = _pick_device(torch, spec.device)
        engine._setup(model)
        return engine

    def _setup(self, model) -> None:
        model.to(self.device).eval()
        # a hub checkout knows its commit: record that rather than a branch name
        commit = getattr(model.config, "_commit_hash", None)
        if commit and self.spec.model != DEMO_MODEL:
            self.model_revision = commit
        self._eos_ids = _as_list(model.generation_config.eos_token_id)
        pad = self.tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else (self._eos_ids[0] if self._eos_ids else 0)
        # On GPU: a static KV cache, which makes `generate` compile the decode step (CUDA graphs);
        # fixed shapes (full batches, prompt widths rounded up) keep it from recompiling.
        self._static = self.device.startswith("cuda")

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        encoded = [self._encode(p) for p in prompts]
        # n completions of one prompt are n rows of the batch, next to each other
        rows = [ids for ids in encoded for _ in range(params.n)]
        completions: list[Completion] = []
        size = self.spec.batch_size
        for index, start in enumerate(range(0, len(rows), size)):
            if params.seed is not None:
                self._torch.manual_seed(derive_seed(params.seed, "batch", index))
            completions.extend(self._generate_batch(rows[start : start + size], params))
        return [completions[i * params.n : (i + 1) * params.n] for i in range(len(prompts))]

    def _encode(self, prompt: Prompt) -> list[int]:
        if isinstance(prompt, str):
            # raw text: templates carry their own BOS, so the tokenizer must not add one
            ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        else:
            ids = list(prompt)
        if not ids:
            raise EngineError(
                "engine: an empty prompt cannot be continued (give at least one token)"
            )
        return ids

    def _generate_batch(self, batch: list[list[int]], params: SamplingParams) -> list[Completion]:
        torch = self._torch
        rows = len(batch)
        width = max(map(len, batch))
        extra: dict = {}
        if self._static:
            width = -(-width // _WIDTH_BUCKET) * _WIDTH_BUCKET
            batch = batch + [batch[0]] * (self.spec.batch_size - rows)  # filler rows, dropped below
            extra["cache_implementation"] = "static"
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)  # left padding
            attention_mask[row, width - len(ids) :] = 1
        stop_ids = list(dict.fromkeys(self._eos_ids + params.stop_token_ids))
        sampling = (
            {
                "do_sample": True,
                "temperature": params.temperature,
                "top_p": params.top_p,
                "top_k": None,
            }
            if params.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        if params.stop:
            extra.update(stop_strings=params.stop, tokenizer=self.tokenizer)
        if params.first_token_logit_bias:
            extra["logits_processor"] = _first_token_bias(
                torch, params.first_token_logit_bias, width
            )
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                max_new_tokens=params.max_tokens,
                eos_token_id=stop_ids or None,
                pad_token_id=self._pad_id,
                **sampling,
                **extra,
            )
        new_tokens = output[:rows, width:].tolist()
        return [
            self._completion(ids, len(prompt), stop_ids, params)
            for ids, prompt in zip(new_tokens, batch)
        ]

    def _completion(
        self, ids: list[int], prompt_len: int, stop_ids: list[int], params: SamplingParams
    ) -> Completion:
        # the batch is padded after a row's stop token: keep up to and including it
        stopped_at = next((i for i, t in enumerate(ids) if t in stop_ids), None)
        if stopped_at is not None:
            ids = ids[: stopped_at + 1]
            body = ids[:-1]
        else:
            body = ids
        text = self.tokenizer.decode(body, skip_special_tokens=True)
        text, hit_stop_string = cut_at_stop(text, params.stop)
        if hit_stop_string and stopped_at is None:
            ids = _ids_through_stop(self.tokenizer, ids, params.stop)
        finished = stopped_at is not None or hit_stop_string
        return Completion(
            text=text,
            token_ids=ids,
            finish_reason="stop" if finished else "length",
            prompt_tokens=prompt_len,
            completion_tokens=len(ids),
        )


def _ids_through_stop(tokenizer, ids: list[int], stop: list[str]) -> list[int]:
    """The shortest prefix of `ids` whose text contains a stop string (the tokens generated)."""
    for end in range(1, len(ids) + 1):
        if cut_at_stop(tokenizer.decode(ids[:end], skip_special_tokens=True), stop)[1]:
            return ids[:end]
    return ids


def _first_token_bias(torch, bias: dict[int, float], prompt_width: int):
    """A logits processor adding `bias` at the first generated position only."""
    from transformers import LogitsProcessor, LogitsProcessorList

    ids = torch.tensor(list(bias), dtype=torch.long)
    values = torch.tensor(list(bias.values()), dtype=torch.float32)

    class FirstTokenBias(LogitsProcessor):
        def __call__(self, input_ids, scores):
            if input_ids.shape[1] == prompt_width:
                scores = scores.clone()
                scores[:, ids.to(scores.device)] += values.to(scores.device, scores.dtype)
            return scores

    return LogitsProcessorList([FirstTokenBias()])


def _as_list(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def _pick_device(torch, device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError(
            f"engine.device {device!r}: no CUDA device is available here (use cpu or auto)"
        )
    return device
