"""The engine interface's models and shared helpers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from factory.engines import Completion, EngineSpec, SamplingParams
from factory.engines.base import cut_at_stop, prompt_seed


def test_defaults_are_the_embedded_transformers_engine():
    spec = EngineSpec(model="demo:tiny-eu")
    assert spec.type == "transformers" and spec.device == "auto" and spec.batch_size == 32
    assert SamplingParams() == SamplingParams(
        temperature=1.0, top_p=1.0, max_tokens=256, stop=[], stop_token_ids=[], n=1, seed=None
    )


def test_every_field_is_described():
    for model in (EngineSpec, SamplingParams, Completion):
        assert all(f.description for f in model.model_fields.values()), model.__name__


def test_misspelt_key_is_an_error():
    with pytest.raises(ValidationError, match="temprature"):
        SamplingParams(temprature=0.5)


def test_openai_needs_a_base_url():
    with pytest.raises(ValidationError, match="engine.base_url"):
        EngineSpec(type="openai", model="m")


def test_demo_model_is_transformers_only():
    with pytest.raises(ValidationError, match="transformers only"):
        EngineSpec(type="vllm", model="demo:tiny-eu")


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("Kaixo. Zer moduz?", ["?"], ("Kaixo. Zer moduz", True)),
        ("Kaixo. Zer moduz?", [".", "?"], ("Kaixo", True)),
        ("Kaixo", ["zz"], ("Kaixo", False)),
        ("Kaixo", [], ("Kaixo", False)),
        ("<eot>x", ["<eot>"], ("", True)),
    ],
)
def test_cut_at_stop_cuts_before_the_earliest_stop(text, stop, expected):
    assert cut_at_stop(text, stop) == expected


def test_prompt_seeds_differ_per_prompt_and_repeat_per_seed():
    assert prompt_seed(None, 3) is None
    seeds = [prompt_seed(7, i) for i in range(100)]
    assert len(set(seeds)) == 100
    assert seeds == [prompt_seed(7, i) for i in range(100)]
    assert prompt_seed(8, 0) != seeds[0]
