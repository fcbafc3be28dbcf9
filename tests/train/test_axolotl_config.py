"""axolotl configs from published datasets: shas pinned, data loadable, lineage recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import yaml
from train_fixtures import CONVERSATIONS, conversation_files

from factory.errors import InputError, RepoNotFound, RevisionNotFound
from factory.store.git import GitStore
from factory.train import axolotl_config
from factory.train.spec import TrainSpec

MODEL_SHA = "0e9e39f249a16976918f6564b8830bc894c89659"


def spec(*datasets_: dict, **axolotl) -> TrainSpec:
    return TrainSpec.model_validate(
        {
            "name": "t",
            "base_model": "meta-llama/Llama-3.1-8B",
            "base_model_revision": MODEL_SHA,
            "datasets": list(datasets_),
            "axolotl": {"learning_rate": 1e-5, "sequence_len": 2048, **axolotl},
        }
    )


@pytest.fixture
def local_dataset(tmp_path):
    rev = GitStore().publish(
        "latxa/magpie-eu", conversation_files(tmp_path / "v1"), message="v1", tag="v1"
    )
    return rev


def test_local_dataset_pinned_to_snapshot_parquet(tmp_path, local_dataset):
    out = tmp_path / "run" / "axolotl.yaml"
    rendered = axolotl_config.write(spec({"dataset": "latxa/magpie-eu@v1"}), out)
    config = yaml.safe_load(out.read_text())
    [entry] = config["datasets"]
    assert (
        config["base_model"] == "meta-llama/Llama-3.1-8B"
        and config["revision_of_model"] == MODEL_SHA
    )
    assert (config["seed"], config["learning_rate"], config["sequence_len"]) == (42, 1e-5, 2048)
    assert entry["path"].endswith(f"snapshots/latxa/magpie-eu/{local_dataset.sha}")
    assert (entry["ds_type"], entry["split"], entry["type"], entry["field_messages"]) == (
        "parquet",
        "train",
        "chat_template",
        "conversations",
    )
    assert entry["message_property_mappings"] == {"role": "role", "content": "content"}
    assert [Path(p).name for p in entry["data_files"]] == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    # what axolotl does with a local folder plus data_files: load_dataset(ds_type, data_files=..., split=...)
    rows = datasets.load_dataset(
        entry["ds_type"], data_files=entry["data_files"], split=entry["split"]
    )
    assert rows["conversations"] == CONVERSATIONS
    assert f"#   latxa/magpie-eu@v1 -> {local_dataset.sha} (local)" in out.read_text().splitlines()
    lineage = json.loads((tmp_path / "run" / "axolotl.factory_lineage.json").read_text())[
        "factory_lineage"
    ]
    assert (
        lineage["datasets"][0]["sha"] == local_dataset.sha
        and lineage["base_model_revision"] == MODEL_SHA
    )
    assert lineage["datasets"][0]["data_files"] == [
        "data/train-00000-of-00002.parquet",
        "data/train-00001-of-00002.parquet",
    ]
    assert rendered.pinned[0].requested == "v1"


def test_branch_is_pinned_to_the_sha_it_names_now(tmp_path, local_dataset):
    newer = GitStore().publish(
        "latxa/magpie-eu", conversation_files(tmp_path / "v2", CONVERSATIONS[:2]), message="v2"
    )
    assert newer.sha != local_dataset.sha
    main = axolotl_config.render(spec({"dataset": "latxa/magpie-eu@main"}))
    tagged = axolotl_config.render(spec({"dataset": "latxa/magpie-eu@v1"}))
    by_sha = axolotl_config.render(spec({"dataset": f"latxa/magpie-eu@{local_dataset.sha}"}))
    assert main.pinned[0].sha == newer.sha
    assert tagged.pinned[0].sha == by_sha.pinned[0].sha == local_dataset.sha
    assert (
        tagged.text() == axolotl_config.render(spec({"dataset": "latxa/magpie-eu@v1"})).text()
    )  # deterministic


def test_unknown_revision_split_and_repo(tmp_path, local_dataset):
    with pytest.raises(RevisionNotFound, match="has no revision 'v9' .*main, v1"):
        axolotl_config.render(spec({"dataset": "latxa/magpie-eu@v9"}))
    with pytest.raises(
        InputError,
        match=r"no data for config 'default' split 'dev' \(available config/split: default/train, default/test\)",
    ):
        axolotl_config.render(spec({"dataset": "latxa/magpie-eu@v1", "split": "dev"}))
    with pytest.raises(RepoNotFound, match="'latxa/absent' not found"):
        axolotl_config.render(spec({"dataset": "latxa/absent@v1"}))


@pytest.mark.server
def test_hub_dataset_pinned_by_revision(hub, tmp_path):
    from factory.store.hub import HubStore

    repo_id = hub.repo_id("magpie")
    rev = HubStore(cache_dir=hub.cache / "store").publish(
        repo_id, conversation_files(tmp_path / "v1"), message="v1", tag="v1"
    )
    rendered = axolotl_config.render(spec({"dataset": f"{repo_id}@v1", "backend": "hub"}))
    [entry] = rendered.config["datasets"]
    assert (entry["path"], entry["revision"], entry["split"]) == (repo_id, rev.sha, "train")
    assert "ds_type" not in entry and "data_files" not in entry
    # what axolotl does with a Hub path: load_dataset(path, revision=..., split=...)
    rows = datasets.load_dataset(entry["path"], revision=entry["revision"], split=entry["split"])
    assert sorted(map(str, rows["conversations"])) == sorted(map(str, CONVERSATIONS))


@pytest.mark.slow
def test_config_validates_against_axolotl_schema(tmp_path, local_dataset):
    """axolotl's own pydantic schema, where axolotl is importable (or AXOLOTL_PYTHONPATH points at its unpacked wheel)."""
    from axolotl_schema import axolotl_env

    env = axolotl_env()
    out = tmp_path / "axolotl.yaml"
    axolotl_config.write(
        spec({"dataset": "latxa/magpie-eu@v1"}, micro_batch_size=1, num_epochs=1), out
    )
    check = (
        "import sys, yaml\n"
        "from axolotl.utils.schemas.config import AxolotlInputConfig\n"
        "cfg = AxolotlInputConfig.model_validate(yaml.safe_load(open(sys.argv[1])))\n"
        "d = cfg.datasets[0]\n"
        "print(cfg.revision_of_model, d.ds_type, d.type, d.field_messages, len(d.data_files))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-5:] == [MODEL_SHA, "parquet", "chat_template", "conversations", "2"]
