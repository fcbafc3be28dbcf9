"""Every shipped recipe's stages survive the serialization that Slurm and Ray executors apply.

datatrove's SlurmPipelineExecutor writes the executor with dill to `executor.pik` and each array
task loads it; Ray ships the pipeline the same way. A stage holding an open model, a lock or a
lambda would only fail there, on a cluster, so it is checked here on the planned stages; and
every step must come back with the same state (thresholds, paths, seeds), not only the same class.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dill
import numpy as np
import pytest
import yaml

from factory import kinds
from factory.builds.context import BuildContext
from factory.engines.executors import make_executor
from factory.recipe_base import ExecutorSpec
from factory.recipes import load_recipe


def state(value, depth: int = 0):
    """A comparable picture of an object's state: plain values, containers, arrays by digest,
    objects as their class and attributes (four levels deep)."""
    if isinstance(value, str | int | float | bool | bytes | type(None)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, list | tuple):
        return [state(v, depth) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(repr(state(v, depth)) for v in value)
    if isinstance(value, dict):
        return {repr(k): state(v, depth) for k, v in value.items()}
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    if depth >= 4 or not hasattr(value, "__dict__"):
        return name
    return {"class": name} | {k: state(v, depth + 1) for k, v in sorted(vars(value).items())}


REPO = Path(__file__).resolve().parent.parent
RECIPES = sorted(path.name for path in (REPO / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("name", RECIPES)
def test_planned_stages_pickle_with_dill(name, tmp_path, monkeypatch):
    overrides = []
    if name.startswith("preferences"):
        logs = tmp_path / "arena"
        logs.mkdir()
        (logs / "history_1.json").write_text("{}")
        monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", "a-test-salt-of-enough-length")
        overrides = [f"inputs.0.path={logs}"]
    if name.startswith(
        "benchmark"
    ):  # the user supplies a benchmark's files: one stand-in per input
        inputs = yaml.safe_load((REPO / "recipes" / name).read_text())["inputs"]
        (tmp_path / "rows.jsonl").write_text('{"question": "x"}\n')
        overrides = [f"inputs.{i}.path={tmp_path / 'rows.jsonl'}" for i in range(len(inputs))]
    if name.startswith(
        "magpie_translate"
    ):  # its input is magpie_en's output: read the sample instead
        sample = REPO / "factory" / "translate" / "sample" / "conversations_en.jsonl"
        overrides = ["inputs.0.recipe=null", f"inputs.0.path={sample}"]
    if name == "magpie_en_tagged.yaml":  # its input is magpie_en's output: conversations instead
        sample = REPO / "factory" / "translate" / "sample" / "conversations_en.jsonl"
        overrides = ["inputs.0.recipe=null", f"inputs.0.path={sample}"]
    if (
        name == "magpie_en_filtered.yaml"
    ):  # its input is the tagged set: one row with the rules' columns
        import pyarrow as pa
        import pyarrow.parquet as pq

        tagged = tmp_path / "tagged.parquet"
        row = {"id": "a", "instruction": "x", "input_quality": "good", "instruct_reward": 1.0}
        pq.write_table(pa.Table.from_pylist([{**row, "min_similar_id": "a"}]), tagged)
        overrides = ["inputs.0.recipe=null", f"inputs.0.path={tagged}"]
    recipe = load_recipe(REPO / "recipes" / name, overrides)
    ctx = BuildContext.create(recipe, workdir=tmp_path / "work")
    stages = kinds.get(recipe.kind_name).plan().stages(recipe, ctx)
    assert stages
    spec = ExecutorSpec(type="slurm", tasks=4, options={"time": "01:00:00", "partition": "cpu"})
    for stage in stages:
        executor = make_executor(
            spec, stage.pipeline, logging_dir=tmp_path / "logs" / stage.name, tasks=stage.tasks
        )
        restored = dill.loads(dill.dumps(executor))
        assert [type(step).__name__ for step in restored.pipeline] == [
            type(step).__name__ for step in stage.pipeline
        ]
        for before, after in zip(stage.pipeline, restored.pipeline):
            assert state(after) == state(before), f"{stage.name}: {type(before).__name__}"
