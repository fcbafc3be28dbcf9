"""`factory train grid`: the exp_{BACKBONE}_{CORPUS_EU}{INST_EU}{INST_EN} grid as published, pinned, valid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.helpers import one_error_line, run_cli
from train_fixtures import conversation_files

from factory.errors import RecipeError
from factory.store.git import GitStore
from factory.train import axolotl_config, grid
from factory.train.specfile import read_spec

REPO = Path(__file__).resolve().parents[2]
GRID = REPO / "train" / "latxa_instruct_grid.yaml"
PAPER_CODES = [
    *("0_010", "0_011", "0_101", "0_110", "0_111"),
    *("1_001", "1_010", "1_011", "1_101", "1_110", "1_111"),
    *("2_010", "2_011", "2_100", "2_101", "2_110", "2_111"),
]
CORPUS_SOURCES = [
    "hplt-v1",
    "booktegi",
    "culturax",
    "egunkaria",
    "wikipedia",
    "euscrawl-v1.1",
    "colossal-oscar",
]
# the list of Latxa-Instruct's published settings, written out here on purpose
PUBLISHED = {
    "num_epochs": 4,
    "warmup_ratio": 0.1,
    "gradient_accumulation_steps": 1,
    "pad_to_sequence_len": False,
    "cosine_min_lr_ratio": 0.33,
    "weight_decay": 0.1,
    "adam_beta2": 0.95,
    "neftune_noise_alpha": 5,
    "special_tokens": {"pad_token": "<|end_of_text|>"},
    "plugins": ["axolotl.integrations.liger.LigerPlugin"],
    "sequence_len": 8192,
    "sample_packing": True,
    "learning_rate": 1e-5,
    "lr_scheduler": "cosine",
    "optimizer": "adamw_torch_fused",
    "micro_batch_size": 2,
    "bf16": True,
    "flash_attention": True,
    "gradient_checkpointing": True,
    "train_on_inputs": False,
    "shuffle_merged_datasets": True,
}


def publish_grid_datasets(spec: grid.GridSpec, folder: Path) -> None:
    """Stand-ins in the local store for every dataset the grid names: the corpus as one config per
    source (text rows), the instruction and test sets as conversations."""
    import datasets

    refs = {
        d.dataset: d
        for entries in [
            *spec.groups.values(),
            spec.test_datasets,
            *(e for r in spec.runs for e in r.groups.values()),
        ]
        for d in entries
    }
    for i, (ref, entry) in enumerate(sorted(refs.items())):
        repo_id = ref.split("@")[0]
        if entry.type == "completion":
            files: dict = {}
            for source in CORPUS_SOURCES:
                path = folder / str(i) / f"{source}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                datasets.Dataset.from_dict({"text": [f"{source} testua."]}).to_parquet(str(path))
                files[f"data/{source}/train-00000-of-00001.parquet"] = path
        else:
            files = conversation_files(folder / str(i))
        GitStore().publish(repo_id, files, message="stand-in")


@pytest.fixture
def grid_spec(tmp_path) -> grid.GridSpec:
    spec = read_spec(GRID, grid.GridSpec, "grid spec")
    publish_grid_datasets(spec, tmp_path / "stand-ins")
    return spec


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict]:
    """The 18 configs, rendered once for the module against its own store (they only read it)."""
    home = tmp_path_factory.mktemp("grid-home")
    before = os.environ.get("FACTORY_HOME")
    os.environ["FACTORY_HOME"] = str(home)
    try:
        spec = read_spec(GRID, grid.GridSpec, "grid spec")
        publish_grid_datasets(spec, home / "stand-ins")
        return {run.name: axolotl_config.render(run.spec).config for run in grid.expand(spec)}
    finally:
        if before is None:
            os.environ.pop("FACTORY_HOME", None)
        else:
            os.environ["FACTORY_HOME"] = before


def test_grid_expands_the_17_paper_codes_and_the_70b_run(rendered):
    assert list(rendered) == [f"exp_{c}" for c in PAPER_CODES] + [
        "Latxa-Llama-3.1-70B-Instruct-exp_2_101"
    ]
    backbones = {
        "0": "meta-llama/Llama-3.1-8B",
        "1": "HiTZ/Latxa-Llama-3.1-8B",
        "2": "meta-llama/Llama-3.1-8B-Instruct",
    }
    for code in PAPER_CODES:
        config = rendered[f"exp_{code}"]
        assert config["base_model"] == backbones[code[0]]
        kinds = [
            "corpus" if d["type"] == "completion" else d["path"].split("/")[-2]
            for d in config["datasets"]
        ]
        # datasets switched on by position: corpus (7 sources), Basque, English instructions
        expected = (
            ["Magpie-Llama-3.1-8B-Instruct-Filtered-translated-1M"] * (code[3] == "1")
            + ["Magpie-Llama-3.1-8B-Instruct-Filtered-1M"] * (code[4] == "1")
            + ["corpus"] * 7 * (code[2] == "1")
        )
        assert kinds == expected, code
        assert config["seed"] == (42 if code == "2_010" else 33)
        for key, value in PUBLISHED.items():
            assert config[key] == value, (code, key)
        assert config["output_dir"] == f"./outputs/exp_{code}"
    big = rendered["Latxa-Llama-3.1-70B-Instruct-exp_2_101"]
    assert big["base_model"] == "meta-llama/Llama-3.1-70B-Instruct" and big["seed"] == 33
    assert big["datasets"][0]["path"].split("/")[-2] == "Magpie-Llama-3.1-70B-Instruct-Filtered-1M"
    assert (big["evals_per_epoch"], big["save_total_limit"], big["fsdp"]) == (5, 20, ["full_shard"])


def test_every_dataset_pinned_and_chat_datasets_carry_the_llama31_template(rendered):
    template = (REPO / "factory" / "train" / "templates" / "llama-3.1.jinja").read_text()
    assert template.startswith("{{- bos_token }}") and "<|start_header_id|>" in template
    config = rendered["exp_1_111"]
    assert (config["chat_template"], config["chat_template_jinja"]) == ("jinja", template)
    for entry in [*config["datasets"], *config["test_datasets"]]:
        assert entry["ds_type"] == "parquet" and all(
            entry["path"] in f for f in entry["data_files"]
        )
        if entry["type"] == "chat_template":
            assert entry["chat_template"] == "jinja" and entry["chat_template_jinja"] == template
            assert entry["roles_to_train"] == ["gpt", "assistant"]
            assert entry["train_on_eos"] == "turn"
        else:
            assert entry["field"] == "text" and "chat_template" not in entry
    corpus = [e for e in config["datasets"] if e["type"] == "completion"]
    assert [Path(e["data_files"][0]).parent.name for e in corpus] == CORPUS_SOURCES


def normalise(value):
    """YAML 1.1 reads 1e-8 as a string; axolotl's schema reads it as a float."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


PATH_KEYS = {"base_model", "output_dir", "dataset_prepared_path", "revision_of_model"}
SOURCE_KEYS = {"path", "ds_type", "data_files", "revision", "name"}


def comparable_dataset(entry: dict, real: dict) -> dict:
    out = {k: v for k, v in entry.items() if k not in SOURCE_KEYS}
    if "split" not in real:
        out.pop("split", None)  # ours says train, axolotl's default
    if "message_field_role" in real:  # the published configs use the keys axolotl 0.19 deprecates
        mapping = out.pop("message_property_mappings")
        out["message_field_role"], out["message_field_content"] = (
            mapping["role"],
            mapping["content"],
        )
    return out


def test_grid_matches_the_published_configs_field_by_field(rendered, shared_data):
    folder = shared_data / "latxa-instruct-eval" / "train_configs"
    if not folder.is_dir():
        pytest.skip("latxa-instruct-eval/train_configs is not in the shared data")
    names = {f"exp_{c}": f"exp_{c}_fixed.yaml" for c in PAPER_CODES}
    names["Latxa-Llama-3.1-70B-Instruct-exp_2_101"] = "Latxa-Llama-3.1-70B-Instruct-exp_2_101.yaml"
    fields = 0
    for name, file in names.items():
        real, ours = yaml.safe_load((folder / file).read_text()), rendered[name]
        for key, value in real.items():
            if value is None or key in PATH_KEYS or key.startswith("wandb_"):
                continue  # unset in axolotl, a local path, or someone's logging account
            if key in ("datasets", "test_datasets"):
                assert len(ours[key]) == len(value), (name, key)
                for i, (mine, theirs) in enumerate(zip(ours[key], value)):
                    expected = {k: v for k, v in theirs.items() if k != "path"}
                    assert comparable_dataset(mine, theirs) == expected, (name, key, i)
                    fields += len(expected)
                continue
            assert normalise(ours.get(key)) == normalise(value), (name, key)
            fields += 1
        extra = set(ours) - set(real) - {"revision_of_model"}
        assert not extra, (name, extra)
    assert fields > 18 * 60


@pytest.mark.slow
def test_grid_configs_validate_against_axolotl_schema(tmp_path, grid_spec):
    """axolotl 0.19's own pydantic models (AxolotlInputConfig), where axolotl is importable or
    AXOLOTL_PYTHONPATH points at its unpacked wheel (installing its dependencies is not needed)."""
    from axolotl_schema import axolotl_env

    env = axolotl_env()
    paths = []
    for run in grid.expand(grid_spec):
        out = tmp_path / f"{run.name}.yaml"
        axolotl_config.write(run.spec, out)
        paths.append(str(out))
    check = (
        "import sys, json, yaml\n"
        "from axolotl.utils.schemas.config import AxolotlInputConfig\n"
        "out = []\n"
        "for p in sys.argv[1:]:\n"
        "    c = AxolotlInputConfig.model_validate(yaml.safe_load(open(p)))\n"
        "    out.append([c.seed, c.num_epochs, c.cosine_min_lr_ratio, len(c.datasets), len(c.test_datasets),\n"
        "                sorted({d.type for d in c.datasets}), c.datasets[0].chat_template_jinja is not None,\n"
        "                c.datasets[0].train_on_eos, c.special_tokens.pad_token])\n"
        "print('SCHEMA ' + json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check, *paths], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("SCHEMA "))
    report = json.loads(line.removeprefix("SCHEMA "))
    assert len(report) == 18
    by_code = dict(zip([*PAPER_CODES, "70B"], report))
    assert by_code["1_111"] == [
        33,
        4,
        0.33,
        9,
        2,
        ["chat_template", "completion"],
        True,
        "turn",
        "<|end_of_text|>",
    ]
    assert by_code["2_100"][3:6] == [7, 2, ["completion"]]
    assert by_code["2_010"][0] == 42


def test_cli_writes_configs_lineage_and_slurm_scripts(tmp_path, grid_spec, factory_home):
    out = tmp_path / "grid"
    done = run_cli(
        "train",
        "grid",
        str(GRID),
        "--out",
        str(out),
        "--only",
        "2_011",
        "--only",
        "Latxa-Llama-3.1-70B-Instruct-exp_2_101",
        home=factory_home,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "Latxa-Llama-3.1-70B-Instruct-exp_2_101.factory_lineage.json",
        "Latxa-Llama-3.1-70B-Instruct-exp_2_101.slurm.sh",
        "Latxa-Llama-3.1-70B-Instruct-exp_2_101.yaml",
        "exp_2_011.factory_lineage.json",
        "exp_2_011.slurm.sh",
        "exp_2_011.yaml",
    ]
    config = yaml.safe_load((out / "exp_2_011.yaml").read_text())
    lineage = json.loads((out / "exp_2_011.factory_lineage.json").read_text())["factory_lineage"]
    assert [d["sha"] for d in lineage["datasets"]][0] in config["datasets"][0]["path"]
    script = (out / "exp_2_011.slurm.sh").read_text()
    assert subprocess.run(["bash", "-n", str(out / "exp_2_011.slurm.sh")]).returncode == 0
    assert "#SBATCH --nodes=32" in script and "--num_processes 128" in script
    assert '--fsdp_device_mesh "(32,4)"' in script
    assert f"-m axolotl.cli.train {(out / 'exp_2_011.yaml').resolve()}" in script
    big = (out / "Latxa-Llama-3.1-70B-Instruct-exp_2_101.slurm.sh").read_text()
    assert "--num_processes 256" in big and "--fsdp_sharding_strategy FULL_SHARD" in big
    assert "#SBATCH --mem=494000MB" in big


def test_cli_user_errors_are_one_line(tmp_path, factory_home):
    unquoted = tmp_path / "grid.yaml"
    unquoted.write_text(GRID.read_text().replace('"0_010", ', "0_010, "))
    line = one_error_line(run_cli("train", "grid", str(unquoted), home=factory_home))
    assert "were read as numbers): YAML reads 2_011 as 2011, write '2_011'" in line
    line = one_error_line(run_cli("train", "grid", str(GRID), "--only", "3_011", home=factory_home))
    assert line.startswith(f"error: --only: no run 3_011 in {GRID} (runs: exp_0_010, ")
    line = one_error_line(
        run_cli("train", "grid", str(GRID), "--run", home=factory_home, PATH="/usr/bin:/bin")
    )
    assert line == (
        "error: factory train grid --run needs the Python module `axolotl`, "
        "which is not installed: pip install axolotl"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("codes", ["2_000"]), "trains on no dataset group"),
        (("codes", ["3_011"]), "backbone 3 is not in backbones"),
        (("codes", ["2_01"]), "is not BACKBONE_CIE"),
        (("seeds", {"0_001": 1}), "seeds names codes that are not in codes: 0_001"),
        (("hyperparameters", {"seed": 1}), "seed cannot be set here"),
    ],
)
def test_bad_grid_specs(tmp_path, change, message):
    data = yaml.safe_load(GRID.read_text())
    data[change[0]] = change[1]
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RecipeError, match=message):
        read_spec(path, grid.GridSpec, "grid spec")
