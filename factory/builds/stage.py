"""A stage: one datatrove pipeline run over `tasks` tasks by the recipe's executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from datatrove.pipeline.base import PipelineStep

from factory.recipe_base import StageResources


@dataclass
class Stage:
    """`tasks=None` uses the recipe's `executor.tasks`; give 1 when the stage cannot be split.

    `resources` is what one task needs (default: 1 CPU, 2 GB, no GPU); a recipe overrides it
    per stage under `executor.stages.<name>`.
    """

    name: str
    pipeline: list[PipelineStep | Callable] = field(default_factory=list)
    tasks: int | None = None
    resources: StageResources = field(default_factory=StageResources)
