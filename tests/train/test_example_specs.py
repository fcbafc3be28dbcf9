"""Every spec in train/ and eval/ validates, round-trips, and renders once its datasets exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from train_fixtures import conversation_files

from factory.evaluate import lm_eval_tasks
from factory.evaluate.spec import DatasetTask, EvalSpec
from factory.store.git import GitStore
from factory.train import axolotl_config
from factory.train.spec import TrainSpec
from factory.train.specfile import read_spec

REPO = Path(__file__).resolve().parents[2]


def _kind(path: Path) -> str:
    data = yaml.safe_load(path.read_text())
    return "grid" if "codes" in data else "tables" if "tables" in data else "spec"


# train/ also holds grid specs (`factory train grid`), eval/ table specs (`factory eval report`)
TRAIN_SPECS = [p for p in sorted((REPO / "train").glob("*.yaml")) if _kind(p) == "spec"]
EVAL_SPECS = [p for p in sorted((REPO / "eval").glob("*.yaml")) if _kind(p) == "spec"]
OTHER_SPECS = [
    p
    for folder in ("train", "eval")
    for p in sorted((REPO / folder).glob("*.yaml"))
    if _kind(p) != "spec"
]


@pytest.mark.parametrize("path", OTHER_SPECS, ids=lambda p: p.name)
def test_grid_and_table_examples_validate(path):
    from factory.evaluate.report import TableSpec
    from factory.train.grid import GridSpec

    model = GridSpec if _kind(path) == "grid" else TableSpec
    spec = read_spec(path, model, "spec")
    assert model.model_validate(spec.model_dump(mode="json")) == spec


def publish_referenced(refs: list[str], folder: Path) -> None:
    """A tiny stand-in for each referenced dataset in the local store, at the referenced tag."""
    import datasets

    for i, ref in enumerate(refs):
        repo_id, tag = ref.split("@")
        files = conversation_files(folder / str(i))
        text = folder / str(i) / "text-test.parquet"
        datasets.Dataset.from_dict({"text": ["Kaixo mundua.", "Egun on denoi."]}).to_parquet(
            str(text)
        )
        files["data/test-00000-of-00001.parquet"] = text  # corpus-style rows for text tasks
        GitStore().publish(repo_id, files, message="stand-in", tag=tag)


@pytest.mark.parametrize("path", TRAIN_SPECS, ids=lambda p: p.name)
def test_train_examples(path, tmp_path):
    spec = read_spec(path, TrainSpec, "train spec")
    assert TrainSpec.model_validate(spec.model_dump(mode="json")) == spec
    publish_referenced([d.dataset for d in [*spec.datasets, *spec.test_datasets]], tmp_path)
    config = yaml.safe_load(axolotl_config.render(spec, path).text())
    assert len(config["datasets"]) == len(spec.datasets) and "learning_rate" in config


@pytest.mark.parametrize("path", EVAL_SPECS, ids=lambda p: p.name)
def test_eval_examples(path, tmp_path):
    spec = read_spec(path, EvalSpec, "eval spec")
    assert EvalSpec.model_validate(spec.model_dump(mode="json")) == spec
    if any(isinstance(t, DatasetTask) and t.config for t in spec.tasks):
        from benchmark_fixtures import publish_all  # the imported benchmarks, by config

        publish_all(tmp_path)
    else:
        publish_referenced([t.dataset for t in spec.tasks if isinstance(t, DatasetTask)], tmp_path)
    result = lm_eval_tasks.write(spec, tmp_path / "out", path)
    assert result.task_names == [t if isinstance(t, str) else t.task for t in spec.tasks]


def test_examples_exist():
    assert TRAIN_SPECS and EVAL_SPECS and len(OTHER_SPECS) >= 2
