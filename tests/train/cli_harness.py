"""Run `factory` in a subprocess with the train/eval commands registered, through the real `factory.cli.main`.

Once the lead wires `register` into factory/cli.py the commands already exist and nothing is added.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_BOOT = """
import sys
from factory.cli import app, main
from factory.evaluate.cli import register as register_eval
from factory.train.cli import register as register_train
names = {c.name for c in app.registered_commands}
if "train-config" not in names:
    register_train(app)
if "eval-config" not in names:
    register_eval(app)
sys.argv = ["factory", *sys.argv[1:]]
main()
"""


def run_factory(*args: str, home: Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "FACTORY_HOME": str(home), **env}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-c", _BOOT, *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=120
    )


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The single `error: ...` line of a user error (exit 2, no traceback)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]
