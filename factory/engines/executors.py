"""The one place that turns a recipe's `executor:` section into a datatrove executor.

Resources are per stage: a `Stage` declares what one task needs (`StageResources`), the recipe
may override it under `executor.stages.<name>`, and only then does it become Slurm's
`cpus_per_task`/`mem_per_cpu_gb`/`gpus_per_task` or Ray's actor options. Every node must see
the work dir at the same path (a shared filesystem): tasks read and write stage files there.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from datatrove.executor.base import PipelineExecutor

from factory.errors import ClusterError, MissingDependency, RecipeError
from factory.recipe_base import OWN_OPTIONS, ExecutorSpec, StageResources

DEFAULT_RESOURCES = StageResources(cpus=1, mem_gb=2.0, gpus=0)


def stage_resources(
    spec: ExecutorSpec, name: str, declared: StageResources | None
) -> StageResources:
    """Built-in default < what the stage declares < the recipe's `executor.stages.<name>`."""
    merged = DEFAULT_RESOURCES.model_dump()
    for layer in (declared, spec.stages.get(name)):
        if layer is not None:
            merged.update({k: v for k, v in layer.model_dump().items() if v is not None})
    return StageResources(**merged)


def check_stage_names(spec: ExecutorSpec, names: Sequence[str]) -> None:
    """`executor.stages` may only name stages the plan has (a typo would silently do nothing)."""
    unknown = sorted(set(spec.stages) - set(names))
    if unknown:
        raise RecipeError(
            f"executor.stages: unknown stage(s) {', '.join(unknown)} (this recipe's stages: {', '.join(names)})"
        )


def make_executor(
    spec: ExecutorSpec,
    pipeline: list,
    *,
    logging_dir: Path,
    tasks: int | None = None,
    resources: StageResources | None = None,
    stage: str | None = None,
    depends_job_id: str | None = None,
) -> PipelineExecutor:
    """A datatrove executor for one stage; `skip_completed=True` makes reruns resume."""
    tasks = tasks or spec.tasks
    res = stage_resources(spec, stage or "", resources)
    common = {
        "pipeline": pipeline,
        "tasks": tasks,
        "logging_dir": str(logging_dir),
        "skip_completed": True,
    }
    options = {k: v for k, v in spec.options.items() if k not in OWN_OPTIONS[spec.type]}
    if spec.type == "local":
        from datatrove.executor.local import LocalPipelineExecutor

        workers = spec.workers if spec.workers != -1 else tasks
        # forkserver re-imports the world in every worker; fork is cheap and safe here (no threads yet)
        options.setdefault("start_method", "fork")
        return LocalPipelineExecutor(**common, workers=min(workers, tasks), **options)
    if spec.type == "slurm":
        from factory.builds.slurm import FactorySlurmExecutor

        if "time" not in options or "partition" not in options:
            raise RecipeError("executor.options: the slurm executor needs `time` and `partition`")
        options.setdefault("job_name", f"{Path(logging_dir).parent.name}")
        return FactorySlurmExecutor(
            **common,
            **options,
            cpus_per_task=res.cpus,
            # Slurm asks memory per CPU: round up so the task gets at least what it declared
            mem_per_cpu_gb=max(1, math.ceil(res.mem_gb / res.cpus)),
            gpus_per_task=res.gpus,
            depends_job_id=depends_job_id,
        )
    if spec.type == "ray":
        connect_ray(spec)
        check_ray_fits(res, stage or "?")
        from datatrove.executor.ray import RayPipelineExecutor

        if spec.workers != -1:
            options.setdefault("workers", spec.workers)
        return RayPipelineExecutor(
            **common,
            **options,
            cpus_per_task=res.cpus,
            mem_per_cpu_gb=res.mem_gb / res.cpus,
            gpus_per_task=res.gpus,
        )
    raise RecipeError(f"executor.type: unknown executor {spec.type!r} (allowed: local, slurm, ray)")


# -- Ray -------------------------------------------------------------------------------------


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MissingDependency("ray", "'ray[default]'", "the ray executor") from None
    return ray


def connect_ray(spec: ExecutorSpec) -> None:
    """Join the cluster at `executor.options.address` (else `RAY_ADDRESS`, else start a local one).

    The driver's environment (FACTORY_HOME resolved here, HF_HOME, ...) goes to every worker as
    the job's `runtime_env`: a raylet started elsewhere has its own home and no token. Secrets
    do not: Ray's runtime-env agent writes a job's whole runtime_env into its log. They go in
    a worker setup hook instead, which Ray keeps in the GCS's memory under an opaque key.
    """
    ray = _import_ray()
    if ray.is_initialized():
        return
    from factory.settings import secret_environment, task_environment

    runtime_env: dict = {"env_vars": task_environment()}
    secrets = secret_environment()
    if secrets:
        runtime_env["worker_process_setup_hook"] = _secrets_hook(secrets)
    address = spec.options.get("address") or os.environ.get("RAY_ADDRESS") or None
    try:
        ray.init(
            address=address,
            runtime_env=runtime_env,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ClusterError(f"executor: cannot join the Ray cluster at {address}: {first}") from None


def _secrets_hook(secrets: dict[str, str]):
    """A function (pickled by value, closure included) that puts `secrets` in a worker's environ."""

    def factory_secrets() -> None:
        os.environ.update(secrets)

    return factory_secrets


def check_ray_fits(res: StageResources, stage: str) -> None:
    """Fail now, in one line, when no alive node can ever hold one task (Ray would wait forever)."""
    ray = _import_ray()
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    need = {"CPU": res.cpus, "GPU": res.gpus, "memory": res.mem_gb * 2**30}
    if any(all(node.get(k, 0) >= v for k, v in need.items() if v) for node in nodes):
        return
    largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
    raise ClusterError(
        f"stage {stage}: each task asks for {res.cpus} CPU, {res.mem_gb:g} GB, {res.gpus} GPU, and no node "
        f"of the Ray cluster has that (largest: {largest.get('CPU', 0):g} CPU, "
        f"{largest.get('memory', 0) / 2**30:.1f} GB, {largest.get('GPU', 0):g} GPU); "
        f"lower executor.stages.{stage} or add a node that fits"
    )


def generation_resources(engine) -> StageResources:
    """What a task of a stage that generates with `engine` (an `EngineSpec`) asks for.

    vLLM: `tensor_parallel_size` GPUs, with CPUs and host memory to load the weights;
    transformers: one GPU only when its device is `cuda` (`auto` asks none: it runs on whatever
    the node has); an OpenAI-compatible server does the generating elsewhere: 1 CPU.
    """
    if engine.type == "vllm":
        tp = engine.tensor_parallel_size
        return StageResources(gpus=tp, cpus=4 * tp, mem_gb=32.0 * tp)
    if engine.type == "transformers" and str(engine.device).startswith("cuda"):
        return StageResources(gpus=1, cpus=4, mem_gb=16.0)
    return StageResources(gpus=0)
