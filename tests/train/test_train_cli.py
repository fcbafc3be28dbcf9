"""`factory train-config`: writes the pinned config; bad specs and a missing axolotl are one line, exit 2."""

from __future__ import annotations

import yaml
from support.helpers import one_error_line, run_cli
from train_fixtures import conversation_files

from factory.store.git import GitStore

SPEC = """\
name: cli-run
base_model: meta-llama/Llama-3.1-8B
base_model_revision: 0e9e39f249a16976918f6564b8830bc894c89659
datasets:
  - dataset: {ref}
axolotl:
  learning_rate: 2.0e-5
"""


def test_train_config_writes_pinned_config(tmp_path, factory_home):
    rev = GitStore().publish(
        "latxa/magpie-eu", conversation_files(tmp_path / "data"), message="v1", tag="v1"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(ref="latxa/magpie-eu@v1"))
    done = run_cli(
        "train-config", str(spec), "--out", str(tmp_path / "out" / "ax.yaml"), home=factory_home
    )
    assert done.returncode == 0, done.stderr
    assert f"pinned latxa/magpie-eu@v1 -> {rev.sha} (local)" in done.stdout
    config = yaml.safe_load((tmp_path / "out" / "ax.yaml").read_text())
    assert config["datasets"][0]["path"].endswith(rev.sha)
    assert (tmp_path / "out" / "ax.factory_lineage.json").is_file()
    # default output: <name>.axolotl.yaml in the working directory
    done = run_cli("train-config", str(spec), home=factory_home, cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "cli-run.axolotl.yaml").is_file()


def test_train_config_user_errors(tmp_path, factory_home):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(ref="latxa/magpie-eu"))
    assert "datasets.0.dataset: dataset 'latxa/magpie-eu' is not pinned" in one_error_line(
        run_cli("train-config", str(spec), home=factory_home)
    )
    spec.write_text(SPEC.format(ref="latxa/magpie-eu@v1"))
    assert "dataset 'latxa/magpie-eu' not found in the local store" in one_error_line(
        run_cli("train-config", str(spec), home=factory_home)
    )


def test_run_without_axolotl_names_the_package(tmp_path, factory_home):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(ref="latxa/magpie-eu@v1"))
    line = one_error_line(
        run_cli("train-config", str(spec), "--run", home=factory_home, PATH="/usr/bin:/bin")
    )
    assert (
        line
        == "error: factory train-config --run needs the Python module `axolotl`, which is not installed: pip install axolotl"
    )
