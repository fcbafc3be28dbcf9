"""A fault-injecting `git` put first on PATH: the real git runs except at one chosen subcommand.

`install(folder, monkeypatch)` writes the wrapper and returns `arm(at, fault, command="")`:
at the first argument equal to `at`, `fault` says what happens there:

* kill: SIGKILL the caller (only from a child process: it kills whoever ran git);
* full: git does its work, then reports a full disk;
* fail: one line on stderr, exit status 128;
* second: fail the second such call only;
* silent: exit status 3 and nothing on stderr;
* garbled: two stderr lines, the last one with a byte that is not UTF-8;
* before: run the shell `command` first (another process acting right then), then the real git.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

WRAPPER = """#!/bin/sh
# fault-injecting git: FAULT_AT names a subcommand, FAULT says what happens there
for arg in "$@"; do
  if [ "$arg" = "$FAULT_AT" ]; then
    case "$FAULT" in
      kill) kill -9 $PPID; exit 1 ;;
      full) "$REAL_GIT" "$@" >/dev/null 2>&1
            echo "error: unable to write loose object: No space left on device" >&2; exit 128 ;;
      fail) echo "fatal: injected failure at $FAULT_AT" >&2; exit 128 ;;
      second) echo x >> "$FAULT_COUNT"  # fail the second call only
              if [ "$(wc -l < "$FAULT_COUNT")" -eq 2 ]; then echo "fatal: injected" >&2; exit 128; fi ;;
      silent) exit 3 ;;
      garbled) printf 'hint: a first line\\nfatal: garbled \\377 at %s\\n' "$FAULT_AT" >&2; exit 128 ;;
      before) sh -c "$FAULT_CMD" ;;
    esac
  fi
done
exec "$REAL_GIT" "$@"
"""

Arm = Callable[..., None]


def install(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Arm:
    """Put the wrapper first on PATH (disarmed); the returned `arm` chooses where it strikes."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "git"
    wrapper.write_text(WRAPPER)
    wrapper.chmod(0o755)
    monkeypatch.setenv("REAL_GIT", shutil.which("git"))
    monkeypatch.setenv("FAULT_COUNT", str(folder / "count"))
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")

    def arm(at: str | None, fault: str = "kill", command: str = "") -> None:
        monkeypatch.setenv("FAULT_AT", at or "--never--")
        monkeypatch.setenv("FAULT", fault)
        monkeypatch.setenv("FAULT_CMD", command)

    arm(None)
    return arm
