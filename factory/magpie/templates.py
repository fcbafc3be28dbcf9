"""Magpie pre-query templates and stop tokens, one entry per model family.

The strings are data read from magpie-align/magpie `configs/model_configs.json` (commit b734a36):
that file keys 34 model ids, but only a dozen distinct templates occur, so the table here is keyed
by family. A pre-query template is the chat prefix up to where the user's text would start; the
model, asked to continue it, writes a user query (Magpie, Xu et al. 2024).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal, get_args

from factory.errors import RecipeError

Family = Literal["llama3", "llama3.1", "llama3.3", "qwen2", "qwen2.5", "gemma2", "mistral", "phi3"]
ControlTask = Literal["math", "code", "translation"]

FAMILIES: tuple[str, ...] = get_args(Family)
CONTROL_TASKS: tuple[str, ...] = get_args(ControlTask)

# Magpie's `pre_query_template_with_system_prompt` system text.
MAGPIE_DEFAULT_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)

# Magpie's `pre_query_template_{math,code,translation}` system texts (control tasks).
CONTROL_SYSTEM_PROMPTS: dict[ControlTask, str] = {
    "math": (
        "You are an AI assistant designed to provide helpful, step-by-step guidance on solving math problems. "
        "The user will ask you a wide range of complex mathematical questions.\n"
        "Your purpose is to assist users in understanding mathematical concepts, working through equations, "
        "and arriving at the correct solutions."
    ),
    "code": (
        "You are an AI assistant designed to provide helpful, step-by-step guidance on coding problems. "
        "The user will ask you a wide range of coding questions.\n"
        "Your purpose is to assist users in understanding coding concepts, working through code, "
        "and arriving at the correct solutions."
    ),
    "translation": (
        "You are an AI assistant specifically designed to provide accurate and contextually appropriate "
        "translations. Users will ask you to translate text between various languages.\n"
        "Your purpose is to assist users in understanding and conveying meaning across languages, "
        "maintaining the original context and nuances."
    ),
}


@dataclass(frozen=True)
class TemplateSet:
    """The template strings of one model family.

    `system` is a format string with a `{system}` slot, or None when the family's chat format
    has no system turn (Gemma 2, Mistral, Phi-3 as Magpie used them). `default_system` is the
    system text the family's own chat template inserts when none is given (Qwen 2.5).
    """

    pre_query: str
    mt_append: str
    stop: tuple[str, ...]
    stop_token_ids: tuple[int, ...]
    system: str | None = None
    default_system: str | None = None
    # role names a model sometimes writes as plain text when special tokens are skipped
    role_words: tuple[str, ...] = ("assistant",)


_LLAMA3 = TemplateSet(
    pre_query="<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n",
    system="<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n",
    mt_append="<|start_header_id|>user<|end_header_id|>\n\n",
    stop=("<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>"),
    stop_token_ids=(128009, 128001, 128006, 128007),
)
_QWEN_STOP = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
_QWEN_STOP_IDS = (151643, 151644, 151645)
_QWEN_SYSTEM = "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"
_QWEN25_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

TEMPLATES: dict[Family, TemplateSet] = {
    "llama3": _LLAMA3,
    "llama3.1": _LLAMA3,
    "llama3.3": _LLAMA3,
    "qwen2": TemplateSet(
        pre_query="<|im_start|>user\n",
        system=_QWEN_SYSTEM,
        mt_append="<|im_start|>user\n",
        stop=_QWEN_STOP,
        stop_token_ids=_QWEN_STOP_IDS,
        role_words=("Assistant", "assistant"),
    ),
    "qwen2.5": TemplateSet(
        pre_query=_QWEN_SYSTEM.replace("{system}", _QWEN25_DEFAULT_SYSTEM),
        system=_QWEN_SYSTEM,
        default_system=_QWEN25_DEFAULT_SYSTEM,
        mt_append="<|im_start|>user\n",
        stop=_QWEN_STOP,
        stop_token_ids=_QWEN_STOP_IDS,
        role_words=("Assistant", "assistant"),
    ),
    "gemma2": TemplateSet(
        pre_query="<bos><start_of_turn>user\n\n",
        mt_append="<start_of_turn>user\n",
        stop=("<eos>", "<bos>", "<end_of_turn>"),
        stop_token_ids=(1, 2, 107),
        role_words=("model", "assistant"),
    ),
    "mistral": TemplateSet(
        pre_query="<s> [INST] ",
        mt_append="[INST] ",
        stop=("<s>", "</s>", "[INST]", "[/INST]"),
        stop_token_ids=(1, 2, 3, 4),
    ),
    "phi3": TemplateSet(
        pre_query="<s> <|user|>\n",
        mt_append="<|user|>\n",
        stop=(
            "</s>",
            "<s>",
            "<unk>",
            "<|endoftext|>",
            "<|user|>",
            "<|assistant|>",
            "<|system|>",
            "<|end|>",
        ),
        stop_token_ids=(2, 1, 0, 32000, 32001, 32006, 32007, 32010),
    ),
}


@dataclass(frozen=True)
class ResolvedTemplate:
    """What the generation stages need: the prompt prefix, stops, and a label for the rows."""

    name: str  # family, or "custom"
    pre_query: str
    mt_append: str
    stop: tuple[str, ...]
    stop_token_ids: tuple[int, ...]
    role_words: tuple[str, ...] = field(default=("assistant",))
    system_prompt: str | None = None
    control: str | None = None


def unknown_family_message(family: object) -> str:
    close = difflib.get_close_matches(str(family), FAMILIES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"unknown template family {family!r}{hint} (known: {', '.join(FAMILIES)}; "
        "or give magpie.template with your own pre_query and stop strings)"
    )


def family_templates(family: str) -> TemplateSet:
    """The table entry of `family`; an unknown family is a `RecipeError` naming the known ones."""
    if family not in TEMPLATES:
        raise RecipeError(f"magpie.family: {unknown_family_message(family)}")
    return TEMPLATES[family]  # type: ignore[index]


def resolve_template(
    family: str | None = None,
    *,
    custom: TemplateSet | None = None,
    system_prompt: str | None = None,
    control: str | None = None,
) -> ResolvedTemplate:
    """The pre-query template for a family (or a custom set) with an optional system prompt or control task.

    A control task uses Magpie's system text for that task; `system_prompt` gives your own.
    Both at once is ambiguous and refused.
    """
    if custom is None:
        if family is None:
            raise RecipeError(
                f"magpie.family: required when magpie.template is not given (known: {', '.join(FAMILIES)})"
            )
        table = family_templates(family)
        name = family
    else:
        table, name = custom, "custom"
    if control is not None and control not in CONTROL_SYSTEM_PROMPTS:
        raise RecipeError(
            f"magpie.control: unknown control task {control!r} (allowed: {', '.join(CONTROL_TASKS)})"
        )
    if control is not None and system_prompt is not None:
        raise RecipeError("magpie.control: give either a control task or a system_prompt, not both")
    system = CONTROL_SYSTEM_PROMPTS[control] if control else system_prompt  # type: ignore[index]
    if system is None:
        pre_query = table.pre_query
    elif table.system is None:
        raise RecipeError(
            f"magpie.system_prompt: the {name} chat format has no system turn, so system prompts and control "
            f"tasks are not available (families with one: {', '.join(f for f, t in TEMPLATES.items() if t.system)})"
        )
    else:
        pre_query = table.system.replace("{system}", system)
    return ResolvedTemplate(
        name=name,
        pre_query=pre_query,
        mt_append=table.mt_append,
        stop=table.stop,
        stop_token_ids=table.stop_token_ids,
        role_words=table.role_words,
        system_prompt=system,
        control=control,
    )
