"""The engine interface's data: a recipe's `engine:` section, sampling parameters, completions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from factory.recipe_base import StrictModel

DEMO_MODEL = "demo:tiny-eu"  # the special `model` value: the bundled tiny Basque demo model


class SamplingParams(StrictModel):
    """Sampling settings, mapped 1:1 onto vLLM's `SamplingParams` and the OpenAI completions API."""

    temperature: float = Field(
        1.0, ge=0.0, description="Softmax temperature; 0 means greedy decoding."
    )
    top_p: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="Nucleus sampling: keep the smallest token set with this much probability.",
    )
    max_tokens: int = Field(256, ge=1, description="Most new tokens per completion.")
    stop: list[str] = Field(
        default_factory=list,
        description="Stop strings: the text is cut before the first one (not included).",
    )
    stop_token_ids: list[int] = Field(
        default_factory=list,
        description="Token ids that end a completion, on top of the model's own end-of-sequence ids.",
    )
    n: int = Field(1, ge=1, description="Completions per prompt.")
    first_token_logit_bias: dict[int, float] = Field(
        default_factory=dict,
        description="Token id -> value added to its logit at the first generated position only "
        "(Basque steering: a bias against the first tokens of other languages). transformers and vllm engines.",
    )
    seed: int | None = Field(
        None,
        description="Seed for this call; the same prompts, batch and seed give the same outputs on the same hardware.",
    )


class Completion(StrictModel):
    """One generated continuation of one prompt."""

    text: str = Field(
        ..., description="The generated text, stop string and end-of-sequence token left out."
    )
    token_ids: list[int] = Field(
        ..., description="The generated token ids (including the stop token, if one ended it)."
    )
    finish_reason: Literal["stop", "length"] = Field(
        ...,
        description="`stop`: a stop token or stop string ended it; `length`: it reached max_tokens.",
    )
    prompt_tokens: int = Field(..., description="Tokens in the prompt.")
    completion_tokens: int = Field(
        ..., description="Tokens generated (len(token_ids) where the engine knows the ids)."
    )


# how an engine runs, not what it generates: left out of recipe hashes (the work-dir key still
# names the server, see factory/builds)
RUNTIME_FIELDS = (
    "tensor_parallel_size",
    "gpu_memory_utilization",
    "enable_prefix_caching",
    "base_url",
    "api_key_env",
    "request_timeout_s",
    "concurrency",
)


def runtime_paths(prefix: str) -> tuple[str, ...]:
    """`RUNTIME_FIELDS` under the engine section at `prefix` (e.g. `translate.engine`)."""
    return tuple(f"{prefix}.{name}" for name in RUNTIME_FIELDS)


class EngineSpec(StrictModel):
    """The recipe's `engine:` section: which backend generates, with which model."""

    type: Literal["transformers", "vllm", "openai"] = Field(
        "transformers",
        description="`transformers`: in process, CPU or GPU (embedded default); `vllm`: offline vllm.LLM on GPUs; "
        "`openai`: an OpenAI-compatible server (vllm serve, SGLang, llama.cpp, transformers serve; see `server`).",
    )
    model: str = Field(
        ...,
        description=f"Hugging Face model id or local path; `{DEMO_MODEL}` is the tiny Basque demo model (transformers only).",
    )
    revision: str | None = Field(
        None,
        description="Model revision (branch, tag or commit) to load; pin a commit for reproducible builds.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto",
        description="Weight dtype; `auto`: the checkpoint's dtype (float32 for the demo model).",
    )
    device: str = Field(
        "auto",
        description="transformers only: `cpu`, `cuda`, `cuda:N` or `auto` (cuda when available).",
    )
    batch_size: int = Field(
        32,
        ge=1,
        description="transformers only: sequences generated together (vllm and openai servers schedule their own batches).",
    )
    tensor_parallel_size: int = Field(
        1, ge=1, description="vllm only: GPUs one model is split across."
    )
    enable_prefix_caching: bool = Field(
        True,
        description="vllm only: reuse the KV cache of shared prompt prefixes (Magpie prompts share all of it).",
    )
    max_model_len: int | None = Field(
        None, ge=1, description="vllm only: context length to allocate (default: the model's)."
    )
    gpu_memory_utilization: float = Field(
        0.9, gt=0.0, le=1.0, description="vllm only: share of GPU memory vllm may take."
    )
    base_url: str | None = Field(
        None,
        description="openai only: server URL up to and including `/v1`, e.g. http://127.0.0.1:8000/v1.",
    )
    api_key_env: str | None = Field(
        None,
        description="openai only: name of the environment variable holding the API key (the key itself never goes in a recipe).",
    )
    server: Literal["auto", "vllm", "sglang", "llamacpp", "transformers", "openai"] = Field(
        "auto",
        description="openai only: the server behind base_url, which decides the request fields beyond the "
        "OpenAI core (stop_token_ids, add_special_tokens, n); `auto` asks the server (/v1/models), "
        "`openai` sends the documented core only.",
    )
    request_timeout_s: float = Field(
        120, gt=0, description="openai only: seconds one attempt of a request may take."
    )
    request_budget_s: float = Field(
        600,
        gt=0,
        description="openai only: seconds one request may take with its retries (429, 5xx, timeouts; exponential backoff).",
    )
    concurrency: int | None = Field(
        None,
        ge=1,
        description="openai only: requests in flight at once; default per server "
        "(vllm, sglang: 256; llamacpp: 8; transformers: 1; openai: 16).",
    )

    @model_validator(mode="after")
    def _backend_fits(self) -> EngineSpec:
        if self.type == "openai" and not self.base_url:
            raise ValueError(
                "engine.type openai needs engine.base_url (e.g. http://127.0.0.1:8000/v1)"
            )
        if self.model == DEMO_MODEL and self.type != "transformers":
            raise ValueError(
                f"engine.model {DEMO_MODEL!r} runs on engine.type transformers only (got {self.type!r})"
            )
        return self
