"""End to end: the shipped recipe on the bundled sample, resume after a lost stage, recipe errors."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from factory.builds.runner import build
from factory.errors import RecipeError
from factory.recipes import load_recipe, recipe_hash

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "corpus_eu.yaml"


@pytest.mark.slow
def test_sample_build_publishes_splits_tables_plots_and_resumes(tmp_path):
    recipe = load_recipe(RECIPE, ["executor.tasks=2"])
    first = build(recipe, publish=True, log=lambda m: None, workdir=tmp_path / "w1")
    counts = first.dataset.counts["default"]
    assert (
        set(counts) == {"train", "validation", "test"}
        and counts["validation"] >= 7
        and counts["test"] >= 7
    )
    card = first.files["README.md"].decode()
    assert "## Table 2" in card and "## Table 7" in card and "plots/doc_length.png" in card
    assert "`input_malformed_json`: 1" in card
    assert {"plots/doc_length.png", "plots/mean_word_length.png"} <= set(first.files)
    assert first.revision is not None

    import factory.hub

    ds = factory.hub.load(recipe.output.repo_id, revision=first.revision.sha)
    rows = ds["train"].to_list() + ds["validation"].to_list() + ds["test"].to_list()
    ids = {r["id"] for r in rows}
    assert not any(
        i.startswith(("cx-copy", "cx-near", "cx-url", "oscar-es", "oscar-lorem")) for i in ids
    )
    assert {r["source"] for r in rows} == {s.name for s in recipe.sources}
    assert "hplt-mojibake" in ids and "Ã" not in next(
        r["text"] for r in rows if r["id"] == "hplt-mojibake"
    )

    # every drop is published in the `excluded` config, duplicates with the kept copy's id
    excluded = factory.hub.load(
        recipe.output.repo_id, revision=first.revision.sha, config="excluded"
    )["train"].to_list()
    by_id = {r["id"]: r for r in excluded}
    assert by_id["cx-copy-0"]["reason"] == "dedup_exact"
    kept = by_id["cx-copy-0"]["duplicate_of_id"]
    assert kept in ids and by_id["cx-copy-0"]["duplicate_of_source"] != "culturax"
    assert all(r["reason"] for r in excluded) and not ids & set(by_id)
    assert by_id["hplt.jsonl:23"]["reason"] == "input_malformed_json"  # no local path published
    assert {r["stage"] for r in excluded} == {"read", "filter"}

    # a killed build: lose the last three stages' completions and outputs, rerun, same content
    for stage in ("split_plan", "rows", "excluded"):
        shutil.rmtree(tmp_path / "w1" / "stages" / stage)
    shutil.rmtree(tmp_path / "w1" / "rows")
    again = build(recipe, publish=False, log=lambda m: None, workdir=tmp_path / "w1")
    assert again.content_hash == first.content_hash

    # another task count gives the same rows in the same splits (row order follows the tasks)
    other = build(
        load_recipe(RECIPE, ["executor.tasks=3"]),
        publish=False,
        log=lambda m: None,
        workdir=tmp_path / "w2",
    )
    assert _rows(other) == _rows(first)


def _rows(result):
    import pyarrow.parquet as pq

    rows = set()
    for name, path in result.dataset.files.items():
        if name.endswith(".parquet"):
            split = Path(name).name.split("-")[0]
            rows |= {
                (name.split("/")[1], split, r["id"], r.get("text") or r.get("reason"))
                for r in pq.read_table(path).to_pylist()
            }
    return rows


def test_recipe_round_trip_and_hash():
    recipe = load_recipe(RECIPE)
    again = type(recipe).model_validate(recipe.model_dump(mode="json"))
    assert again.model_dump() == recipe.model_dump()
    assert recipe_hash(load_recipe(RECIPE, ["executor.workers=1"])) == recipe_hash(recipe)
    assert recipe_hash(load_recipe(RECIPE, ["seed=5"])) != recipe_hash(recipe)
    assert [i.name for i in recipe.inputs] == [s.name for s in recipe.sources]


@pytest.mark.parametrize(
    "override, message",
    [
        ("sources.0.reader=csv", "sources.0.reader"),
        ("sources.0.filters={min_stopwords: 2}", "unknown filter key(s) min_stopwords"),
        ("sources.1.name=wikipedia", "source names must be unique (repeated: wikipedia)"),
        ("language_id.method=langdetect", "language_id.method"),
        ("filters.min_word=3", "did you mean 'min_words'"),
        ("sources.0.dataset=org/name", "needs `path` and no `dataset`"),
    ],
)
def test_recipe_errors_are_one_line(override, message):
    with pytest.raises(RecipeError) as error:
        load_recipe(RECIPE, [override])
    assert message in str(error.value)


def test_cli_validate():
    out = subprocess.run(
        [sys.executable, "-m", "factory.cli", "validate", str(RECIPE)],
        capture_output=True,
        text=True,
    )
    if "No module named factory.cli.__main__" in out.stderr:
        pytest.skip("factory.cli has no __main__ entry")
    assert out.returncode == 0, out.stderr
