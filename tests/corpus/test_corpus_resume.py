"""A real `factory build` of the shipped corpus recipe, SIGKILLed mid-build, then resumed.

The Done-when of the corpus issue: a kill-and-resume run gives the same content hash (and the
same rows) as an uninterrupted build in a fresh FACTORY_HOME. The filter stage is made slow
(a quality scorer that sleeps 10 ms per document) and split into 4 tasks run one after the
other, so the kill lands after its first task finished and before its last one did.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory.store.git import GitStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RECIPE = REPO / "recipes" / "corpus_eu.yaml"
TASKS = 4
OVERRIDES = [
    "--set",
    f"executor.tasks={TASKS}",
    "--set",
    "executor.workers=1",
    "--set",
    "quality.scorer=slow_scorer:score",
]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    env["FACTORY_HOME"] = str(home)
    env.pop("FACTORY_PLUGINS", None)
    return env


def _start(home: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "factory.cli", "build", str(RECIPE), *OVERRIDES],
        env=_env(home),
        text=True,
        **kwargs,
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = proc.communicate(timeout=300)
    return proc.returncode, stdout, stderr


def _content_hash(stdout: str) -> str:
    return next(
        line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("content hash: ")
    )


def _rows(home: Path) -> dict[str, list[dict]]:
    ds = GitStore(home / "store").load("latxa/corpus-eu")
    return {split: ds[split].to_list() for split in sorted(ds)}


@pytest.mark.slow
def test_sigkill_mid_build_then_resume_gives_same_content(tmp_path):
    # the uninterrupted reference build runs alongside (it mostly sleeps in the slow scorer)
    reference = _start(tmp_path / "reference", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    home = tmp_path / "killed"
    proc = _start(
        home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    done: list[Path] = []
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = list(home.glob("builds/*/stages/filter/logs/completions/*"))
            if done:
                break
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the build finished before the kill"
    workdir = next(home.glob("builds/*"))
    assert 1 <= len(done) < TASKS, done
    # the kill left a half-done build: earlier stages complete, filter partial, no rows yet
    assert len(list(workdir.glob("stages/read/logs/completions/*"))) == TASKS
    assert not list(workdir.glob("stages/rows/logs/completions/*"))
    assert (
        not (home / "store").exists()
        or "latxa/corpus-eu" not in GitStore(home / "store").list_repos()
    )

    code, ref_out, ref_err = _finish(reference)
    assert code == 0, ref_err
    code, out, err = _finish(_start(home, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 0, err
    assert "read: 4 tasks, 4 already done" in err
    assert re.search(r"filter: 4 tasks, [123] already done", err), err
    assert _content_hash(out) == _content_hash(ref_out)
    resumed_rows, reference_rows = _rows(home), _rows(tmp_path / "reference")
    assert resumed_rows == reference_rows
    ids = [row["id"] for rows in resumed_rows.values() for row in rows]
    assert len(ids) == len(set(ids)) and set(resumed_rows) == {"train", "validation", "test"}
    # the card's tables count every document once, as in the uninterrupted build
    card = (GitStore(home / "store").snapshot("latxa/corpus-eu") / "README.md").read_text()
    ref_card = (
        GitStore(tmp_path / "reference" / "store").snapshot("latxa/corpus-eu") / "README.md"
    ).read_text()
    assert _tables(card) == _tables(ref_card)


def _tables(card: str) -> list[str]:
    return [line for line in card.splitlines() if line.startswith("|")]
