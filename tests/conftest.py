"""Shared fixtures: every test gets its own FACTORY_HOME; the spine's test kind `echo` is registered."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED_DATA = REPO.parent / "shared" / "data"

sys.path.insert(0, str(TESTS))
os.environ.setdefault("FACTORY_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.pop("HF_TOKEN", None)

import support.echo_kind  # noqa: E402,F401  (registers the `echo` kind)
from hub_fixtures import hub, hub_server  # noqa: E402,F401  (loopback Hub)


@pytest.fixture(autouse=True)
def factory_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("factory-home")
    monkeypatch.setenv("FACTORY_HOME", str(home))
    return home


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for running `factory` in a subprocess with the test kind available."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH", "")]))
    env["FACTORY_PLUGINS"] = "support.echo_kind"
    env.update(extra)
    return env


def write_echo_inputs(folder: Path, files: int = 4, rows: int = 25) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(folder / f"part{f}.jsonl", "w") as handle:
            for i in range(rows):
                handle.write(json.dumps({"id": f"d{f}-{i:03d}", "text": "" if i % 10 == 0 else f"kaixo mundua {f} {i}"}) + "\n")
    return folder


def write_echo_recipe(path: Path, inputs: str, *, repo_id: str = "test/echo", extra: str = "") -> Path:
    path.write_text(
        f"kind: echo\nname: echo-test\nseed: 1\ninputs:\n  - path: {inputs}\noutput:\n  repo_id: {repo_id}\n"
        f"card:\n  template: base.md.j2\n{extra}"
    )
    return path
