"""What each OpenAI-compatible server accepts, and how to tell which one answers at a URL.

The OpenAI completions API is a common core (`model`, `prompt`, `max_tokens`, `temperature`,
`top_p`, `n`, `stop`, `seed`); servers differ in the rest. Sending a field a server does not
know is an error on some (`transformers serve`: 422 "Unexpected fields"), so the openai engine
sends an extension only where the profile of the server says it is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

ServerName = Literal["vllm", "sglang", "llamacpp", "transformers", "openai"]
SERVERS: tuple[str, ...] = get_args(ServerName)


@dataclass(frozen=True)
class ServerProfile:
    """The request fields one server kind accepts, and its default concurrency."""

    name: str
    stop_token_ids: bool  # vLLM's `stop_token_ids` extension
    add_special_tokens: bool  # `add_special_tokens: false` keeps the template's BOS the only one
    skip_special_tokens: bool  # `skip_special_tokens: true`: no special tokens in the text
    n: bool  # several choices per request (otherwise: one request per choice)
    token_prompts: bool  # `prompt` as a list of token ids
    max_stop: int | None  # most stop strings per request (OpenAI's API: 4); the rest are cut here
    concurrency: int  # requests in flight by default (vLLM and SGLang batch hundreds)


PROFILES: dict[str, ServerProfile] = {
    "vllm": ServerProfile("vllm", True, True, True, True, True, None, 256),
    "sglang": ServerProfile("sglang", True, False, True, True, True, None, 256),
    # llama.cpp: one choice per request ("Only one completion choice is allowed"), a few slots
    "llamacpp": ServerProfile("llamacpp", False, False, False, False, True, None, 8),
    # transformers serve: string prompts, one choice, unknown fields refused; it seeds torch's
    # global generator per request, so requests in parallel would race for it
    "transformers": ServerProfile("transformers", False, False, False, False, False, None, 1),
    # the OpenAI API itself, and the fallback for servers not recognised: the documented core only
    "openai": ServerProfile("openai", False, False, False, True, True, 4, 16),
}

# `owned_by` of the /v1/models entries of servers that say who they are
_OWNERS = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llamacpp"}


def server_from_models(payload: object) -> str | None:
    """The server kind named by a /v1/models answer (`owned_by`), or None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return None
    for entry in payload["data"]:
        owner = str(entry.get("owned_by", "")).lower() if isinstance(entry, dict) else ""
        if owner in _OWNERS:
            return _OWNERS[owner]
    return None
