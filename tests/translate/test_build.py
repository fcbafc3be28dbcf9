"""`factory build recipes/magpie_translate_eu.yaml --demo` end to end: alignment with the source,
protected spans, bad rows dropped with reasons, the card, SIGKILL-then-resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.helpers import content_hash
from translate_fixtures import RECIPE, SAMPLE, demo_mt_path  # noqa: F401

from factory.store.git import GitStore
from factory.translate.source import normalize_conversation
from factory.translate.structure import code_blocks, missing_spans

FACTORY = [str(Path(sys.executable).with_name("factory"))]
REPO_ID = "local/magpie-translate-eu-demo"
TESTS = Path(__file__).resolve().parent
# The suite's demo MT model trains a few seconds only and writes text that language ID rarely calls
# Basque; the language check still runs and records `language_score` (test_quality.py tests it).
EXTRA = ["--set", "quality.language.min_fraction=0.0"]


def run_build(home: Path, *extra: str, recipe: Path = RECIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    return subprocess.run(
        [*FACTORY, "build", str(recipe), "--demo", *EXTRA, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def sample_rows() -> dict[str, dict]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    first: dict[str, dict] = {}
    for row in rows:
        first.setdefault(row.get("id"), row)
    return first


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_mt_path):
    home = tmp_path_factory.mktemp("translate-ref")
    done = run_build(home)
    assert done.returncode == 0, done.stderr
    return home, done


def test_demo_publishes_rows_aligned_with_their_source_rows(reference):
    home, _done = reference
    store = GitStore(home / "store")
    rows = store.load(REPO_ID)["train"].to_list()
    source = sample_rows()
    assert len(rows) >= 5, "the demo must keep a fair share of the sample"
    for row in rows:
        src = source[row["source_id"]]
        messages, problem = normalize_conversation(src["conversations"])
        assert problem is None and row["id"] == row["source_id"]
        assert [m["role"] for m in row["conversations"]] == [m["role"] for m in messages]
        for s, t in zip(messages, row["conversations"]):
            assert code_blocks(t["content"]) == code_blocks(s["content"])
            assert missing_spans(s["content"], t["content"]) == []
        assert row["source_revision"].startswith("sha256:")
        assert row["model"] == "latxa-factory/demo-tiny-mt-en-eu" and row["model_revision"]
        assert row["quality"]["length_ratio"] is not None
        assert row["quality"]["language_score"] is not None
    assert len({r["source_id"] for r in rows}) == len(rows)
    assert not any(r["source_id"].startswith(("translation_", "bad_")) for r in rows)
    structured = [
        r
        for r in rows
        if r["source_id"]
        in {"general_00000100", "general_00000101", "general_00000102", "general_00000103"}
    ]
    assert sum(r["quality"]["spans_checked"] for r in structured) > 0 or not structured

    parallel = store.load(REPO_ID, config="parallel")["train"].to_list()
    by_id = {r["source_id"]: r for r in rows}
    assert {p["source_id"] for p in parallel} == set(by_id)
    for pair in parallel:
        row = by_id[pair["source_id"]]
        assert row["conversations"][pair["turn"]]["content"] == pair["target"]
        src_messages, _ = normalize_conversation(source[pair["source_id"]]["conversations"])
        assert src_messages[pair["turn"]]["content"] == pair["source"]


def test_bad_rows_are_dropped_with_reasons_and_the_card_says_what_was_done(reference):
    home, done = reference
    snapshot = GitStore(home / "store").snapshot(REPO_ID)
    stats = json.loads((snapshot / "stats.json").read_text())
    select = next(s for s in stats["stages"] if s["stage"] == "select")
    assert select["dropped"] == {
        "translate_content_is_a_list": 1,
        "translate_content_is_int": 1,
        "translate_content_null": 1,
        "translate_conversations_empty": 1,
        "translate_conversations_null": 1,
        "translate_duplicate_id": 1,
        "translate_empty_message": 1,  # whitespace and a no-break space
        "translate_excluded": 2,  # ids starting with translation_
        "translate_no_conversations": 1,
    }
    card = (snapshot / "README.md").read_text()
    assert "DEMO DATA, NOT FOR TRAINING" in card
    assert "sample_en" in card and "sha256" in card  # the source and its revision
    assert "latxa-factory/demo-tiny-mt-en-eu" in card
    assert "translate_not_eu" in card and "`length_ratio`" in card
    excluded = list(home.glob("builds/*/stages/select/excluded/bad_rows/*.jsonl.gz"))
    assert excluded, "dropped rows are kept with their reason"
    assert "translate" in done.stderr and "rows" in done.stderr


@pytest.mark.slow
def test_sigkill_mid_translation_then_resume_gives_same_content(reference, tmp_path):
    ref_home, ref_done = reference
    home = tmp_path / "killed"
    env = {**os.environ, "FACTORY_HOME": str(home)}
    proc = subprocess.Popen(
        [*FACTORY, "build", str(RECIPE), "--demo", *EXTRA],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    chunks: list[Path] = []
    while time.monotonic() < deadline and not chunks:
        chunks = list(home.glob("builds/*/stages/translate/checkpoints/*/*.jsonl"))
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert chunks, "the build should have checkpointed a chunk before the kill"
    assert not list(home.glob("builds/*/stages/rows/logs/completions/*"))

    resumed = run_build(home)
    assert resumed.returncode == 0, resumed.stderr
    assert content_hash(resumed.stdout) == content_hash(ref_done.stdout)
    rows = GitStore(home / "store").load(REPO_ID)["train"].to_list()
    assert rows == GitStore(ref_home / "store").load(REPO_ID)["train"].to_list()


def _publish_source(home: Path) -> str:
    """A small conversations dataset in the local store (as magpie_en's output would be)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "id": f"general_{i:08d}",
            "conversations": [
                {
                    "role": "user",
                    "content": "Lions are the most social cats, living in large groups called prides.",
                },
                {
                    "role": "assistant",
                    "content": f"Run `make {i}` and see https://example.com/{i}.",
                },
            ],
        }
        for i in range(3)
    ]
    path = home / "src.parquet"
    home.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    store = GitStore(home / "store")
    revision = store.publish(
        "local/magpie-en-src", {"data/train-00000-of-00001.parquet": path}, message="source"
    )
    return revision.sha


def dataset_input(ref: str) -> list[str]:
    return ["--set", "inputs.0.path=null", "--set", f"inputs.0.dataset={ref}"]


def test_a_source_revision_that_does_not_exist_is_one_line_exit_2(tmp_path):
    _publish_source(tmp_path)
    done = run_build(tmp_path, *dataset_input("local/magpie-en-src@v9-no-such-tag"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "v9-no-such-tag" in lines[0] and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("builds/*/stages/translate/checkpoints/*/*.jsonl"))


@pytest.mark.slow
def test_a_dataset_input_pins_every_row_to_its_commit(tmp_path, demo_mt_path):
    sha = _publish_source(tmp_path)
    loose = ["--set", "quality.length_ratio.min=0.01", "--set", "quality.length_ratio.max=100"]
    done = run_build(tmp_path, *dataset_input(f"local/magpie-en-src@{sha}"), *loose)
    assert done.returncode == 0, done.stderr
    store = GitStore(tmp_path / "store")
    parallel = store.load(REPO_ID, config="parallel")["train"].to_list()
    assert parallel and {p["source_revision"] for p in parallel} == {sha}
    for pair in parallel:
        if pair["role"] == "assistant":
            assert f"`make {pair['source_id'][-1]}`" in pair["target"]
    assert sha in (store.snapshot(REPO_ID) / "README.md").read_text()


def test_recipe_without_a_backend_is_one_line_exit_2(tmp_path):
    done = run_build(tmp_path, "--set", "translate.seq2seq=null")
    assert done.returncode == 2
    assert (
        "translate" in done.stderr and "seq2seq" in done.stderr and "Traceback" not in done.stderr
    )


def test_a_scorer_that_cannot_be_imported_is_one_line_exit_2(tmp_path):
    done = run_build(tmp_path, "--set", "quality.scorer.function=no_such_module:score")
    assert done.returncode == 2
    assert "quality.scorer.function" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("builds/*/stages/translate/checkpoints/*/*.jsonl"))
