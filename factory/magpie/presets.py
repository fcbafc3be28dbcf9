"""Magpie's own sampling settings per model family, as its `scripts/magpie-<model>.sh` set them.

Read from magpie-align/magpie at commit b734a36 (facts, not code): each script passes
`ins_temp`/`ins_topp` and flags to `exp/gen_ins.py` and `res_temp`/`res_topp`/`res_rep` to
`exp/gen_res.py`. Where a script gives no `--max_tokens`, the Python defaults apply
(`gen_ins.py` 2048, `gen_res.py` 4096). "Early stopping" (the default in `gen_ins.py`) adds a
`\\n` stop to instruction sampling; `--disable_early_stopping` removes it and `--sanitize`
cleans the multi-line instruction afterwards (`sanitize.py`). Every script also stops
instructions at the family's `stop_tokens_assistant` (the role word a model writes when it
starts answering its own question; `"assistant"` for Llama 3).

`repetition_penalty` is 1 in every script, i.e. off, which is what our engines do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Preset = Literal["llama3", "llama3.1", "llama3.1-70b", "llama3.3", "qwen2", "qwen2.5", "gemma2"]
PRESETS_NAMES: tuple[str, ...] = get_args(Preset)


@dataclass(frozen=True)
class SamplingPreset:
    """One script's settings: instruction and response sampling, stops, sanitizing."""

    script: str  # the magpie script they come from
    instruction: dict = field(default_factory=dict)
    response: dict = field(default_factory=dict)
    sanitize: bool = False


def _preset(
    script,
    ins_temp,
    ins_top_p,
    ins_max,
    early_stop,
    sanitize,
    res_temp,
    res_top_p,
    res_max,
    assistant=("assistant",),
):
    stops = ["\n"] if early_stop else []
    return SamplingPreset(
        script=script,
        instruction={
            "temperature": ins_temp,
            "top_p": ins_top_p,
            "max_tokens": ins_max,
            "stop": [*stops, *assistant],
        },
        response={"temperature": res_temp, "top_p": res_top_p, "max_tokens": res_max},
        sanitize=sanitize,
    )


PRESETS: dict[str, SamplingPreset] = {
    # scripts/magpie-llama3-8b.sh: early stop on \n, gen_ins default 2048 tokens, greedy responses
    "llama3": _preset("scripts/magpie-llama3-8b.sh", 1.0, 1.0, 2048, True, False, 0.0, 1.0, 4096),
    # scripts/magpie-llama3.1-8b.sh: no early stop, sanitize, 1024 tokens; responses 0.6 / 0.9
    "llama3.1": _preset(
        "scripts/magpie-llama3.1-8b.sh", 0.8, 1.0, 1024, False, True, 0.6, 0.9, 4096
    ),
    # scripts/magpie-llama3.1-70b.sh: as the 8B but instruction temperature 0.9
    "llama3.1-70b": _preset(
        "scripts/magpie-llama3.1-70b.sh", 0.9, 1.0, 1024, False, True, 0.6, 0.9, 4096
    ),
    # scripts/magpie-llama3.3-70b.sh: temperature 1, greedy responses
    "llama3.3": _preset(
        "scripts/magpie-llama3.3-70b.sh", 1.0, 1.0, 1024, False, True, 0.0, 1.0, 4096
    ),
    # scripts/magpie-qwen2-7b.sh: early stop, greedy responses
    "qwen2": _preset(
        "scripts/magpie-qwen2-7b.sh",
        1.0,
        1.0,
        2048,
        True,
        False,
        0.0,
        1.0,
        4096,
        ("Assistant", "assistant"),
    ),
    # scripts/magpie-qwen2.5-7b.sh: instruction temperature 0.7
    "qwen2.5": _preset(
        "scripts/magpie-qwen2.5-7b.sh",
        0.7,
        1.0,
        2048,
        True,
        False,
        0.0,
        1.0,
        4096,
        ("Assistant", "assistant"),
    ),
    # scripts/magpie-gemma2-9b.sh: no early stop, sanitize, 512 tokens; responses 2048 tokens
    "gemma2": _preset("scripts/magpie-gemma2-9b.sh", 1.0, 1.0, 512, False, True, 0.0, 1.0, 2048),
}
