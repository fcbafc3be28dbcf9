"""Run a recipe: its stages through datatrove executors, then assemble, card and publish.

Every stage task leaves a datatrove completion marker, so a rerun after a crash (even
SIGKILL) skips finished tasks and reruns the rest from their start; a rerun task overwrites
its own output files, so no row is lost or written twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import factory
from factory import kinds
from factory.builds.assemble import AssembledDataset, assemble
from factory.builds.console import quiet_datatrove_console
from factory.builds.context import BuildContext
from factory.builds.stage import Stage
from factory.builds.stats import StageStats, merge_stage_stats
from factory.cards import LatxaDatasetCard, card_data
from factory.engines.executors import check_stage_names, make_executor
from factory.errors import BuildError
from factory.hub import open_store
from factory.recipe_base import RecipeBase
from factory.recipes import resolved_dump
from factory.store.base import Revision

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class BuildResult:
    workdir: Path
    recipe_hash: str
    dataset: AssembledDataset
    stages: list[StageStats] = field(default_factory=list)
    files: dict[str, Path | bytes] = field(default_factory=dict)
    revision: Revision | None = None

    @property
    def content_hash(self) -> str:
        return self.dataset.content_hash


def _package_commit() -> str:
    """The git commit of the latxa-factory source, when it runs from a checkout."""
    root = Path(factory.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "factory",
                "cards",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_stage(ctx: BuildContext, stage: Stage, index: int, total: int, log: Log) -> StageStats:
    tasks = stage.tasks or ctx.recipe.executor.tasks
    executor = make_executor(
        ctx.recipe.executor,
        stage.pipeline,
        logging_dir=ctx.stage_logs(stage.name),
        tasks=tasks,
        resources=stage.resources,
        stage=stage.name,
    )
    done = tasks - len(executor.get_incomplete_ranks(range(tasks)))
    note = f", {done} already done" if done else ""
    log(f"[{index}/{total}] {stage.name}: {tasks} task{'s' if tasks != 1 else ''}{note}")
    started = time.monotonic()
    if done < tasks:
        executor.run()
    failed = executor.get_incomplete_ranks(range(tasks))
    if failed:
        raise BuildError(
            f"stage {stage.name}: {len(failed)} of {tasks} tasks failed (ranks {failed[:10]}); "
            f"see {ctx.stage_logs(stage.name) / 'logs'}, then rerun the same command to resume"
        )
    stats = merge_stage_stats(stage.name, ctx.stage_logs(stage.name), tasks)
    dropped = ", ".join(f"{reason}={n}" for reason, n in sorted(stats.dropped.items())) or "none"
    log(
        f"      rows in {stats.rows_in}, out {stats.rows_out}; dropped: {dropped} ({time.monotonic() - started:.1f}s)"
    )
    return stats


def lineage(recipe: RecipeBase, ctx: BuildContext, dataset: AssembledDataset, extra: dict) -> dict:
    return {
        "recipe_file": recipe.source.name if recipe.source else "(in memory)",
        "recipe_hash": ctx.recipe_hash,
        "content_hash": dataset.content_hash,
        "package_version": factory.__version__,
        "git_commit": _package_commit(),
        "inputs": [item.lineage() for item in ctx.inputs],
        "extra": extra,
        "recipe": resolved_dump(recipe),
    }


def build(
    recipe: RecipeBase, *, publish: bool = True, log: Log = _stderr, workdir: Path | None = None
) -> BuildResult:
    """Build `recipe` (resuming any earlier partial build) and publish it unless `publish=False`."""
    quiet_datatrove_console()
    store = open_store(recipe.output.backend) if publish else None
    if store is not None:
        store.check_writable(recipe.output.repo_id)
    ctx = BuildContext.create(recipe, workdir=workdir)
    plan = kinds.get(recipe.kind_name).plan()
    stages = plan.stages(recipe, ctx)
    log(f"building {recipe.name} ({recipe.kind_name}) in {ctx.workdir}")
    check_stage_names(recipe.executor, [stage.name for stage in stages])
    if recipe.executor.type == "slurm":  # all stages submitted up front, then watched
        from factory.builds.slurm import run_stages_with_stats

        stage_stats = run_stages_with_stats(ctx, stages, log)
    else:
        stage_stats = [run_stage(ctx, s, i, len(stages), log) for i, s in enumerate(stages, 1)]

    dataset = assemble(
        ctx.rows_dir,
        ctx.publish_dir,
        shard_size=recipe.output.shard_size,
        sample_rows=recipe.card.sample_rows,
    )
    if dataset.total_rows == 0:
        reasons = {}
        for stats in stage_stats:
            for reason, n in stats.dropped.items():
                reasons[reason] = reasons.get(reason, 0) + n
        top = (
            ", ".join(f"{r}={n}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
            or "no drops recorded"
        )
        raise BuildError(
            f"{recipe.name}: the build produced no rows ({top}); dropped rows are kept under {ctx.workdir / 'stages'}"
        )

    context = getattr(plan, "card_context", lambda r, c: {})(recipe, ctx)
    extra_files = getattr(plan, "extra_files", lambda r, c: {})(recipe, ctx)
    result = BuildResult(
        workdir=ctx.workdir, recipe_hash=ctx.recipe_hash, dataset=dataset, stages=stage_stats
    )
    result.files = publish_files(recipe, ctx, dataset, stage_stats, context, extra_files)
    log(f"assembled {dataset.total_rows} rows; content hash {dataset.content_hash[:16]}")
    if store is not None:
        result.revision = store.publish(
            recipe.output.repo_id,
            result.files,
            message=f"{recipe.name}: build {ctx.recipe_hash[:12]} ({dataset.total_rows} rows)",
            branch=recipe.output.branch,
            tag=recipe.output.tag,
            private=recipe.output.private,
        )
    return result


def publish_files(
    recipe: RecipeBase,
    ctx: BuildContext,
    dataset: AssembledDataset,
    stage_stats: list[StageStats],
    context: dict,
    extra_files: dict[str, Path],
) -> dict[str, Path | bytes]:
    """Data, card, recipe and statistics: everything one publish commits together."""
    card_cfg = recipe.card
    lineage_info = lineage(recipe, ctx, dataset, context.pop("lineage_extra", {}))
    data = card_data(
        license=card_cfg.license,
        language=card_cfg.language,
        task_categories=card_cfg.task_categories,
        rows=dataset.total_rows,
        data_files=dataset.data_files(),
        pretty_name=card_cfg.pretty_name or recipe.name,
        extra=card_cfg.extra,
    )
    stats_dicts = [s.to_dict() for s in stage_stats]
    card = LatxaDatasetCard.render(
        data,
        card_cfg.template or f"{recipe.kind_name}.md.j2",
        title=card_cfg.pretty_name or recipe.name,
        summary=recipe.description.strip()
        or f"A {recipe.kind_name} dataset built by latxa-factory.",
        repo_id=recipe.output.repo_id,
        counts=dataset.counts,
        stages=stats_dicts,
        samples=dataset.samples,
        lineage=lineage_info,
        recipe=recipe,
        **context,
    )
    stats_doc = {
        "content_hash": dataset.content_hash,
        "recipe_hash": ctx.recipe_hash,
        "rows": dataset.counts,
        "stages": stats_dicts,
    }
    return {
        **dataset.files,
        **extra_files,
        "README.md": str(card).encode(),
        "recipe.yaml": yaml.safe_dump(
            resolved_dump(recipe), sort_keys=False, allow_unicode=True
        ).encode(),
        "stats.json": (json.dumps(stats_doc, indent=1, sort_keys=True) + "\n").encode(),
    }
