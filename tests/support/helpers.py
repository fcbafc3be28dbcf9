"""Helpers for the spine tests: a CLI environment with the `echo` test kind, inputs and recipes."""

from __future__ import annotations

import json
import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


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
