"""A stage: one datatrove pipeline run over `tasks` tasks by the recipe's executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from datatrove.pipeline.base import PipelineStep


@dataclass
class Stage:
    """`tasks=None` uses the recipe's `executor.tasks`; give 1 when the stage cannot be split."""

    name: str
    pipeline: list[PipelineStep | Callable] = field(default_factory=list)
    tasks: int | None = None
