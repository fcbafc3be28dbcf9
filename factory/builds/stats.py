"""Per-stage statistics, merged from datatrove's per-task `stats/{rank}.json` files.

datatrove's own `stats.json` only covers the tasks run by the last invocation, so a resumed
build would under-count; merging every task's file counts each task exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.utils.stats import PipelineStats

MANIFEST_STEP_NAME = "🧾 Task manifest"  # factory.builds.verify.TaskManifest


@dataclass
class StepStats:
    name: str
    counters: dict[str, float]


@dataclass
class StageStats:
    name: str
    tasks: int
    rows_in: int = 0
    rows_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    steps: list[StepStats] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "stage": self.name,
            "tasks": self.tasks,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(sorted(self.dropped.items())),
            "steps": [{"step": s.name, **s.counters} for s in self.steps],
        }


def _total(value) -> float:
    if isinstance(value, dict):
        return value.get("total", value.get("n", 0))
    return value or 0


def merge_stage_stats(name: str, logs_dir: Path, tasks: int) -> StageStats:
    merged = PipelineStats()
    for path in sorted((logs_dir / "stats").glob("*.json")):
        merged += PipelineStats.from_json(json.loads(path.read_text()))
    return stage_stats_from(name, merged, tasks)


def stage_stats_from(name: str, merged: PipelineStats, tasks: int = 1) -> StageStats:
    """Rows in/out and drops by reason from datatrove's counters (`PipelineStats(steps)` works in-process)."""
    result = StageStats(name=name, tasks=tasks)
    steps = []
    for step in merged.stats:
        if step.name.endswith(
            MANIFEST_STEP_NAME
        ):  # the runner's bookkeeping, not a step of the kind
            continue
        data = step.to_dict().get("stats", {})
        counters = {key: _total(value) for key, value in data.items()}
        counters = {k: v for k, v in counters.items() if isinstance(v, (int, float))}
        steps.append(StepStats(name=step.name, counters=counters))
    result.steps = steps
    for step in steps:
        for key, value in step.counters.items():
            if key.startswith("dropped_"):
                reason = key.removeprefix("dropped_")
                result.dropped[reason] = result.dropped.get(reason, 0) + int(value)
    if steps:
        first, last = steps[0].counters, steps[-1].counters
        result.rows_in = int(first.get("documents", first.get("total", 0)))
        result.rows_out = int(last.get("total", last.get("forwarded", 0)))
    return result
