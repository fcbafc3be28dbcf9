"""`factory build recipes/magpie_*.yaml --demo` end to end, and SIGKILL-then-resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from magpie_fixtures import demo_model_path  # noqa: F401  (fixture)
from support.helpers import content_hash

from factory.store.git import GitStore

REPO = Path(__file__).resolve().parents[2]
FACTORY = [str(Path(sys.executable).with_name("factory"))]
# smaller than the README's demo, same code path
SMALL = ["--set", "magpie.n_instructions=32", "--set", "magpie.checkpoint_every=8"]


def cli_env(**extra: str) -> dict[str, str]:
    # FACTORY_DEMO_MODEL_CACHE comes from this folder's conftest: the subprocess reuses the cached model
    return {**os.environ, **extra}


def run_build(recipe: str, home: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FACTORY, "build", str(REPO / "recipes" / recipe), "--demo", *SMALL, *extra],
        env=cli_env(FACTORY_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_model_path):
    home = tmp_path_factory.mktemp("magpie-ref")
    done = run_build("magpie_eu.yaml", home)
    assert done.returncode == 0, done.stderr
    return home, done


def test_demo_build_publishes_basque_conversations(reference):
    home, done = reference
    rows = GitStore(home / "store").load("local/magpie-eu-demo")["train"].to_list()
    assert rows, "the demo must publish a non-empty dataset"
    for row in rows:
        assert [m["role"] for m in row["conversations"]] == ["user", "assistant"]
        assert row["language"] == "eu" and row["filter_tags"]["language_score"] >= 0.5
        assert row["model"] == "latxa-factory/demo-tiny-eu" and row["model_revision"]
        assert "created" not in row
    assert len({r["id"] for r in rows}) == len(rows)
    card = (GitStore(home / "store").snapshot("local/magpie-eu-demo") / "README.md").read_text()
    assert "DEMO DATA, NOT FOR TRAINING" in card
    assert "magpie_not_basque" in card  # the filter ran and is described
    assert "instructions" in done.stderr and "dedup" in done.stderr


@pytest.mark.slow
def test_sigkill_mid_generation_then_resume_gives_same_content(reference, tmp_path):
    ref_home, ref_done = reference
    home = tmp_path / "killed"
    proc = subprocess.Popen(
        [*FACTORY, "build", str(REPO / "recipes" / "magpie_eu.yaml"), "--demo", *SMALL],
        env=cli_env(FACTORY_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    chunks: list[Path] = []
    while time.monotonic() < deadline and not chunks:
        chunks = list(home.glob("builds/*/stages/instructions/checkpoints/*/*.jsonl"))
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert chunks, "the build should have checkpointed a chunk before the kill"
    assert not list(home.glob("builds/*/stages/responses/logs/completions/*")), (
        "the kill should land mid-generation"
    )

    resumed = run_build("magpie_eu.yaml", home)
    assert resumed.returncode == 0, resumed.stderr
    assert content_hash(resumed.stdout) == content_hash(ref_done.stdout)
    rows = GitStore(home / "store").load("local/magpie-eu-demo")["train"].to_list()
    assert rows == GitStore(ref_home / "store").load("local/magpie-eu-demo")["train"].to_list()


@pytest.mark.slow
def test_english_demo_builds(tmp_path, demo_model_path):
    done = run_build("magpie_en.yaml", tmp_path, "--set", "magpie.n_instructions=16")
    assert done.returncode == 0, done.stderr
    rows = GitStore(tmp_path / "store").load("local/magpie-en-demo")["train"].to_list()
    assert rows and all(r["language"] == "en" for r in rows)
