"""One build at a time per work dir: a second identical build stops with the first one's pid."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from factory.errors import BuildError

LOCK_NAME = "build.lock"


@contextmanager
def workdir_lock(workdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `workdir` for the whole build (released when the process dies).

    The stage tasks that a build forks inherit the lock, so it is held while any of them runs.
    """
    path = workdir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise BuildError(
                f"{workdir}: the same build is already running (pid {holder}); wait for it to "
                "finish, or stop it and rerun to resume"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing our descriptor releases the lock (children keep theirs until exit)
