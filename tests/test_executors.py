"""The recipe's executor section picks datatrove's executor in one place."""

from __future__ import annotations

import pytest
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.executor.slurm import SlurmPipelineExecutor

from factory.engines.executors import make_executor
from factory.errors import MissingDependency
from factory.recipe_base import ExecutorSpec


def test_local_executor_resumes_and_caps_workers(tmp_path):
    executor = make_executor(ExecutorSpec(tasks=3, workers=8), [], logging_dir=tmp_path)
    assert isinstance(executor, LocalPipelineExecutor)
    assert executor.world_size == 3 and executor.workers == 3 and executor.skip_completed


def test_stage_task_count_overrides_recipe(tmp_path):
    assert make_executor(ExecutorSpec(tasks=8), [], logging_dir=tmp_path, tasks=1).world_size == 1


def test_slurm_options_pass_through(tmp_path):
    spec = ExecutorSpec(
        type="slurm", tasks=16, options={"time": "01:00:00", "partition": "gpu", "qos": "high"}
    )
    executor = make_executor(spec, [], logging_dir=tmp_path / "logs")
    assert isinstance(executor, SlurmPipelineExecutor)
    assert executor.tasks == 16 and executor.partition == "gpu" and executor.qos == "high"
    assert executor.skip_completed


def test_ray_missing_is_one_line(tmp_path):
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependency, match=r"pip install 'ray\[default\]'"):
            make_executor(ExecutorSpec(type="ray"), [], logging_dir=tmp_path)
    else:
        pytest.skip("ray is installed")


def test_slurm_script_carries_the_environment_but_never_a_secret(tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    monkeypatch.setenv("HF_TOKEN", "hf_do_not_write_me")
    monkeypatch.setenv("HF_HOME", "/shared/hf")
    spec = ExecutorSpec(type="slurm", options={"time": "01:00:00", "partition": "cpu"})
    executor = make_executor(spec, [], logging_dir=tmp_path / "logs", stage="read")
    script = executor.get_launch_file_contents(
        executor.get_sbatch_args(), "launch_pickled_pipeline x"
    )
    assert f"export PATH={Path(sys.executable).parent}:$PATH" in script
    assert "export FACTORY_HOME=" in script and "export HF_HOME=/shared/hf" in script
    assert "hf_do_not_write_me" not in script  # tokens reach tasks through sbatch --export only
    executor.launch_merge_stats()  # no stats job: it would stay PENDING after a failed stage
