"""The magpie recipes validate, round-trip, and misconfigurations are one clear line."""

from pathlib import Path

import pytest
import yaml

from factory.errors import RecipeError
from factory.magpie.recipe import MagpieRecipe
from factory.recipes import load_recipe, recipe_hash

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
MAGPIE_RECIPES = sorted(
    p for p in RECIPES.glob("magpie_*.yaml") if yaml.safe_load(p.read_text())["kind"] == "magpie"
)
TAG_AND_FILTER_RECIPES = sorted(set(RECIPES.glob("magpie_*.yaml")) - set(MAGPIE_RECIPES))


@pytest.mark.parametrize("path", TAG_AND_FILTER_RECIPES, ids=lambda p: p.name)
@pytest.mark.parametrize("demo", [False, True])
def test_tag_and_filter_recipes_validate_and_round_trip(path, demo):
    recipe = load_recipe(path, demo=demo)
    dumped = recipe.model_dump(mode="json")
    assert type(recipe).model_validate(dumped).model_dump(mode="json") == dumped
    assert recipe.output.backend == ("local" if demo else "hub")


@pytest.mark.parametrize("path", MAGPIE_RECIPES, ids=lambda p: p.name)
@pytest.mark.parametrize("demo", [False, True])
def test_recipe_validates_and_round_trips(path, demo):
    recipe = load_recipe(path, demo=demo)
    assert isinstance(recipe, MagpieRecipe)
    dumped = recipe.model_dump(mode="json")
    assert MagpieRecipe.model_validate(dumped).model_dump(mode="json") == dumped
    if demo:
        assert recipe.uses_demo_model and recipe.engine.type == "transformers"
        assert recipe.output.backend == "local"
    else:
        # production settings: Llama 3.1 Instruct on vllm
        assert recipe.engine.type == "vllm" and "Llama-3.1" in recipe.engine.model
        assert recipe.magpie.family == "llama3.1"


def test_recipes_cover_8b_70b_eu_en():
    names = {p.name for p in MAGPIE_RECIPES}
    assert {"magpie_eu.yaml", "magpie_en.yaml", "magpie_eu_70b.yaml"} <= names
    assert load_recipe(RECIPES / "magpie_eu_70b.yaml").engine.tensor_parallel_size > 1


def _write(tmp_path, changes: dict) -> Path:
    data = yaml.safe_load((RECIPES / "magpie_eu.yaml").read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"magpie.family": "lama3.1"},
            "magpie.family: unknown template family 'lama3.1'; did you mean 'llama3.1'?",
        ),
        ({"magpie.family": None}, "give magpie.family (one of llama3, llama3.1"),
        ({"magpie.family": "mistral"}, "mistral chat format has no system turn"),
        (
            {"magpie.control": "poetry"},
            "magpie.control: Input should be 'math', 'code' or 'translation'",
        ),
        ({"magpie.template": {"pre_query": "<s>", "system": "no slot"}}, "needs a `{system}` slot"),
        ({"filters.near_dup.modle": "x"}, "did you mean 'model'?"),
        (
            {"engine.type": "vllm", "engine.model": "demo:tiny-eu"},
            "runs on engine.type transformers only",
        ),
    ],
)
def test_bad_recipe_is_one_line_per_problem(tmp_path, changes, expected):
    with pytest.raises(RecipeError) as info:
        load_recipe(_write(tmp_path, changes))
    assert len(info.value.problems) == 1
    assert expected in str(info.value)


def test_custom_template_accepted(tmp_path):
    custom = {
        "pre_query": "<|im_start|>user\n",
        "system": "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n",
        "stop": ["<|im_end|>"],
    }
    recipe = load_recipe(_write(tmp_path, {"magpie.family": None, "magpie.template": custom}))
    template = recipe.magpie.resolved_template()
    assert template.name == "custom"
    assert template.pre_query.startswith("<|im_start|>system\nEuskaraz")


def test_hash_ignores_how_the_engine_runs_but_not_what_it_generates(tmp_path):
    base = load_recipe(RECIPES / "magpie_eu.yaml")
    assert recipe_hash(base) == recipe_hash(
        load_recipe(RECIPES / "magpie_eu.yaml", ["engine.gpu_memory_utilization=0.5"])
    )
    assert recipe_hash(base) != recipe_hash(
        load_recipe(RECIPES / "magpie_eu.yaml", ["magpie.instruction.temperature=0.9"])
    )
    assert recipe_hash(base) != recipe_hash(
        load_recipe(RECIPES / "magpie_eu.yaml", ["engine.model=meta-llama/Llama-3.1-70B-Instruct"])
    )
