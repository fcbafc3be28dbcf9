"""What a build prints: datatrove logs every task in full to its log file; the console gets
warnings and task progress only (everything with FACTORY_DEBUG=1)."""

from __future__ import annotations

import sys

from datatrove.executor import base as executor_base
from datatrove.utils import logging as dt_logging
from datatrove.utils.logging import logger

from factory.settings import debug

_PROGRESS = ("tasks completed", "Skipping", "progress:")


def _keep(record) -> bool:
    if record.get("exception") is not None:
        return False  # a task's traceback goes to its log file; the build ends with one line
    return record["level"].no >= 30 or any(marker in record["message"] for marker in _PROGRESS)


def _line(record) -> str:
    # a callable format: loguru appends no traceback to it
    return "  {level}: {message}\n"


def _console() -> None:
    logger.add(sys.stderr, level="INFO", filter=_keep, format=_line, colorize=False)


def _add_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    logger.add(
        logfile,
        level="DEBUG",
        colorize=False,
        format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}",
    )
    _console()
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _close_task_logger(logfile) -> None:
    logger.complete()
    logger.remove()
    _console()
    logfile.close()


def quiet_datatrove_console() -> None:
    """Route datatrove's per-task console logging through `_keep` (unless FACTORY_DEBUG=1)."""
    if debug():
        return
    logger.remove()
    _console()
    executor_base.add_task_logger = _add_task_logger
    executor_base.close_task_logger = _close_task_logger
    dt_logging.setup_default_logger = lambda: (logger.remove(), _console())
