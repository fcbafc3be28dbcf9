"""Run a recipe: its stages through datatrove executors, then assemble, card and publish.

Every stage task leaves a manifest of its files (size, sha256, rows) and then a datatrove
completion marker, so a rerun after a crash (even SIGKILL) reuses a finished task only when
its files still match its manifest, and reruns the rest from their start; a rerun task
overwrites its own output files, so no row is lost or written twice. When a stage reruns any
task, every later stage reruns in full. Before publishing, the row files must match the row-writing
stage's manifests and its row count (`factory.builds.verify`).
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
from factory.builds import verify
from factory.builds.assemble import AssembledDataset, assemble
from factory.builds.console import quiet_datatrove_console
from factory.builds.context import BuildContext
from factory.builds.lock import workdir_lock
from factory.builds.rows import RowWriter
from factory.builds.stage import Stage
from factory.builds.stats import StageStats, merge_stage_stats
from factory.cards import LatxaDatasetCard, card_data
from factory.engines.executors import check_stage_names, make_executor
from factory.errors import BuildError, DataCheckFailed, FactoryError, TaskFailed
from factory.hub import open_store
from factory.recipe_base import RecipeBase
from factory.recipes import resolved_dump
from factory.settings import ensure_writable_home
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


def _failed_task(ctx: BuildContext, stage: Stage, failed: list[int], error: BaseException | None):
    """One line: which stage, which rank, which log file, and what went wrong."""
    logs = ctx.stage_logs(stage.name) / "logs"
    started = [r for r in failed if (logs / f"task_{r:05d}.log").is_file()]
    rank = (started or failed)[0]
    what = f": {type(error).__name__}: {str(error).strip().splitlines()[0][:300]}" if error else ""
    if error is not None and not str(error).strip():
        what = f": {type(error).__name__}"
    others = f" ({len(failed)} tasks not done)" if len(failed) > 1 else ""
    return TaskFailed(
        f"stage {stage.name}: task {rank} failed{what}{others}; log: {logs / f'task_{rank:05d}.log'}; "
        "rerun the same command to resume"
    )


def reuse_checked(ctx: BuildContext, stage: Stage, tasks: int, *, redo_all: bool, log: Log) -> int:
    """Forget the finished tasks of `stage` that cannot be reused; how many were forgotten.

    `redo_all`: an earlier stage reran a task, so every task of this stage read other data.
    """
    logs, manifests = ctx.stage_logs(stage.name), ctx.stage_manifests(stage.name)
    if redo_all:
        finished = verify.finished_ranks(logs, tasks)
        for rank in finished:
            verify.forget_task(logs, manifests, rank)
        return len(finished)
    bad = verify.check_finished_tasks(logs, manifests, tasks)
    for mismatch in bad:
        log(
            f"      task {mismatch.rank} of {stage.name} cannot be reused ({mismatch.reason}); rerunning it"
        )
    return len(bad)


def stage_pipeline(ctx: BuildContext, stage: Stage) -> list:
    """The stage's steps, then the step that writes each task's manifest (what a resume checks)."""
    return [*stage.pipeline, verify.TaskManifest(ctx.stage_manifests(stage.name), stage.pipeline)]


def run_stage(
    ctx: BuildContext, stage: Stage, index: int, total: int, log: Log, *, redo_all: bool = False
) -> tuple[StageStats, bool]:
    """Run what is not done of one stage; (its statistics, whether any task ran)."""
    tasks = stage.tasks or ctx.recipe.executor.tasks
    forgotten = reuse_checked(ctx, stage, tasks, redo_all=redo_all, log=log)
    pipeline = stage_pipeline(ctx, stage)
    executor = make_executor(
        ctx.recipe.executor,
        pipeline,
        logging_dir=ctx.stage_logs(stage.name),
        tasks=tasks,
        resources=stage.resources,
        stage=stage.name,
    )
    done = tasks - len(executor.get_incomplete_ranks(range(tasks)))
    note = f", {done} already done" if done else ""
    if forgotten and not redo_all:
        note += f", {forgotten} rerun after a failed check"
    log(f"[{index}/{total}] {stage.name}: {tasks} task{'s' if tasks != 1 else ''}{note}")
    started = time.monotonic()
    error: BaseException | None = None
    if done < tasks:
        try:
            executor.run()
        except FactoryError as raised:  # a user-fixable problem found by a task: its own line
            raise raised from None
        except Exception as raised:  # anything else a task raised: one line, exit 1
            error = raised
    failed = executor.get_incomplete_ranks(range(tasks))
    if failed or error is not None:
        raise _failed_task(ctx, stage, failed or [0], error)
    stats = merge_stage_stats(stage.name, ctx.stage_logs(stage.name), tasks)
    dropped = ", ".join(f"{reason}={n}" for reason, n in sorted(stats.dropped.items())) or "none"
    log(
        f"      rows in {stats.rows_in}, out {stats.rows_out}; dropped: {dropped} ({time.monotonic() - started:.1f}s)"
    )
    check_sources(ctx, stats)
    return stats, done < tasks


def check_sources(ctx: BuildContext, stats: StageStats) -> None:
    """Stop when a source yields no usable document or loses too much of itself to quarantine.

    Readers report `documents_<source>` and `quarantined/<source>/<reason>` counters; a stage
    without them reads no named source and is not checked.
    """
    ok: dict[str, int] = {}
    bad: dict[str, dict[str, int]] = {}
    for step in stats.steps:
        for key, value in step.counters.items():
            if key.startswith("quarantined/") and key.count("/") >= 2:
                source, reason = key.removeprefix("quarantined/").rsplit("/", 1)
                bad.setdefault(source, {})[reason] = bad.get(source, {}).get(reason, 0) + int(value)
            elif key.startswith("documents_"):
                source = key.removeprefix("documents_")
                ok[source] = ok.get(source, 0) + int(value)
    if not ok and not bad:
        return
    limit = ctx.recipe.quarantine.max_share
    for item in ctx.inputs:
        good, reasons = ok.get(item.name, 0), bad.get(item.name, {})
        lost = sum(reasons.values())
        share = lost / (good + lost) if good + lost else 1.0
        if good > 0 and share <= limit:
            continue
        if good == 0 and limit >= 1.0:
            continue
        top = (
            ", ".join(
                f"{reason}={n}"
                for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            )
            or "no records at all"
        )
        what = (
            "yields no usable document"
            if good == 0
            else f"lost {share:.0%} of its records to quarantine (more than quarantine.max_share={limit:g})"
        )
        raise DataCheckFailed(
            f"source {item.name!r} ({item.ref}) {what}: {top}; quarantined records are under "
            f"{ctx.workdir / 'stages'}; fix the source, or raise quarantine.max_share in the recipe"
        )


def check_assembled(
    ctx: BuildContext, stages: list[Stage], stage_stats: list[StageStats], assembled: int
) -> None:
    """The assembled rows must be exactly what the row-writing stages' tasks wrote and counted."""
    written, counted = 0, []
    listed: list[Path] = []
    for stage, stats in zip(stages, stage_stats):
        if not any(isinstance(step, RowWriter) for step in stage.pipeline):
            continue
        tasks = stage.tasks or ctx.recipe.executor.tasks
        listed.append(ctx.stage_manifests(stage.name))
        counted += [
            int(step.counters.get("total", 0))
            for step in stats.steps
            if step.name.endswith(RowWriter.name)
        ]
        written += verify.check_rows(ctx.rows_dir, ctx.stage_manifests(stage.name), tasks)
    verify.check_no_unknown_rows(ctx.rows_dir, listed)
    problems = []
    if written != assembled:
        problems.append(f"the task manifests list {written}")
    if counted and sum(counted) != assembled:
        problems.append(f"the stage statistics count {sum(counted)}")
    if problems:
        raise DataCheckFailed(
            f"{ctx.recipe.name}: assembled {assembled} rows but {' and '.join(problems)}; "
            f"nothing was published; remove {ctx.workdir} and rerun"
        )


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
    if workdir is None:
        ensure_writable_home()
    store = open_store(recipe.output.backend) if publish else None
    if store is not None:
        store.check_writable(recipe.output.repo_id)
    ctx = BuildContext.create(recipe, workdir=workdir)
    with workdir_lock(ctx.workdir):
        return _build_locked(recipe, ctx, store, log)


def _build_locked(recipe: RecipeBase, ctx: BuildContext, store, log: Log) -> BuildResult:
    plan = kinds.get(recipe.kind_name).plan()
    stages = plan.stages(recipe, ctx)
    log(f"building {recipe.name} ({recipe.kind_name}) in {ctx.workdir}")
    check_stage_names(recipe.executor, [stage.name for stage in stages])
    if recipe.executor.type == "slurm":  # all stages submitted up front, then watched
        from factory.builds.slurm import run_stages_with_stats

        stage_stats = run_stages_with_stats(ctx, stages, log)
    else:
        stage_stats: list[StageStats] = []
        ran = False
        for i, stage in enumerate(stages, 1):
            stats, ran_now = run_stage(ctx, stage, i, len(stages), log, redo_all=ran)
            stage_stats.append(stats)
            ran = ran or ran_now

    dataset = assemble(
        ctx.rows_dir,
        ctx.publish_dir,
        shard_size=recipe.output.shard_size,
        sample_rows=recipe.card.sample_rows,
    )
    check_assembled(ctx, stages, stage_stats, dataset.total_rows)
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
