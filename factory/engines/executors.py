"""The one place that turns a recipe's `executor:` section into a datatrove executor."""

from __future__ import annotations

from pathlib import Path

from datatrove.executor.base import PipelineExecutor

from factory.errors import MissingDependency, RecipeError
from factory.recipe_base import ExecutorSpec


def make_executor(
    spec: ExecutorSpec, pipeline: list, *, logging_dir: Path, tasks: int | None = None
) -> PipelineExecutor:
    """A datatrove executor for one stage; `skip_completed=True` makes reruns resume."""
    tasks = tasks or spec.tasks
    common = {
        "pipeline": pipeline,
        "tasks": tasks,
        "logging_dir": str(logging_dir),
        "skip_completed": True,
    }
    options = dict(spec.options)
    if spec.type == "local":
        from datatrove.executor.local import LocalPipelineExecutor

        workers = spec.workers if spec.workers != -1 else tasks
        # forkserver re-imports the world in every worker; fork is cheap and safe here (no threads yet)
        options.setdefault("start_method", "fork")
        return LocalPipelineExecutor(**common, workers=min(workers, tasks), **options)
    if spec.type == "slurm":
        from datatrove.executor.slurm import SlurmPipelineExecutor

        if "time" not in options or "partition" not in options:
            raise RecipeError("executor.options: the slurm executor needs `time` and `partition`")
        options.setdefault("job_name", Path(logging_dir).parent.name)
        return SlurmPipelineExecutor(**common, **options)
    if spec.type == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise MissingDependency("ray", "'ray[default]'", "the ray executor") from None
        from datatrove.executor.ray import RayPipelineExecutor

        return RayPipelineExecutor(**common, **options)
    raise RecipeError(f"executor.type: unknown executor {spec.type!r} (allowed: local, slurm, ray)")


def wait_for_tasks(executor: PipelineExecutor, tasks: int, *, poll_s: float = 10.0) -> None:
    """Block until every task has its completion marker or the Slurm job is gone from the queue.

    Slurm's executor returns once the array is submitted; a job that fails leaves no marker, so
    polling markers alone would wait forever. Local and Ray executors return when they are done.
    """
    import shutil
    import subprocess
    import time

    from datatrove.executor.slurm import SlurmPipelineExecutor

    if not isinstance(executor, SlurmPipelineExecutor):
        return
    squeue = shutil.which("squeue")
    while executor.get_incomplete_ranks(range(tasks)):
        if squeue is None or not executor.job_id:
            return
        queued = subprocess.run(
            [squeue, "-h", "-j", str(executor.job_id)], capture_output=True, text=True
        )
        if queued.returncode == 0 and not queued.stdout.strip():
            return  # the job left the queue: whatever is incomplete now has failed
        time.sleep(poll_s)
