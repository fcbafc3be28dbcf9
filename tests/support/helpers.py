"""Helpers for the spine tests: a CLI environment with the `echo` test kind, inputs and recipes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for running `factory` in a subprocess with the test kind available."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), str(TESTS), env.get("PYTHONPATH", "")])
    )
    env["FACTORY_PLUGINS"] = "support.echo_kind"
    env.update(extra)
    return env


def run_cli(
    *args: str, home: Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    """`factory ARGS` in a subprocess (the real `factory.cli.main`), with its own FACTORY_HOME."""
    return subprocess.run(
        [sys.executable, "-m", "factory.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(FACTORY_HOME=str(home), **env),
        timeout=300,
    )


def content_hash(stdout: str) -> str:
    """The `content hash: <sha256>` a build prints (fails the test when there is none)."""
    found = re.search(r"^content hash: ([0-9a-f]{64})$", stdout, re.MULTILINE)
    assert found, f"no content hash in the build's output: {stdout[-2000:]}"
    return found.group(1)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The single `error: ...` line of a user error (exit 2, no traceback)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, (
        done.stderr
    )
    return lines[0]


def write_echo_inputs(folder: Path, files: int = 4, rows: int = 25) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(folder / f"part{f}.jsonl", "w") as handle:
            for i in range(rows):
                handle.write(
                    json.dumps(
                        {
                            "id": f"d{f}-{i:03d}",
                            "text": "" if i % 10 == 0 else f"kaixo mundua {f} {i}",
                        }
                    )
                    + "\n"
                )
    return folder


def write_echo_recipe(
    path: Path, inputs: str, *, repo_id: str = "test/echo", extra: str = ""
) -> Path:
    path.write_text(
        f"kind: echo\nname: echo-test\nseed: 1\ninputs:\n  - path: {inputs}\noutput:\n  repo_id: {repo_id}\n"
        f"card:\n  template: base.md.j2\n{extra}"
    )
    return path
