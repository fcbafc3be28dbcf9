"""Progress inside a long task: throttled log lines that the build console shows."""

from __future__ import annotations

import time

from datatrove.utils.logging import logger

MARKER = "progress:"


class TaskProgress:
    """Logs `progress: <what> rank R: done/total` at most every `every_s` seconds (and at the end)."""

    def __init__(self, what: str, rank: int, total: int | None = None, every_s: float = 10.0):
        self.what, self.rank, self.total, self.every_s = what, rank, total, every_s
        self.done = 0
        self._last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if finished or now - self._last >= self.every_s:
            self._last = now
            of = f"/{self.total}" if self.total is not None else ""
            logger.info(f"{MARKER} {self.what} task {self.rank}: {self.done}{of}")
