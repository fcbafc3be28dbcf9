"""Train specs: strict fields, pinned datasets and model, reserved axolotl keys; one line per problem."""

from __future__ import annotations

import pytest

from factory.errors import RecipeError
from factory.train.spec import TrainSpec
from factory.train.specfile import read_spec

GOOD = """\
name: run
base_model: meta-llama/Llama-3.1-8B
base_model_revision: 0e9e39f249a16976918f6564b8830bc894c89659
datasets:
  - dataset: latxa/magpie-eu@v1
axolotl:
  learning_rate: 1.0e-5
"""


def load(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return read_spec(path, TrainSpec, "train spec")


def problems(tmp_path, text) -> list[str]:
    with pytest.raises(RecipeError) as error:
        load(tmp_path, text)
    return error.value.problems


def test_good_spec_defaults(tmp_path):
    spec = load(tmp_path, GOOD)
    entry = spec.datasets[0]
    assert (entry.dataset, entry.split, entry.field_messages, entry.config) == (
        "latxa/magpie-eu@v1",
        "train",
        "conversations",
        None,
    )
    assert spec.seed == 42 and spec.axolotl == {"learning_rate": 1.0e-5}


def test_unpinned_dataset_is_refused(tmp_path):
    [line] = problems(tmp_path, GOOD.replace("latxa/magpie-eu@v1", "latxa/magpie-eu"))
    assert line.endswith(
        "datasets.0.dataset: dataset 'latxa/magpie-eu' is not pinned: write it as org/name@revision (a tag or commit sha)"
    )


def test_bad_dataset_and_missing_model_revision(tmp_path):
    text = GOOD.replace("latxa/magpie-eu@v1", "magpie").replace(
        "base_model_revision: 0e9e39f249a16976918f6564b8830bc894c89659\n", ""
    )
    lines = problems(tmp_path, text)
    assert any("base_model_revision: required field is missing" in line for line in lines)
    assert any("datasets.0.dataset: invalid dataset 'magpie'" in line for line in lines)


def test_reserved_axolotl_keys(tmp_path):
    [line] = problems(tmp_path, GOOD + "  datasets: []\n  base_model: other/model\n")
    assert "axolotl: base_model, datasets cannot be set here" in line


def test_misspelt_field_suggests(tmp_path):
    [line] = problems(
        tmp_path,
        GOOD.replace(
            "  - dataset: latxa/magpie-eu@v1",
            "  - dataset: latxa/magpie-eu@v1\n    field_mesages: x",
        ),
    )
    assert "datasets.0.field_mesages: unknown field; did you mean 'field_messages'?" in line


def test_unreadable_and_missing_files(tmp_path):
    assert problems(tmp_path, "name: [unclosed\n")[0].endswith(
        "unreadable YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'"
    )
    with pytest.raises(RecipeError, match="train spec file not found"):
        read_spec(tmp_path / "absent.yaml", TrainSpec, "train spec")
