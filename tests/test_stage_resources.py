"""Resources are per stage: declared by the stage, overridable per stage, validated at load time."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from factory import kinds
from factory.builds.context import BuildContext
from factory.engines.executors import check_stage_names, make_executor, stage_resources
from factory.errors import RecipeError
from factory.recipe_base import ExecutorSpec, StageResources
from factory.recipes import load_recipe

REPO = Path(__file__).resolve().parent.parent
SLURM = {"time": "01:00:00", "partition": "cpu"}


def _stages(name: str, tmp_path, overrides=()):
    recipe = load_recipe(REPO / "recipes" / name, list(overrides))
    ctx = BuildContext.create(recipe, workdir=tmp_path / "work")
    return recipe, {s.name: s for s in kinds.get(recipe.kind_name).plan().stages(recipe, ctx)}


def test_production_magpie_asks_gpus_only_where_it_generates(tmp_path):
    recipe, stages = _stages("magpie_eu.yaml", tmp_path)
    spec = ExecutorSpec(type="slurm", options=SLURM)
    gpus = {name: stage_resources(spec, name, s.resources).gpus for name, s in stages.items()}
    assert gpus == {"instructions": 1, "responses": 1, "dedup": 0}
    _, big = _stages("magpie_eu_70b.yaml", tmp_path / "70b")
    assert big["responses"].resources.gpus == 4  # tensor_parallel_size


def test_demo_magpie_on_cpu_asks_no_gpu(tmp_path):
    recipe = load_recipe(REPO / "recipes" / "magpie_eu.yaml", [], demo=True)
    ctx = BuildContext.create(recipe, workdir=tmp_path / "work")
    stages = kinds.get("magpie").plan().stages(recipe, ctx)
    assert all(not s.resources.gpus for s in stages)


def test_recipe_overrides_one_stage_and_reaches_slurm(tmp_path):
    spec = ExecutorSpec(
        type="slurm", options=SLURM, stages={"responses": {"gpus": 2, "mem_gb": 40, "cpus": 8}}
    )
    _, stages = _stages("magpie_eu.yaml", tmp_path)
    responses = make_executor(
        spec,
        [],
        logging_dir=tmp_path / "r",
        resources=stages["responses"].resources,
        stage="responses",
    )
    dedup = make_executor(
        spec, [], logging_dir=tmp_path / "d", resources=stages["dedup"].resources, stage="dedup"
    )
    assert (responses.gpus_per_task, responses.cpus_per_task) == (2, 8)
    assert responses.mem_per_cpu_gb * responses.cpus_per_task >= 40
    assert dedup.gpus_per_task == 0
    assert "gpus" not in dedup.get_sbatch_args()


def test_corpus_dedup_stages_ask_the_recipe_memory(tmp_path):
    recipe, stages = _stages("corpus_eu.yaml", tmp_path, ["dedup.memory_gb=6"])
    for name in ("dedup_signatures", "dedup_buckets"):
        assert stages[name].resources.mem_gb >= 6
    assert not any(s.resources.gpus for s in stages.values())
    executor = make_executor(
        ExecutorSpec(type="slurm", options=SLURM),
        [],
        logging_dir=tmp_path / "b",
        resources=stages["dedup_buckets"].resources,
        stage="dedup_buckets",
    )
    assert executor.mem_per_cpu_gb * executor.cpus_per_task >= math.ceil(
        stages["dedup_buckets"].resources.mem_gb
    )


def test_unknown_stage_override_is_one_line():
    with pytest.raises(
        RecipeError, match=r"executor.stages: unknown stage\(s\) respones .*responses"
    ):
        check_stage_names(
            ExecutorSpec(stages={"respones": {"gpus": 1}}), ["instructions", "responses"]
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"partition": "cpu"}, "needs time"),
        ({"time": "1:00:00"}, "needs partition"),
        ({**SLURM, "time": "an hour"}, "not a Slurm time limit"),
        ({**SLURM, "gpus_per_task": 1}, "resources are per stage"),
        ({**SLURM, "partiton": "x"}, "unknown slurm executor option"),
        ({**SLURM, "venv_path": "/nonexistent/bin/activate"}, "venv_path"),
    ],
)
def test_slurm_options_checked_when_the_recipe_loads(options, message):
    with pytest.raises(ValidationError, match=message):
        ExecutorSpec(type="slurm", options=options)


def test_validate_rejects_slurm_without_partition(tmp_path):
    with pytest.raises(RecipeError, match="partition"):
        load_recipe(
            REPO / "recipes" / "corpus_eu.yaml",
            ["executor.type=slurm", "executor.options.time=01:00:00"],
        )


def test_resources_stay_out_of_the_recipe_hash():
    from factory.recipes import recipe_hash

    base = load_recipe(REPO / "recipes" / "corpus_eu.yaml", [])
    other = load_recipe(REPO / "recipes" / "corpus_eu.yaml", ["executor.stages.filter.cpus=4"])
    assert recipe_hash(base) == recipe_hash(other)


def test_stage_declaration_is_a_model():
    with pytest.raises(ValidationError):
        StageResources(gpus=-1)
