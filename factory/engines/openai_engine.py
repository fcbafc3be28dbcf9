"""The `/v1/completions` endpoint of an OpenAI-compatible server (vllm serve, SGLang, llama.cpp).

Raw prompts, not chat: Magpie's pre-query templates need the model to continue a bare user
header, which chat-only endpoints cannot do. One request per prompt (with `n` choices), at most
`spec.concurrency` in flight. The API key is read from the environment variable named by
`spec.api_key_env` and is never logged or stored on the engine's public attributes.

Token ids: the completions API returns text only. When `spec.model` is a local folder its
tokenizer is loaded and `token_ids` are the re-encoded text; otherwise `token_ids` is empty and
`completion_tokens` comes from the server's `usage`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from factory.engines.base import Engine, Prompt, prompt_seed
from factory.engines.spec import Completion, EngineSpec, SamplingParams
from factory.errors import EngineError, MissingDependency


class OpenAIEngine(Engine):
    """Sends each prompt to `{base_url}/completions` and maps the choices to `Completion`s."""

    def __init__(self, spec: EngineSpec):
        try:
            import httpx
        except ImportError:
            raise MissingDependency("httpx", "httpx", "engine.type openai") from None
        self.spec = spec
        self.model_id, self.model_revision = spec.model, spec.revision
        headers = {}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise EngineError(
                    f"engine.api_key_env: the environment variable {spec.api_key_env} is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            base_url=spec.base_url.rstrip("/"),
            headers=headers,
            timeout=spec.request_timeout_s,
            limits=httpx.Limits(max_connections=spec.concurrency),
        )
        self._httpx = httpx
        self.tokenizer = _local_tokenizer(spec.model)

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        seeds = [prompt_seed(params.seed, i) for i in range(len(prompts))]
        with ThreadPoolExecutor(max_workers=self.spec.concurrency) as pool:
            return list(pool.map(self._one, prompts, [params] * len(prompts), seeds))

    def _one(self, prompt: Prompt, params: SamplingParams, seed: int | None) -> list[Completion]:
        body = {
            "model": self.spec.model,
            "prompt": prompt if isinstance(prompt, str) else list(prompt),
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": params.n,
        }
        if params.stop:
            body["stop"] = params.stop
        if params.stop_token_ids:
            body["stop_token_ids"] = params.stop_token_ids  # vLLM/SGLang extension
        if seed is not None:
            body["seed"] = seed
        url = f"{self.spec.base_url.rstrip('/')}/completions"
        try:
            response = self._client.post("/completions", json=body)
        except self._httpx.HTTPError as error:
            raise EngineError(
                f"engine.base_url: request to {url} failed ({type(error).__name__}: {error})"
            ) from None
        if response.status_code != 200:
            raise EngineError(
                f"engine.base_url: {url} answered {response.status_code}: {response.text[:200]}"
            )
        data = response.json()
        choices = sorted(data.get("choices", []), key=lambda c: c.get("index", 0))
        if len(choices) != params.n:
            raise EngineError(
                f"engine.base_url: {url} returned {len(choices)} choices for n={params.n}"
            )
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        completion_total = int(usage.get("completion_tokens", 0))
        return [self._completion(c, prompt_tokens, completion_total // params.n) for c in choices]

    def _completion(self, choice: dict, prompt_tokens: int, usage_tokens: int) -> Completion:
        text = choice.get("text") or ""
        ids = (
            self.tokenizer.encode(text, add_special_tokens=False)
            if self.tokenizer is not None
            else []
        )
        return Completion(
            text=text,
            token_ids=ids,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(ids) if self.tokenizer is not None else usage_tokens,
        )

    def close(self) -> None:
        self._client.close()


def _local_tokenizer(model: str):
    """The model's tokenizer when `model` is a local folder; never downloads."""
    if not Path(model).is_dir():
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)
