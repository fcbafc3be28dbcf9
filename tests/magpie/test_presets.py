"""Magpie's sampling presets match its scripts; recipes override them field by field; the sanitizer."""

from __future__ import annotations

import pytest

from factory.magpie.presets import PRESETS
from factory.magpie.recipe import MagpieSpec
from factory.magpie.sanitize import sanitize_instruction


def test_llama31_preset_is_magpies_llama31_script():
    # scripts/magpie-llama3.1-8b.sh: ins temp 0.8, top_p 1, 1024 tokens, no \n stop, --sanitize;
    # responses temp 0.6, top_p 0.9, gen_res.py's 4096 tokens
    spec = MagpieSpec(family="llama3.1", preset="llama3.1")
    assert (spec.instruction.temperature, spec.instruction.top_p) == (0.8, 1.0)
    assert spec.instruction.max_tokens == 1024
    assert "\n" not in spec.instruction.stop and "assistant" in spec.instruction.stop
    assert spec.sanitize is True
    assert (spec.response.temperature, spec.response.top_p, spec.response.max_tokens) == (
        0.6,
        0.9,
        4096,
    )


@pytest.mark.parametrize(
    ("name", "ins_temp", "newline_stop", "res_temp"),
    [
        ("llama3", 1.0, True, 0.0),
        ("qwen2", 1.0, True, 0.0),
        ("qwen2.5", 0.7, True, 0.0),
        ("gemma2", 1.0, False, 0.0),
    ],
)
def test_other_families(name, ins_temp, newline_stop, res_temp):
    preset = PRESETS[name]
    assert preset.instruction["temperature"] == ins_temp
    assert ("\n" in preset.instruction["stop"]) is newline_stop
    assert preset.response["temperature"] == res_temp
    assert preset.sanitize is (not newline_stop)


def test_recipe_fields_override_the_preset_one_by_one():
    spec = MagpieSpec(
        family="llama3.1", preset="llama3.1", instruction={"max_tokens": 48}, sanitize=False
    )
    assert spec.instruction.max_tokens == 48
    assert spec.instruction.temperature == 0.8  # the rest still comes from the preset
    assert spec.sanitize is False


def test_unknown_preset_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown 'llama9'.*llama3.1"):
        MagpieSpec(family="llama3.1", preset="llama9")


@pytest.mark.parametrize(
    ("raw", "clean", "cls"),
    [
        (
            "What is the capital of France?\nThe capital is Paris.",
            "What is the capital of France?",
            99.1,
        ),
        ("Write a haiku about rain.\nRain falls softly", "Write a haiku about rain.", 99.2),
        (
            "**Question** Why is the sky blue? It is Rayleigh scattering.",
            "Why is the sky blue?",
            99.1,
        ),
        ("*Why is the sky blue?* Rayleigh scattering.", "Why is the sky blue?", 1),
        ("Task: Name three rivers.\nNile, Amazon", "Name three rivers.", 99.2),
        ("Solve 2x + 3 = 7.\n\n## Step 1: subtract 3", "Solve 2x + 3 = 7.", 5),
        ("Find x if x + 1 = 2. The answer is: 1", "Find x if x + 1 = 2.", 4),
        ('"Is it raining?" she asked', "Is it raining?", 2.1),
    ],
)
def test_sanitizer_keeps_the_question(raw, clean, cls):
    assert sanitize_instruction(raw, "llama3.1") == (clean, cls)


def test_sanitizer_leaves_other_families_alone():
    assert sanitize_instruction("a\nb", "qwen2") == ("a\nb", 0)
