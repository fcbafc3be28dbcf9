"""The recipe's executor section picks datatrove's executor in one place."""

from __future__ import annotations

import os

import pytest
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.executor.slurm import SlurmPipelineExecutor

from factory.engines.executors import make_executor
from factory.errors import MissingDependency, RecipeError
from factory.recipe_base import ExecutorSpec


def test_local_executor_resumes_and_caps_workers(tmp_path):
    executor = make_executor(ExecutorSpec(tasks=3, workers=8), [], logging_dir=tmp_path)
    assert isinstance(executor, LocalPipelineExecutor)
    assert executor.world_size == 3 and executor.workers == 3 and executor.skip_completed


def test_stage_task_count_overrides_recipe(tmp_path):
    assert make_executor(ExecutorSpec(tasks=8), [], logging_dir=tmp_path, tasks=1).world_size == 1


def test_slurm_options_pass_through(tmp_path):
    spec = ExecutorSpec(
        type="slurm", tasks=16, options={"time": "01:00:00", "partition": "gpu", "cpus_per_task": 4}
    )
    executor = make_executor(spec, [], logging_dir=tmp_path / "logs")
    assert isinstance(executor, SlurmPipelineExecutor)
    assert executor.tasks == 16 and executor.partition == "gpu" and executor.cpus_per_task == 4
    assert executor.skip_completed


def test_slurm_needs_time_and_partition(tmp_path):
    with pytest.raises(RecipeError, match="needs `time` and `partition`"):
        make_executor(ExecutorSpec(type="slurm"), [], logging_dir=tmp_path)


def test_ray_missing_is_one_line(tmp_path):
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependency, match=r"pip install 'ray\[default\]'"):
            make_executor(ExecutorSpec(type="ray"), [], logging_dir=tmp_path)
    else:
        pytest.skip("ray is installed")


def _fake_squeue(folder, output: str):
    script = folder / "squeue"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    script.chmod(0o755)


def test_slurm_wait_stops_when_the_job_leaves_the_queue(tmp_path, monkeypatch):
    from factory.engines.executors import wait_for_tasks

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_squeue(bin_dir, "")  # the job is no longer queued or running
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    spec = ExecutorSpec(type="slurm", tasks=2, options={"time": "01:00:00", "partition": "cpu"})
    executor = make_executor(spec, [], logging_dir=tmp_path / "logs")
    executor.job_id = "123"
    wait_for_tasks(executor, 2, poll_s=0.01)  # returns although no task completed
    assert executor.get_incomplete_ranks(range(2)) == [0, 1]


def test_slurm_wait_returns_once_markers_appear(tmp_path, monkeypatch):
    import threading

    from factory.engines.executors import wait_for_tasks

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_squeue(bin_dir, "123 cpu factory R\\n")  # still running
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    spec = ExecutorSpec(type="slurm", tasks=2, options={"time": "01:00:00", "partition": "cpu"})
    executor = make_executor(spec, [], logging_dir=tmp_path / "logs")
    executor.job_id = "123"

    def finish():
        for rank in range(2):
            executor.mark_rank_as_completed(rank)

    timer = threading.Timer(0.2, finish)
    timer.start()
    wait_for_tasks(executor, 2, poll_s=0.02)
    timer.join()
    assert executor.get_incomplete_ranks(range(2)) == []
