"""Basque steering options: the cue joins the pre-query, the first-token bias moves the first token only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from magpie_fixtures import demo_model_path  # noqa: F401  (fixture)

from factory.errors import RecipeError
from factory.magpie.recipe import MagpieSpec, first_token_ids
from factory.recipes import load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_cue_is_appended_to_the_pre_query():
    spec = MagpieSpec(family="llama3.1", steering={"cue": "Euskaraz: "})
    assert spec.resolved_template().pre_query.endswith("<|end_header_id|>\n\nEuskaraz: ")


def test_first_token_bias_is_refused_where_the_engine_cannot_apply_it(tmp_path):
    data = yaml.safe_load((RECIPES / "magpie_eu.yaml").read_text())
    data["magpie"]["steering"] = {"avoid_first_words": ["english"]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_recipe(path).engine.type == "vllm"  # production engine: two passes in vLLM
    assert load_recipe(path, demo=True).magpie.steering.words()[0] == "What"
    data["engine"] = {"type": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RecipeError, match="transformers or vllm only"):
        load_recipe(path)  # a server's logit_bias applies at every position


def test_first_token_bias_changes_the_first_token_and_nothing_before(demo_model_path):
    from factory.engines import EngineSpec, SamplingParams
    from factory.engines.transformers_engine import TransformersEngine

    engine = TransformersEngine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=4))
    prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
    greedy = SamplingParams(temperature=0.0, max_tokens=4)
    first = engine.generate([prompt], greedy)[0][0].token_ids[0]
    biased = greedy.model_copy(update={"first_token_logit_bias": {first: -100.0}})
    again = engine.generate([prompt], biased)[0][0].token_ids
    assert again[0] != first
    # words map to their first tokens, with and without a leading space
    ids = first_token_ids(engine.tokenizer, ["What"])
    assert ids and all(isinstance(i, int) for i in ids)
