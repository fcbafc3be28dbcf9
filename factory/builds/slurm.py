"""Slurm builds: every stage submitted up front as a dependent job array, then watched.

`run_stages` submits stage k with `--dependency=afterok:<job of stage k-1>` and records the job
ids in `<workdir>/slurm/jobs.json` as it goes. The driver then only watches (one `squeue` per
poll for all jobs): it can be killed or left, and a later `factory build` (or `factory status`)
finds the recorded jobs. A rerun never submits while a job of the previous attempt is still
queued or running: it waits for it (so no rank ever runs twice), then submits only the ranks
without a completion marker. A job that leaves the queue with ranks unfinished ends the build
with one line naming the stage, a rank and the log that rank wrote; the stages queued behind
it are cancelled (Slurm would keep them PENDING for ever).
"""

from __future__ import annotations

import getpass
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from datatrove.executor.slurm import SlurmPipelineExecutor

from factory.builds.context import BuildContext
from factory.builds.files import write_text_atomic
from factory.builds.stage import Stage
from factory.errors import BuildError, ClusterError
from factory.settings import task_environment

Log = Callable[[str], None]


class FactorySlurmExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor, with the driver's Python and environment, and no stats job.

    datatrove's `merge_stats` job depends `afterok` on the array and stays PENDING for ever
    after a failure; the runner merges the per-task stats itself.
    """

    def launch_merge_stats(self):
        return None

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        if not (self.env_command or self.condaenv or self.venv_path):
            # the interpreter running `factory` and its scripts (launch_pickled_pipeline), and
            # the settings tasks must share; secrets come through sbatch's --export, by name only
            exports = [f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH"]
            for name, value in task_environment().items():
                exports.append(f"export {name}={shlex.quote(value)}")
            self.env_command = "\n".join(exports)
        return super().get_launch_file_contents(sbatch_args, run_script)


@dataclass
class StageJob:
    stage: str
    job_id: str  # "-1": nothing to run (every rank already complete)
    tasks: int
    logs: str  # the stage's logging dir


def jobs_file(ctx: BuildContext) -> Path:
    return ctx.workdir / "slurm" / "jobs.json"


def read_jobs(ctx: BuildContext) -> list[StageJob]:
    path = jobs_file(ctx)
    if not path.is_file():
        return []
    return [StageJob(**row) for row in json.loads(path.read_text())["jobs"]]


def _write_jobs(ctx: BuildContext, jobs: list[StageJob]) -> None:
    payload = {"jobs": [asdict(job) for job in jobs]}
    write_text_atomic(jobs_file(ctx), json.dumps(payload, indent=1) + "\n")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ClusterError(
            f"executor.type slurm: `{name}` is not on PATH; run factory on a Slurm login node"
        )
    return path


def queue_states(job_ids: list[str]) -> dict[str, str]:
    """State of each of `job_ids` still in the queue (an array counts while any task is in it).

    Lists the user's jobs rather than asking for ids: `squeue -j` fails once one id is purged.
    """
    wanted = {j for j in job_ids if j and j != "-1"}
    if not wanted:
        return {}
    out = subprocess.run(
        [_tool("squeue"), "-h", "-u", getpass.getuser(), "-o", "%F %T"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise ClusterError(f"squeue failed: {out.stderr.strip() or out.returncode}")
    states: dict[str, str] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in wanted:
            # an array shows one line per task state: running beats pending
            if states.get(parts[0]) != "RUNNING":
                states[parts[0]] = parts[1]
    return states


def cancel(job_ids: list[str]) -> None:
    ids = [j for j in job_ids if j and j != "-1"]
    if ids:
        subprocess.run([_tool("scancel"), *ids], capture_output=True)


def check_partition_fits(partition: str, cpus: int, mem_gb: float, gpus: int, stage: str) -> None:
    """Fail before submitting when no node of the partition has the CPUs, memory or GPUs a task asks.

    Slurm would reject a GPU request on a GPU-less cluster at sbatch time with a raw error, or
    queue an oversized one for ever.
    """
    out = subprocess.run(
        [_tool("sinfo"), "-h", "-N", "-p", partition, "-o", "%c %m %G"],
        capture_output=True,
        text=True,
    )
    nodes = [line.split() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not nodes:
        raise ClusterError(
            f"executor.options.partition: Slurm partition {partition!r} has no nodes ({out.stderr.strip() or 'sinfo listed none'})"
        )

    def node_gpus(gres: str) -> int:
        total = 0
        for item in gres.split(","):
            fields = item.split("(")[0].split(":")
            if fields[0] == "gpu" and fields[-1].isdigit():
                total += int(fields[-1])
        return total

    fits = [
        int(c.rstrip("+")) >= cpus and int(m.rstrip("+")) >= mem_gb * 1024 and node_gpus(g) >= gpus
        for c, m, g in nodes
    ]
    if not any(fits):
        c, m, g = max(nodes, key=lambda n: (node_gpus(n[2]), int(n[0].rstrip("+"))))
        raise ClusterError(
            f"stage {stage}: each task asks for {cpus} CPU, {mem_gb:g} GB, {gpus} GPU and no node of partition "
            f"{partition!r} has that (largest: {c} CPU, {int(m.rstrip('+')) / 1024:.1f} GB, {node_gpus(g)} GPU); "
            f"lower executor.stages.{stage} or choose another partition"
        )


def _executor(ctx: BuildContext, stage: Stage, depends: str | None):
    from factory.builds.runner import stage_pipeline
    from factory.engines.executors import make_executor

    spec = ctx.recipe.executor
    return make_executor(
        spec,
        stage_pipeline(ctx, stage),
        logging_dir=ctx.stage_logs(stage.name),
        tasks=stage.tasks or spec.tasks,
        resources=stage.resources,
        stage=stage.name,
        depends_job_id=depends,
    )


def incomplete_ranks(logs: Path, tasks: int) -> list[int]:
    done = {p.name for p in (logs / "completions").glob("*")}
    return [rank for rank in range(tasks) if f"{rank:05d}" not in done]


def submit(ctx: BuildContext, stages: list[Stage], log: Log) -> list[StageJob]:
    """Submit every stage with unfinished ranks, each `afterok` the previous one submitted."""
    from factory.engines.executors import stage_resources

    spec = ctx.recipe.executor
    for stage in stages:
        res = stage_resources(spec, stage.name, stage.resources)
        check_partition_fits(spec.options["partition"], res.cpus, res.mem_gb, res.gpus, stage.name)
    if not Path(sys.executable).with_name("launch_pickled_pipeline").exists() and not (
        spec.options.get("venv_path") or spec.options.get("env_command")
    ):
        raise ClusterError(
            f"executor: {Path(sys.executable).parent} has no launch_pickled_pipeline (datatrove's task launcher); "
            "run factory from the environment datatrove is installed in, or set executor.options.venv_path"
        )
    from factory.builds.runner import reuse_checked

    # a finished task is reused only when its manifest still matches; once a stage reruns a
    # task, every later stage read other data and reruns whole
    rerun = False
    for stage in stages:
        tasks = stage.tasks or spec.tasks
        reuse_checked(ctx, stage, tasks, redo_all=rerun, log=log)
        rerun = rerun or bool(incomplete_ranks(ctx.stage_logs(stage.name), tasks))
    earlier = {job.stage: job.job_id for job in read_jobs(ctx)}
    jobs: list[StageJob] = []
    depends: str | None = None
    for stage in stages:
        executor = _executor(ctx, stage, depends)
        executor.run()  # outside an allocation this submits the array (or nothing, when complete)
        job_id = str(executor.job_id)
        if job_id == "-1" and earlier.get(stage.name, "-1") != "-1":
            # nothing left to run: keep the id of the job that did it, for `factory status`
            jobs.append(
                StageJob(
                    stage.name,
                    earlier[stage.name],
                    executor.world_size,
                    str(ctx.stage_logs(stage.name)),
                )
            )
            _write_jobs(ctx, jobs)
            continue
        jobs.append(
            StageJob(stage.name, job_id, executor.world_size, str(ctx.stage_logs(stage.name)))
        )
        _write_jobs(ctx, jobs)  # recorded as soon as submitted: a killed driver loses no job id
        if job_id != "-1":
            depends = job_id
            log(f"      {stage.name}: submitted job {job_id} ({executor.world_size} tasks)")
    return jobs


def _failure(job: StageJob, ranks: list[int]) -> BuildError:
    logs = Path(job.logs)
    rank = ranks[0]
    where = None
    order_file = logs / "ranks_to_run.json"
    if order_file.is_file() and job.job_id != "-1":
        order = json.loads(order_file.read_text())
        if rank in order:
            candidate = logs / "slurm_logs" / f"{job.job_id}_{order.index(rank)}.out"
            where = candidate if candidate.is_file() else None
    task_log = logs / "logs" / f"task_{rank:05d}.log"
    if where is None and task_log.is_file():
        where = task_log
    see = (
        f"see {where}" if where else f"it wrote no log (did the job start? `sacct -j {job.job_id}`)"
    )
    more = f" and {len(ranks) - 1} more" if len(ranks) > 1 else ""
    return BuildError(
        f"stage {job.stage}: rank {rank}{more} of {job.tasks} failed in Slurm job {job.job_id}; {see}; "
        "then rerun the same command to resume"
    )


def watch(
    ctx: BuildContext,
    jobs: list[StageJob],
    log: Log,
    on_stage_done: Callable[[str], None],
    poll_s: float = 1.0,
) -> None:
    """Wait for the recorded jobs in stage order; report each stage once all its ranks are marked."""
    pending = list(jobs)
    delay = poll_s
    while pending:
        job = pending[0]
        missing = incomplete_ranks(Path(job.logs), job.tasks)
        if not missing:
            pending.pop(0)
            on_stage_done(job.stage)
            delay = poll_s
            continue
        states = queue_states([j.job_id for j in pending])
        if job.job_id not in states:
            # gone from the queue: finished, failed or purged; markers are written before exit
            missing = incomplete_ranks(Path(job.logs), job.tasks)
            if not missing:
                continue
            cancel([j.job_id for j in pending[1:]])
            raise _failure(job, missing)
        time.sleep(delay)
        delay = min(delay * 1.5, 10.0)


def run_stages(
    ctx: BuildContext, stages: list[Stage], log: Log, on_stage_done: Callable[[str], None]
) -> None:
    """The Slurm path of a build: attach to a live previous attempt, else submit; then watch."""
    previous = read_jobs(ctx)
    live = queue_states([j.job_id for j in previous])
    if live:
        log(
            "      jobs of an earlier attempt are still in the queue ("
            + ", ".join(
                f"{j.stage} {j.job_id} {live[j.job_id]}" for j in previous if j.job_id in live
            )
            + "): waiting for them instead of submitting again"
        )
        watch(ctx, previous, log, lambda name: None)
    jobs = submit(ctx, stages, log)
    watch(ctx, jobs, log, on_stage_done)


def run_stages_with_stats(ctx: BuildContext, stages: list[Stage], log: Log) -> list:
    """`run_stages`, logging each stage's rows and drops as the runner does for local builds."""
    from factory.builds.stats import merge_stage_stats

    started = time.monotonic()
    by_name = {stage.name: (i, stage) for i, stage in enumerate(stages, 1)}
    stats: dict[str, object] = {}

    def done(name: str) -> None:
        index, stage = by_name[name]
        tasks = stage.tasks or ctx.recipe.executor.tasks
        merged = merge_stage_stats(name, ctx.stage_logs(name), tasks)
        stats[name] = merged
        dropped = ", ".join(f"{r}={n}" for r, n in sorted(merged.dropped.items())) or "none"
        log(
            f"[{index}/{len(stages)}] {name}: {tasks} task{'s' if tasks != 1 else ''} done; rows in {merged.rows_in}, "
            f"out {merged.rows_out}; dropped: {dropped} ({time.monotonic() - started:.1f}s since submit)"
        )

    run_stages(ctx, stages, log, done)
    return [stats[stage.name] for stage in stages]


def build_status(recipe) -> list[str]:
    """One line per stage of `recipe`'s build: tasks done and, for Slurm, its recorded job's state."""
    from factory import kinds

    ctx = BuildContext.create(recipe)
    stages = kinds.get(recipe.kind_name).plan().stages(recipe, ctx)
    jobs = {job.stage: job for job in read_jobs(ctx)}
    states: dict[str, str] = {}
    if jobs and shutil.which("squeue"):
        states = queue_states([job.job_id for job in jobs.values()])
    lines = [f"{recipe.name}: work dir {ctx.workdir}"]
    for index, stage in enumerate(stages, 1):
        tasks = stage.tasks or recipe.executor.tasks
        done = tasks - len(incomplete_ranks(ctx.stage_logs(stage.name), tasks))
        line = f"[{index}/{len(stages)}] {stage.name}: {done}/{tasks} tasks done"
        job = jobs.get(stage.name)
        if job is not None and job.job_id != "-1":
            state = states.get(job.job_id, "not in the queue" if done < tasks else "finished")
            line += f"; Slurm job {job.job_id}: {state}"
        lines.append(line)
    return lines
