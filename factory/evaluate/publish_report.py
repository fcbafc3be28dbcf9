"""Publish `factory eval report` tables as a dataset: the files, lineage.json and a short card."""

from __future__ import annotations

from pathlib import Path

from factory.hub import Backend, open_store
from factory.refs import DatasetRef
from factory.store.base import Revision

CARD = """---
tags:
- evaluation
- lm-evaluation-harness
---
# {name}

Benchmark tables written by `factory eval report` from lm-evaluation-harness results files.

| file | holds |
| --- | --- |
{rows}

Each cell is the first metric of the task's preference list that its result has, x 100
({metrics}); `mean` averages the unrounded cells a row has. `lineage.json` names, for every
cell, the results file and metric it came from, and the sha256 of every results file read.
"""


def card(spec, written: dict[str, Path]) -> str:
    rows = "\n".join(f"| `{name}` | {name.rsplit('.', 1)[-1]} table |" for name in sorted(written))
    metrics = ", ".join(spec.metrics.default) + "".join(
        f"; {task}: {', '.join(keys)}" for task, keys in sorted(spec.metrics.tasks.items())
    )
    return CARD.format(name=spec.name, rows=rows, metrics=metrics)


def publish_report(
    spec, written: dict[str, Path], target: DatasetRef, backend: Backend
) -> Revision:
    """One commit holding exactly the tables, lineage.json and README.md; tagged when the ref has @tag."""
    files: dict[str, Path | bytes] = {f"tables/{name}": path for name, path in written.items()}
    files["README.md"] = card(spec, written).encode()
    return open_store(backend).publish(
        target.repo_id,
        files,
        message=f"factory eval report: {spec.name}",
        tag=target.revision,
    )
