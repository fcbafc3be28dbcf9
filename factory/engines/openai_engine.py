"""OpenAI-compatible servers: `vllm serve`, SGLang, llama.cpp's server, `transformers serve`, OpenAI.

Raw text prompts go to `/v1/completions` (Magpie's pre-query templates need the model to continue
a bare user header); `chat()` uses `/v1/chat/completions`, for the response step when no local
tokenizer (with the model's chat template) is at hand. What a request carries beyond the API's
core depends on the server (`servers.py`): `engine.server` names it, or `auto` asks the server.

Requests: one per prompt (one per choice where the server returns one choice only), at most
`concurrency` in flight; 429, 5xx, timeouts and dropped connections are retried with exponential
backoff within `request_budget_s`; anything else fails at once as one line naming the URL and
the server's answer. The API key is read from the environment variable `spec.api_key_env` names
and is never logged nor kept on the engine's public attributes.

BOS: templates carry their own. vLLM is told `add_special_tokens: false`; for other servers a
leading BOS is removed from the text when the server's tokenizer adds one itself (known from
the local tokenizer when `model` is a local folder, else assumed for the usual BOS strings).

Token ids: the API returns text only. When `model` is a local folder its tokenizer is loaded and
`token_ids` are the re-encoded text; otherwise `token_ids` is empty and `completion_tokens`
comes from the server's `usage`.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from factory.builds.seeds import derive_seed
from factory.engines.base import Engine, Prompt, cut_at_stop, prompt_seed
from factory.engines.servers import PROFILES, ServerProfile, server_from_models
from factory.engines.spec import Completion, EngineSpec, SamplingParams
from factory.errors import EngineError, MissingDependency

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
# BOS strings of the template families, stripped for servers that add their own BOS when there
# is no local tokenizer to ask
KNOWN_BOS = ("<|begin_of_text|>", "<bos>", "<s>")
_CLOSE = {"Connection": "close"}


class OpenAIEngine(Engine):
    """Sends prompts to `{base_url}/completions` (or chats to `/chat/completions`)."""

    def __init__(self, spec: EngineSpec):
        try:
            import httpx
        except ImportError:
            raise MissingDependency("httpx", "httpx", "engine.type openai") from None
        self.spec = spec
        self.model_id, self.model_revision = spec.model, spec.revision
        self.base_url = spec.base_url.rstrip("/")
        headers = {}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise EngineError(
                    f"engine.api_key_env: the environment variable {spec.api_key_env} is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._httpx = httpx
        self.tokenizer = _local_tokenizer(spec.model)
        self.server = spec.server if spec.server != "auto" else None
        self.profile: ServerProfile = PROFILES[self.server or "openai"]
        self.concurrency = spec.concurrency or self.profile.concurrency
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=spec.request_timeout_s,
            limits=httpx.Limits(max_connections=max(self.concurrency, 1)),
        )
        self.server = detect_server(self) if self.server is None else self.server
        self.profile = PROFILES[self.server]
        self.concurrency = spec.concurrency or self.profile.concurrency
        self._bos = self._bos_added_by_server()

    # ---------------------------------------------------------------- public API

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[list[Completion]]:
        bodies = [self._completion_body(p, params) for p in prompts]
        return self._fan_out("/completions", bodies, params, chat=False)

    def chat(self, chats: Sequence[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        """One list of `params.n` completions per conversation (the server's chat template)."""
        bodies = [{"messages": list(chat)} for chat in chats]
        return self._fan_out("/chat/completions", bodies, params, chat=True)

    def close(self) -> None:
        self._client.close()

    # ---------------------------------------------------------------- requests

    def _fan_out(
        self, path: str, bodies: list[dict], params: SamplingParams, *, chat: bool
    ) -> list[list[Completion]]:
        """Each body as its requests (seeded per prompt, and per choice when n is fanned out)."""
        per_request_n = params.n if self.profile.n else 1
        jobs = []
        for i, body in enumerate(bodies):
            seed = prompt_seed(params.seed, i)
            for j in range(params.n // per_request_n):
                choice_seed = seed if per_request_n == params.n else _choice_seed(seed, j)
                jobs.append(self._request_body(body, params, per_request_n, choice_seed))
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            answers = list(pool.map(lambda b: self._one(path, b, params, chat), jobs))
        flat = [c for answer in answers for c in answer]
        return [flat[i * params.n : (i + 1) * params.n] for i in range(len(bodies))]

    def _completion_body(self, prompt: Prompt, params: SamplingParams) -> dict:
        if isinstance(prompt, str):
            body: dict = {"prompt": self._text(prompt)}
        elif self.profile.token_prompts:
            body = {"prompt": list(prompt)}
        elif self.tokenizer is not None:
            text = self.tokenizer.decode(list(prompt), skip_special_tokens=False)
            body = {"prompt": self._text(text)}
        else:
            raise EngineError(
                f"engine.server {self.server}: this server takes text prompts only, and token ids "
                "cannot be decoded without a local tokenizer (give engine.model as a local folder)"
            )
        if self.profile.add_special_tokens:
            body["add_special_tokens"] = False
        return body

    def _request_body(self, body: dict, params: SamplingParams, n: int, seed: int | None) -> dict:
        full = {
            "model": self.spec.model,
            **body,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if n != 1 or self.profile.n:
            full["n"] = n
        stop = self._stop_strings(params)
        if stop:
            full["stop"] = stop if self.profile.max_stop is None else stop[: self.profile.max_stop]
        if params.stop_token_ids and self.profile.stop_token_ids:
            full["stop_token_ids"] = params.stop_token_ids
        if self.profile.skip_special_tokens:
            full["skip_special_tokens"] = True
        if seed is not None:
            full["seed"] = seed
        return full

    def _stop_strings(self, params: SamplingParams) -> list[str]:
        """The stop strings, plus the stop token ids as text where the server takes no ids."""
        stop = list(params.stop)
        if params.stop_token_ids and not self.profile.stop_token_ids and self.tokenizer is not None:
            for token in self.tokenizer.convert_ids_to_tokens(params.stop_token_ids):
                if token and token not in stop:
                    stop.append(token)
        return stop

    def _one(self, path: str, body: dict, params: SamplingParams, chat: bool) -> list[Completion]:
        data = self._post(path, body)
        url = self.base_url + path
        choices = data.get("choices")
        if not isinstance(choices, list):
            raise EngineError(
                f"engine.base_url: {url} answered without `choices`; not an OpenAI-compatible server? "
                f"({_short(json.dumps(data))})"
            )
        n = body.get("n", 1)
        if len(choices) != n:
            raise EngineError(f"engine.base_url: {url} returned {len(choices)} choices for n={n}")
        choices = sorted(choices, key=lambda c: c.get("index", 0))
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        usage_tokens = int(usage.get("completion_tokens") or 0) // n
        return [self._completion(c, prompt_tokens, usage_tokens, params, chat) for c in choices]

    def _post(self, path: str, body: dict) -> dict:
        """POST with retries on transient failures, within `request_budget_s`."""
        httpx = self._httpx
        url = self.base_url + path
        deadline = time.monotonic() + self.spec.request_budget_s
        attempt = 0
        while True:
            try:
                response = self._client.post(path, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                problem = f"{type(error).__name__}: {error}"
                retry_after = None
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise EngineError(
                            f"engine.base_url: {url} answered 200 with no JSON; not an "
                            f"OpenAI-compatible server? ({_short(response.text)})"
                        ) from None
                if response.status_code not in RETRY_STATUS:
                    raise EngineError(
                        f"engine.base_url: {url} answered {response.status_code}: {_short(response.text)}"
                    )
                problem = f"{response.status_code}: {_short(response.text)}"
                retry_after = _retry_after(response)
            wait = retry_after if retry_after is not None else _backoff(attempt)
            if time.monotonic() + wait > deadline:
                raise EngineError(
                    f"engine.base_url: {url} still failing after {attempt + 1} attempts in "
                    f"{self.spec.request_budget_s:g}s (engine.request_budget_s); last: {problem}"
                )
            time.sleep(wait)
            attempt += 1

    def _completion(
        self,
        choice: dict,
        prompt_tokens: int,
        usage_tokens: int,
        params: SamplingParams,
        chat: bool,
    ) -> Completion:
        text = ((choice.get("message") or {}).get("content") if chat else choice.get("text")) or ""
        # some servers leave the stop string in the text (transformers serve) or get only the
        # first 4 (OpenAI): cut here as every engine does
        text, hit_stop = cut_at_stop(text, self._stop_strings(params))
        ids = (
            self.tokenizer.encode(text, add_special_tokens=False)
            if self.tokenizer is not None
            else []
        )
        stopped = hit_stop or choice.get("finish_reason") != "length"
        return Completion(
            text=text,
            token_ids=ids,
            finish_reason="stop" if stopped else "length",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(ids) if self.tokenizer is not None else usage_tokens,
        )

    # ---------------------------------------------------------------- BOS

    def _text(self, prompt: str) -> str:
        for bos in self._bos:
            if prompt.startswith(bos):
                return prompt[len(bos) :]
        return prompt

    def _bos_added_by_server(self) -> tuple[str, ...]:
        """BOS texts to strip from prompts because the server's tokenizer adds its own."""
        if self.profile.add_special_tokens:
            return ()
        tok = self.tokenizer
        if tok is None:
            return KNOWN_BOS  # nothing to ask: the usual case (Llama, Gemma, Mistral add a BOS)
        if tok.bos_token and tok.bos_token_id is not None:
            ids = tok("a")["input_ids"]
            if ids and ids[0] == tok.bos_token_id:
                return (tok.bos_token,)
        return ()


def detect_server(engine: OpenAIEngine) -> str:
    """Which server answers at `base_url`: its /v1/models `owned_by`, else route fingerprints.

    A server that cannot be reached, refuses the key, or does not look OpenAI-compatible is one
    `EngineError` line naming the URL and its answer.
    """
    httpx = engine._httpx
    url = engine.base_url + "/models"
    probe_timeout = min(engine.spec.request_timeout_s, 30)
    try:
        # (a fresh connection each: some servers drop the connection after answering 500)
        response = engine._client.get("/models", timeout=probe_timeout, headers=_CLOSE)
    except httpx.HTTPError as error:
        raise EngineError(
            f"engine.base_url: cannot reach {url} ({type(error).__name__}: {error}); is the server running?"
        ) from None
    if response.status_code in (401, 403):
        raise EngineError(
            f"engine.base_url: {url} answered {response.status_code}: {_short(response.text)} "
            "(set engine.api_key_env to the variable holding the key)"
        )
    payload = None
    if response.status_code == 200:
        try:
            payload = response.json()
        except ValueError:
            payload = None
    known = server_from_models(payload)
    if known:
        return known
    # transformers serve: POST-only /v1/systemone answers GET with 405 (404 elsewhere)
    try:
        probe = engine._client.get("/systemone", timeout=probe_timeout, headers=_CLOSE)
        if probe.status_code == 405:
            return "transformers"
    except httpx.HTTPError:
        pass
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        return "openai"
    raise EngineError(
        f"engine.base_url: {url} does not look like an OpenAI-compatible server (answered "
        f"{response.status_code}: {_short(response.text)}); set engine.server to skip detection"
    )


def _choice_seed(seed: int | None, j: int) -> int | None:
    """Choice `j` of a prompt sent as its own request (servers that return one choice)."""
    if seed is None or j == 0:
        return seed
    return derive_seed(seed, "choice", j)


def _backoff(attempt: int) -> float:
    # exponential with jitter: many workers retrying a restarting server spread out
    return min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)


def _retry_after(response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _short(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def _local_tokenizer(model: str):
    """The model's tokenizer when `model` is a local folder; never downloads."""
    if not Path(model).is_dir():
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)
