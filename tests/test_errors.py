"""User errors survive the trip from a datatrove worker process back to the build, type and text intact."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from factory import errors

SAMPLES = [
    errors.RecipeError(["r.yaml: seed: bad", "r.yaml: name: required field is missing"]),
    errors.InputError("r.yaml: inputs.0.path: no file matches 'x'"),
    errors.StoreError("local store: git failed"),
    errors.RepoNotFound("dataset 'a/b' not found"),
    errors.RevisionNotFound("dataset 'a/b' has no revision 'v9'"),
    errors.CredentialsError("needs a token"),
    errors.MissingDependency("vllm", "'latxa-factory[vllm]'", "engine.type vllm"),
    errors.EngineError("engine.base_url: 500"),
    errors.BuildError("stage x failed"),
    errors.TaskFailed("stage x: task 1 failed; log: x.log"),
    errors.DataCheckFailed("assembled 3 rows but the task manifests list 4"),
    errors.Interrupted(),
    errors.ClusterError("executor: no Ray node has 4 GPUs"),
]


def test_every_user_error_class_is_sampled():
    sampled = {type(e) for e in SAMPLES}
    assert sampled == {
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.FactoryError)
    } - {errors.FactoryError}


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_pickle_round_trip_keeps_type_and_text(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)
    if isinstance(error, errors.RecipeError):
        assert again.problems == error.problems


WORKER_RAISES = """
import sys
from datatrove.executor.local import LocalPipelineExecutor
from factory.errors import MissingDependency

def step(data, rank, world_size):
    raise MissingDependency("vllm", "'latxa-factory[vllm]'", "engine.type vllm")

executor = LocalPipelineExecutor([step], tasks=2, workers=2, logging_dir=sys.argv[1], start_method="fork")
try:
    executor.run()
except MissingDependency as error:
    print("caught:", error)
"""


def test_error_raised_in_a_worker_task_reaches_the_parent(tmp_path):
    # in a subprocess with a timeout: the failure this guards against is a pool that never returns
    done = subprocess.run(
        [sys.executable, "-c", WORKER_RAISES, str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "caught: engine.type vllm needs the Python module `vllm`" in done.stdout, done.stderr[
        -2000:
    ]
