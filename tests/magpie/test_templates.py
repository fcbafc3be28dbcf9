"""The template table against Magpie's own configs, and its one-line errors."""

import pytest

from factory.errors import RecipeError
from factory.magpie.templates import (
    FAMILIES,
    MAGPIE_DEFAULT_SYSTEM,
    TemplateSet,
    resolve_template,
)

# Strings of magpie-align/magpie configs/model_configs.json (commit b734a36), for Llama-3.1-8B-Instruct.
MAGPIE_LLAMA31 = {
    "pre_query_template": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n",
    "pre_query_template_with_system_prompt": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the user's questions.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n",
    "pre_query_template_math": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are an AI "
    "assistant designed to provide helpful, step-by-step guidance on solving math problems. The user will ask you "
    "a wide range of complex mathematical questions.\nYour purpose is to assist users in understanding mathematical "
    "concepts, working through equations, and arriving at the correct solutions.<|eot_id|><|start_header_id|>user"
    "<|end_header_id|>\n\n",
    "stop_token_ids": (128009, 128001, 128006, 128007),
}


def test_llama31_matches_magpie():
    plain = resolve_template("llama3.1")
    assert plain.pre_query == MAGPIE_LLAMA31["pre_query_template"]
    assert plain.stop_token_ids == MAGPIE_LLAMA31["stop_token_ids"]
    assert "<|eot_id|>" in plain.stop
    system = resolve_template("llama3.1", system_prompt=MAGPIE_DEFAULT_SYSTEM)
    assert system.pre_query == MAGPIE_LLAMA31["pre_query_template_with_system_prompt"]
    assert (
        resolve_template("llama3.1", control="math").pre_query
        == MAGPIE_LLAMA31["pre_query_template_math"]
    )


def test_every_family_resolves():
    for family in FAMILIES:
        template = resolve_template(family)
        assert template.pre_query and template.stop and template.stop_token_ids
        assert template.name == family


def test_qwen25_default_system_and_custom_system():
    assert resolve_template("qwen2.5").pre_query == (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    )
    assert (
        resolve_template("qwen2", system_prompt="Kaixo").pre_query
        == "<|im_start|>system\nKaixo<|im_end|>\n<|im_start|>user\n"
    )


def test_unknown_family_is_one_line_listing_known():
    with pytest.raises(RecipeError) as info:
        resolve_template("lama3.1")
    message = str(info.value)
    assert "\n" not in message
    assert "'lama3.1'" in message and "did you mean 'llama3.1'" in message
    for family in FAMILIES:
        assert family in message


def test_system_prompt_refused_where_the_format_has_none():
    with pytest.raises(RecipeError, match="gemma2 chat format has no system turn"):
        resolve_template("gemma2", system_prompt="Kaixo")
    with pytest.raises(RecipeError, match="either a control task or a system_prompt"):
        resolve_template("llama3", system_prompt="x", control="code")


def test_custom_template():
    custom = TemplateSet(
        pre_query="<|im_start|>user\n",
        mt_append="",
        stop=("<|im_end|>",),
        stop_token_ids=(2,),
        system="S:{system}\n",
    )
    resolved = resolve_template(custom=custom, system_prompt="a {b} c")
    assert resolved.name == "custom"
    assert resolved.pre_query == "S:a {b} c\n"
