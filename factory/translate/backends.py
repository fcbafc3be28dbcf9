"""Translation backends behind one call: `translate(texts, seed) -> [Completion]`.

* `LLMBackend`: any engine of `factory.engines` (transformers, vllm, openai server), each text
  wrapped in the recipe's prompt through the model's chat template; vLLM batches the whole list.
* `Seq2SeqEngine`: an `Engine` over a transformers sequence-to-sequence MT model (Marian, NLLB);
  the "prompt" is the source text itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from factory.builds.seeds import derive_seed
from factory.engines.base import Engine, Prompt
from factory.engines.spec import Completion, EngineSpec, SamplingParams
from factory.errors import EngineError, MissingDependency
from factory.translate.recipe import DEMO_MT_MODEL, PromptSpec, Sampling, Seq2SeqSpec, TranslateSpec


class Seq2SeqEngine(Engine):
    """Batched `model.generate` of an encoder-decoder MT model; greedy or beam search."""

    def __init__(self, spec: Seq2SeqSpec):
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError:
            raise MissingDependency(
                "transformers", "'latxa-factory'", "The seq2seq translation backend"
            ) from None
        self.mt_spec = spec
        self._torch = torch
        if spec.model == DEMO_MT_MODEL:
            from factory.demo.mt_model import (
                DEMO_MT_MODEL_ID,
                demo_mt_revision,
                ensure_demo_mt_model,
            )

            path, revision = str(ensure_demo_mt_model()), None
            self.model_id, self.model_revision = DEMO_MT_MODEL_ID, demo_mt_revision()
        else:
            path, revision = spec.model, spec.revision
            self.model_id, self.model_revision = spec.model, spec.revision
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
            dtype = "auto" if spec.dtype == "auto" else getattr(torch, spec.dtype)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(path, revision=revision, dtype=dtype)
        except (OSError, ValueError) as error:
            raise EngineError(
                f"translate.seq2seq.model {spec.model!r}: cannot load it as a seq2seq model ({error})"
            ) from None
        commit = getattr(self.model.config, "_commit_hash", None)
        if commit and spec.model != DEMO_MT_MODEL:
            self.model_revision = commit
        device = spec.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.model.to(device).eval()
        if spec.source_code and hasattr(self.tokenizer, "src_lang"):
            self.tokenizer.src_lang = spec.source_code
        self._forced_bos = None
        if spec.target_code:
            token_id = self.tokenizer.convert_tokens_to_ids(spec.target_code)
            if token_id is None or token_id == self.tokenizer.unk_token_id:
                raise EngineError(
                    f"translate.seq2seq.target_code {spec.target_code!r} is not a token of {spec.model}'s tokenizer"
                )
            self._forced_bos = token_id
        self._eos = self.model.generation_config.eos_token_id

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        texts = [p if isinstance(p, str) else self.tokenizer.decode(p) for p in prompts]
        out: list[list[Completion]] = []
        size = self.mt_spec.batch_size
        for index, start in enumerate(range(0, len(texts), size)):
            if params.seed is not None:
                self._torch.manual_seed(derive_seed(params.seed, "batch", index))
            out.extend([c] for c in self._batch(texts[start : start + size], params))
        return out

    def _batch(self, texts: list[str], params: SamplingParams) -> list[Completion]:
        torch = self._torch
        enc = self.tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=getattr(self.model.config, "max_position_embeddings", 1024),
        )
        # no forced EOS at max_tokens (Marian checkpoints set one): a cut translation must say `length`
        extra: dict = {"forced_eos_token_id": None}
        if self._forced_bos is not None:
            extra["forced_bos_token_id"] = self._forced_bos
        sampling = (
            {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p}
            if params.temperature > 0
            else {"do_sample": False, "num_beams": self.mt_spec.num_beams}
        )
        with torch.inference_mode():
            output = self.model.generate(
                **{k: v.to(self.device) for k, v in enc.items()},
                max_new_tokens=params.max_tokens,
                **sampling,
                **extra,
            )
        eos = set(self._eos if isinstance(self._eos, list) else [self._eos])
        pad = self.tokenizer.pad_token_id
        results = []
        for row, prompt_ids in zip(output.tolist(), enc["input_ids"].tolist()):
            ids = row[1:]  # the decoder start token
            finished = any(t in eos for t in ids)
            body = []
            for t in ids:
                if t in eos:
                    break
                body.append(t)
            body = [t for t in body if t != pad]
            results.append(
                Completion(
                    text=self.tokenizer.decode(body, skip_special_tokens=True).strip(),
                    token_ids=body,
                    finish_reason="stop" if finished else "length",
                    prompt_tokens=sum(1 for t in prompt_ids if t != pad),
                    completion_tokens=len(body) + (1 if finished else 0),
                )
            )
        return results


class LLMBackend:
    """Wraps each text in the prompt (system, few-shot turns, instruction) and generates."""

    def __init__(self, engine: Engine, prompt: PromptSpec, spec: TranslateSpec):
        self.engine = engine
        self.prompt = prompt
        self.names = {"source_name": spec.source_name, "target_name": spec.target_name}
        tokenizer = engine.tokenizer
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise EngineError(
                f"translate.engine.model {spec.model_name!r}: the llm backend needs the model's chat "
                "template, but the engine has no tokenizer with one (give a local model folder)"
            )
        self.tokenizer = tokenizer

    def prompt_for(self, text: str) -> str:
        messages = []
        if self.prompt.system:
            messages.append({"role": "system", "content": self._fill(self.prompt.system)})
        for shot in self.prompt.few_shot:
            messages.append({"role": "user", "content": self._instruction(shot.source)})
            messages.append({"role": "assistant", "content": shot.target})
        messages.append({"role": "user", "content": self._instruction(text)})
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def _fill(self, template: str) -> str:
        # str.replace, not format: prompts and texts may hold braces (placeholders, code)
        for key, value in self.names.items():
            template = template.replace("{" + key + "}", value)
        return template

    def _instruction(self, text: str) -> str:
        return self._fill(self.prompt.instruction).replace("{text}", text)

    def translate(self, texts: list[str], sampling: Sampling, seed: int) -> list[Completion]:
        prompts = [
            self.tokenizer(self.prompt_for(t), add_special_tokens=False)["input_ids"] for t in texts
        ]
        params = SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=seed,
        )
        return [c[0] for c in self.engine.generate(prompts, params)] if prompts else []


class Seq2SeqBackend:
    def __init__(self, engine: Engine):
        self.engine = engine

    def translate(self, texts: list[str], sampling: Sampling, seed: int) -> list[Completion]:
        params = SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=seed,
        )
        return [c[0] for c in self.engine.generate(texts, params)] if texts else []


def make_backend(spec: TranslateSpec):
    """The backend the recipe names, its model loaded."""
    if spec.backend == "seq2seq":
        return Seq2SeqBackend(Seq2SeqEngine(spec.seq2seq))  # type: ignore[arg-type]
    from factory.engines import make_engine

    return LLMBackend(make_engine(spec.engine), spec.prompt, spec)  # type: ignore[arg-type]


__all__ = ["EngineSpec", "LLMBackend", "Seq2SeqBackend", "Seq2SeqEngine", "make_backend"]
