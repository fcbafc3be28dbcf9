"""Progress lines inside long tasks are throttled, always report completion, and reach the console filter."""

from __future__ import annotations

from datatrove.utils.logging import logger

from factory.builds.console import _keep
from factory.builds.progress import TaskProgress


def test_throttled_and_final_line():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(message.record["message"]), level="INFO")
    try:
        progress = TaskProgress("chunks", rank=3, total=5, every_s=3600)
        for _ in range(5):
            progress.advance()
    finally:
        logger.remove(sink)
    assert lines == ["progress: chunks task 3: 5/5"]


def test_console_keeps_progress_and_drops_chatter():
    class Level:
        def __init__(self, no):
            self.no = no

    assert _keep({"level": Level(20), "message": "progress: chunks task 0: 1/4"})
    assert _keep({"level": Level(20), "message": "3/4 tasks completed."})
    assert not _keep({"level": Level(20), "message": "Reading input file part0.jsonl, 1/2"})
    assert _keep({"level": Level(30), "message": "anything at warning level"})
