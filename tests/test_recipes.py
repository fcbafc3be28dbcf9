"""Recipe loading: validation errors as one line each, overrides, round-trip and hashing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.helpers import write_echo_inputs, write_echo_recipe

from factory.errors import RecipeError
from factory.recipes import load_recipe, recipe_hash, validate_recipe_data

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def recipe_file(tmp_path) -> Path:
    write_echo_inputs(tmp_path / "in")
    return write_echo_recipe(tmp_path / "echo.yaml", "in")


def test_loads_and_fills_defaults(recipe_file):
    recipe = load_recipe(recipe_file)
    assert recipe.kind == "echo"
    assert recipe.executor.type == "local"
    assert recipe.output.backend == "local"
    assert recipe.base_dir == recipe_file.parent.resolve()


def test_round_trip_equals(recipe_file):
    recipe = load_recipe(recipe_file)
    again = validate_recipe_data(recipe.model_dump(mode="json"), "dump")
    assert type(again) is type(recipe)
    assert again.model_dump() == recipe.model_dump()


def test_override_sets_nested_and_list_fields(recipe_file):
    recipe = load_recipe(
        recipe_file, ["executor.tasks=7", "seed=9", "inputs.0.name=main", "echo.test_fraction=0.5"]
    )
    assert recipe.executor.tasks == 7
    assert recipe.seed == 9
    assert recipe.inputs[0].name == "main"
    assert recipe.echo.test_fraction == 0.5


def test_hash_ignores_execution_settings_but_not_data_settings(recipe_file):
    base = recipe_hash(load_recipe(recipe_file))
    assert recipe_hash(load_recipe(recipe_file, ["executor.workers=1", "output.tag=v9"])) == base
    assert recipe_hash(load_recipe(recipe_file, ["seed=2"])) != base
    assert recipe_hash(load_recipe(recipe_file, ["executor.tasks=3"])) != base


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"kind": "magpi"}, "kind: unknown kind 'magpi'"),
        ({"seed": "abc"}, "seed: Input should be a valid integer"),
        ({"executor": {"type": "k8s"}}, "executor.type: Input should be 'local', 'slurm' or 'ray'"),
        ({"executor": {"taks": 3}}, "executor.taks: unknown field; did you mean 'tasks'?"),
        ({"output": {"repo_id": "no-slash"}}, "output.repo_id: invalid dataset 'no-slash'"),
        (
            {"inputs": [{"dataset": "org/name"}]},
            "inputs.0.dataset: dataset input 'org/name' needs a revision",
        ),
        (
            {"inputs": [{"path": "a", "dataset": "o/n@v1"}]},
            "inputs.0: give exactly one of path, dataset or recipe",
        ),
        ({"name": None}, "name: Input should be a valid string"),
        (
            {"card": {"extra": {"license": "mit", "tags": ["x"]}}},
            "card.extra: license, tags cannot be set in extra",
        ),
    ],
)
def test_bad_recipe_gives_one_line_with_field_path(tmp_path, recipe_file, patch, expected):
    data = yaml.safe_load(recipe_file.read_text())
    data.update(patch)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(RecipeError) as info:
        load_recipe(bad)
    lines = info.value.problems
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{bad}: ")
    assert expected in lines[0]


def test_missing_required_field_and_several_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: echo\nseed: x\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(bad)
    text = "\n".join(info.value.problems)
    assert f"{bad}: name: required field is missing" in text
    assert f"{bad}: output: required field is missing" in text
    assert f"{bad}: seed: Input should be a valid integer" in text


def test_unreadable_yaml_names_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: echo\nname: [unclosed\n")
    with pytest.raises(RecipeError, match=r"unreadable YAML at line \d+, column \d+"):
        load_recipe(bad)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(RecipeError, match="must be a YAML mapping"):
        load_recipe(tmp_path / "list.yaml")


def test_bad_override(recipe_file):
    with pytest.raises(RecipeError, match="expected KEY=VALUE"):
        load_recipe(recipe_file, ["seed"])
    with pytest.raises(RecipeError, match="inputs.5: list index '5' out of range"):
        load_recipe(recipe_file, ["inputs.5.path=x"])
    with pytest.raises(RecipeError, match="seed.x: cannot set a field inside a int value"):
        load_recipe(recipe_file, ["seed.x=1"])


def test_demo_needs_demo_section(recipe_file):
    with pytest.raises(RecipeError, match="--demo needs a non-empty `demo:` mapping"):
        load_recipe(recipe_file, demo=True)


def test_demo_applies_overrides(tmp_path):
    write_echo_inputs(tmp_path / "in")
    path = write_echo_recipe(
        tmp_path / "echo.yaml", "in", extra="demo:\n  seed: 42\n  output.repo_id: demo/echo\n"
    )
    recipe = load_recipe(path, demo=True)
    assert recipe.seed == 42
    assert recipe.output.repo_id == "demo/echo"


@pytest.mark.parametrize("path", sorted((REPO / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_validate_and_round_trip(path):
    recipe = load_recipe(path)
    again = validate_recipe_data(recipe.model_dump(mode="json"), str(path))
    assert again.model_dump() == recipe.model_dump()
    if recipe.demo:
        load_recipe(path, demo=True)


def test_yaml_merge_keys_are_read_and_may_be_overridden(tmp_path):
    """Strict YAML refuses duplicate keys, but `<<: *base` and a key that overrides it are fine."""
    from factory.recipes import read_yaml_mapping

    path = tmp_path / "spec.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n")
    assert read_yaml_mapping(path, "spec")["child"] == {"x": 1, "y": 3}
