"""Builds through the CLI: publish, card, stats, determinism, and resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support.helpers import cli_env, content_hash, run_cli, write_echo_inputs, write_echo_recipe

import factory.hub
from factory.store.git import GitStore

FACTORY = [sys.executable, "-m", "factory.cli"]


@pytest.fixture
def recipe(tmp_path) -> Path:
    write_echo_inputs(tmp_path / "in", files=4, rows=30)
    return write_echo_recipe(
        tmp_path / "echo.yaml", "in", extra="executor:\n  tasks: 4\n  workers: 1\n"
    )


def test_build_publishes_card_stats_and_loads_back(recipe, factory_home):
    done = run_cli("build", str(recipe), "--set", "output.tag=v1", home=factory_home)
    assert done.returncode == 0, done.stderr
    assert "published: test/echo@" in done.stdout
    ds = factory.hub.load("test/echo", revision="v1")
    assert set(ds) == {"train", "test"}
    assert ds["train"].num_rows + ds["test"].num_rows == 4 * 27
    snapshot = factory.hub.open_store("local").snapshot("test/echo", "v1")
    card = (snapshot / "README.md").read_text()
    assert "config_name: default" in card and "path: data/train-*.parquet" in card
    assert "| echo | 4 | 108 | 108 |" in card
    assert content_hash(done.stdout) in card
    stats = yaml.safe_load((snapshot / "stats.json").read_text())
    assert stats["rows"] == {
        "default": {"train": ds["train"].num_rows, "test": ds["test"].num_rows}
    }
    recipe_doc = yaml.safe_load((snapshot / "recipe.yaml").read_text())
    assert recipe_doc["kind"] == "echo" and recipe_doc["executor"]["tasks"] == 4


def test_same_recipe_same_data_in_fresh_homes(recipe, tmp_path):
    first = run_cli("build", str(recipe), "--no-publish", home=tmp_path / "h1")
    second = run_cli("build", str(recipe), "--no-publish", home=tmp_path / "h2")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert content_hash(first.stdout) == content_hash(second.stdout)
    other_seed = run_cli(
        "build", str(recipe), "--no-publish", "--set", "seed=5", home=tmp_path / "h3"
    )
    assert content_hash(other_seed.stdout) != content_hash(first.stdout)


@pytest.mark.slow
def test_sigkill_mid_build_then_resume_gives_same_content(recipe, tmp_path):
    reference = run_cli(
        "build", str(recipe), "--set", "echo.sleep_per_row=0.01", home=tmp_path / "ref"
    )
    assert reference.returncode == 0, reference.stderr

    home = tmp_path / "killed"
    proc = subprocess.Popen(
        [*FACTORY, "build", str(recipe), "--set", "echo.sleep_per_row=0.01"],
        env=cli_env(FACTORY_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    completions = []
    while time.monotonic() < deadline:
        completions = list(home.glob("builds/*/stages/echo/logs/completions/*"))
        if completions:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 1 <= len(completions) < 4, "the kill should land between the first and the last task"
    rows_written = list(home.glob("builds/*/rows/default/*/*.jsonl.gz"))
    assert rows_written, "the killed build had written rows"

    resumed = run_cli("build", str(recipe), "--set", "echo.sleep_per_row=0.01", home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stderr
    assert content_hash(resumed.stdout) == content_hash(reference.stdout)
    resumed_rows = GitStore(home / "store").load("test/echo")["train"].to_list()
    reference_rows = GitStore(tmp_path / "ref" / "store").load("test/echo")["train"].to_list()
    assert resumed_rows == reference_rows
    assert len({row["id"] for row in resumed_rows}) == len(resumed_rows)


def test_recipe_and_dataset_inputs_are_pinned_in_lineage(recipe, tmp_path, factory_home):
    first = run_cli("build", str(recipe), "--set", "output.tag=v1", home=factory_home)
    assert first.returncode == 0, first.stderr
    sha = factory.hub.resolve("test/echo", "v1")
    downstream = tmp_path / "down.yaml"
    downstream.write_text(
        "kind: echo\nname: down\ninputs:\n  - recipe: echo.yaml\n    split: train\n"
        "output:\n  repo_id: test/down\ncard:\n  template: base.md.j2\n"
    )
    done = run_cli("build", str(downstream), home=factory_home)
    assert done.returncode == 0, done.stderr
    card = (factory.hub.open_store("local").snapshot("test/down") / "README.md").read_text()
    assert f"recipe `echo.yaml` at revision `{sha}`" in card
    upstream_train = factory.hub.load("test/echo", revision=sha)["train"].num_rows
    down = factory.hub.load("test/down")
    assert sum(split.num_rows for split in down.values()) == upstream_train

    by_ref = tmp_path / "ref.yaml"
    by_ref.write_text(
        downstream.read_text()
        .replace("recipe: echo.yaml", f"dataset: test/echo@{sha}")
        .replace("test/down", "test/down2")
    )
    again = run_cli("build", str(by_ref), home=factory_home)
    assert again.returncode == 0, again.stderr
    assert content_hash(again.stdout) == content_hash(done.stdout)


def test_no_secret_reaches_published_files_or_logs(recipe, factory_home):
    secret = "hf_SENTINELsecretTOKEN123"
    done = run_cli(
        "build", str(recipe), home=factory_home, HF_TOKEN=secret, FACTORY_ANNOTATOR_SALT=secret
    )
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    snapshot = factory.hub.open_store("local").snapshot("test/echo")
    for path in snapshot.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    for path in factory_home.glob("builds/**/*"):
        if path.is_file() and path.suffix in (".log", ".json", ".txt"):
            assert secret not in path.read_text(errors="replace"), path
