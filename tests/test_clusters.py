"""Both shipped recipes on a real Slurm and a real Ray cluster: the local content hash, and a resume.

Slurm: Debian's slurmctld/slurmd/munge on this machine (`.ci/clusters.sh slurm`, run here when
the packages are installed and the tests run as root). Ray: a head on 127.0.0.2 and a worker on
127.0.0.3 started from the venv's `ray`, in their own process groups, stopped by group id.
Each is skipped, with the reason, when its software is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "recipes" / "corpus_eu.yaml"
MAGPIE = REPO / "recipes" / "magpie_eu.yaml"
# the demo recipe with fewer instructions (same stages and executors; a quarter of the CPU time)
MAGPIE_DEMO = [str(MAGPIE), "--demo", "--set", "magpie.n_instructions=32"]
SLURM = [
    "--set",
    "executor.type=slurm",
    "--set",
    "executor.options.partition=cpu",
    "--set",
    "executor.options.time=00:20:00",
]

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.cluster]


def _factory(args: list[str], env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from factory.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def _build(args: list[str], env: dict, timeout: float = 900) -> tuple[str, str]:
    proc = _factory(["build", *args, "--no-publish"], env)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    digest = next(line.split()[-1] for line in out.splitlines() if line.startswith("content hash:"))
    return digest, out


@pytest.fixture(scope="session")
def cluster_env(tmp_path_factory) -> dict:
    env = dict(os.environ)
    env["FACTORY_HOME"] = str(tmp_path_factory.mktemp("cluster-home"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


class LocalHashes:
    """The content hash each recipe has when built by the local executor (the reference),
    built on first use and kept for the session."""

    def __init__(self, env: dict):
        self.env, self.hashes = env, {}

    def __getitem__(self, name: str) -> str:
        if name not in self.hashes:
            args = {"corpus": [str(CORPUS)], "magpie": MAGPIE_DEMO}[name]
            self.hashes[name] = _build(args, self.env)[0]
        return self.hashes[name]


@pytest.fixture(scope="session")
def local_hashes(cluster_env, tmp_path_factory) -> LocalHashes:
    return LocalHashes({**cluster_env, "FACTORY_HOME": str(tmp_path_factory.mktemp("local-home"))})


# -- Slurm ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slurm() -> None:
    if (
        shutil.which("sinfo")
        and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0
    ):
        return
    if not shutil.which("slurmctld") or os.geteuid() != 0:
        pytest.skip("no Slurm: apt-get install slurmctld slurmd slurm-client munge, run as root")
    subprocess.run([str(REPO / ".ci" / "clusters.sh"), "slurm"], check=True, timeout=120)


def _jobs(workdir: Path) -> list[dict]:
    path = workdir / "slurm" / "jobs.json"
    return json.loads(path.read_text())["jobs"] if path.is_file() else []


@dataclass
class SlurmCorpus:
    env: dict
    workdir: Path
    submitted: list[dict]  # the jobs the killed driver had recorded
    digest: str
    out: str  # the rerun's output


@pytest.fixture(scope="session")
def slurm_corpus(slurm, cluster_env) -> SlurmCorpus:
    """corpus_eu on Slurm: the driver killed once every stage is queued, then the same command."""
    env = {**cluster_env, "FACTORY_HOME": str(Path(cluster_env["FACTORY_HOME"]) / "slurm-corpus")}
    driver = _factory(["build", str(CORPUS), "--no-publish", *SLURM], env)
    builds = Path(env["FACTORY_HOME"]) / "builds"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # every stage is submitted up front, then the driver waits
        workdirs = list(builds.glob("corpus-eu-*")) if builds.is_dir() else []
        if workdirs and len(_jobs(workdirs[0])) >= 8:
            break
        time.sleep(0.5)
    else:
        driver.kill()
        pytest.fail("the Slurm build did not submit its stages: " + driver.communicate()[0][-2000:])
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    submitted = _jobs(workdirs[0])
    digest, out = _build([str(CORPUS), *SLURM], env)
    return SlurmCorpus(env, workdirs[0], submitted, digest, out)


def _status(env: dict) -> list[str]:
    status = _factory(["status", str(CORPUS), *SLURM], env)
    lines = status.communicate(timeout=120)[0].strip().splitlines()
    assert status.returncode == 0, lines
    return lines


def test_corpus_on_slurm_matches_local_and_survives_a_killed_driver(slurm_corpus, local_hashes):
    assert all(job["job_id"] != "-1" for job in slurm_corpus.submitted)  # a fresh build: all queued
    # the rerun found the first attempt's jobs queued and waited for them: nothing ran twice
    assert "waiting for them instead of submitting again" in slurm_corpus.out
    assert _jobs(slurm_corpus.workdir) == slurm_corpus.submitted  # nothing submitted twice
    assert slurm_corpus.digest == local_hashes["corpus"]
    assert "[8/8] excluded" in slurm_corpus.out
    lines = _status(slurm_corpus.env)
    assert len(lines) == 9 and lines[1].startswith("[1/8] read: 2/2 tasks done; Slurm job ")


def test_magpie_demo_on_slurm_matches_local(slurm, cluster_env, local_hashes):
    env = {**cluster_env, "FACTORY_HOME": str(Path(cluster_env["FACTORY_HOME"]) / "slurm-magpie")}
    digest, out = _build([*MAGPIE_DEMO, *SLURM], env)
    assert digest == local_hashes["magpie"]
    assert out.count("submitted job") == 3


def test_jobs_purged_by_slurm_are_reported_and_reused(slurm_corpus):
    """Once Slurm has forgotten the build's jobs (MinJobAge), `status` and a rerun still work:
    `squeue -j` on a purged id fails, which once made the wait loop spin for ever."""
    first = slurm_corpus.submitted[0]["job_id"]
    deadline = time.monotonic() + 180
    while subprocess.run(["scontrol", "show", "job", first], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, f"Slurm never purged job {first}"
        time.sleep(2)
    from factory.builds.slurm import queue_states

    # Slurm 22.05's `squeue -j` exits 1 for one purged id (a list of them exits 0)
    assert queue_states([first]) == {}
    lines = _status(slurm_corpus.env)
    assert all(line.endswith(": finished") for line in lines[1:]), lines
    digest, out = _build([str(CORPUS), *SLURM], slurm_corpus.env, timeout=300)
    assert digest == slurm_corpus.digest
    assert "submitted job" not in out and "waiting for them" not in out
    assert _jobs(slurm_corpus.workdir) == slurm_corpus.submitted


def test_slurm_failure_is_one_line_with_the_rank_log(slurm, cluster_env, tmp_path):
    """A task that dies ends the build with one line naming stage, rank and an existing log."""
    env = {**cluster_env, "FACTORY_HOME": str(tmp_path)}
    # every Slurm task's interpreter dies at startup (the driver, outside Slurm, is unaffected)
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env['PYTHONPATH']}"
    (tmp_path / "sitecustomize.py").write_text(
        "import os\nif os.environ.get('SLURM_ARRAY_TASK_ID'):\n    os._exit(3)\n"
    )
    proc = _factory(["build", str(CORPUS), "--no-publish", *SLURM], env)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2, out[-2000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("error: stage read: rank 0") and "Traceback" not in out
    log = Path(last.split("; see ")[1].split(";")[0])
    assert log.is_file()
    # the stages queued behind the failed one were cancelled, not left PENDING
    queued = subprocess.run(["squeue", "-h", "-o", "%F"], capture_output=True, text=True).stdout
    workdir = next((tmp_path / "builds").glob("corpus-eu-*"))
    assert not {job["job_id"] for job in _jobs(workdir)} & set(queued.split())


def test_slurm_gpu_request_on_a_gpu_less_partition_is_one_line(slurm, cluster_env, tmp_path):
    env = {**cluster_env, "FACTORY_HOME": str(tmp_path)}
    args = ["build", str(CORPUS), "--no-publish", *SLURM, "--set", "executor.stages.read.gpus=1"]
    proc = _factory(args, env)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in out
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith(
            "error: stage read: each task asks for 1 CPU, 2 GB, 1 GPU and no node of partition 'cpu'"
        )
    )
    assert not list((tmp_path / "builds").glob("*/slurm/jobs.json"))  # nothing was submitted


# -- Ray -------------------------------------------------------------------------------------


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen) -> None:
    """Stop one `ray start --block` and the daemons it started: they share its process group."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_started(proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while "block forever" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"ray did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)


@dataclass
class RayCluster:
    address: str
    temp: Path  # --temp-dir of both nodes: their sessions and logs


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'latxa-factory[ray]')")
    ray_bin = str(Path(sys.executable).with_name("ray"))
    # Ray's unix sockets live under --temp-dir and their paths may not exceed 107 bytes: pytest's
    # own temp folders (`.../pytest-N/popen-gw0/...` under xdist) are too deep
    temp = Path(tempfile.mkdtemp(prefix="ray-"))
    port = 6390 + os.getpid() % 200
    common = ["--block", "--disable-usage-stats", "--num-cpus=2"]
    head = _start(
        [ray_bin, "start", "--head", "--node-ip-address=127.0.0.2", f"--port={port}",
         "--include-dashboard=false", f"--temp-dir={temp}", *common],
        temp / "head.log",
    )  # fmt: skip
    worker = None
    try:
        _wait_started(head, temp / "head.log")  # a worker started earlier finds no head in GCS
        # fixed ports: with dynamic ones a second raylet on a busy machine times out waiting for
        # its metrics agent's port file
        base = port + 1000
        worker = _start(
            [ray_bin, "start", f"--address=127.0.0.2:{port}", "--node-ip-address=127.0.0.3",
             f"--metrics-export-port={base}", f"--dashboard-agent-grpc-port={base + 1}",
             f"--dashboard-agent-listen-port={base + 2}", f"--node-manager-port={base + 3}",
             f"--object-manager-port={base + 4}", f"--runtime-env-agent-port={base + 5}", *common],
            temp / "worker.log",
        )  # fmt: skip
        _wait_started(worker, temp / "worker.log")
        yield RayCluster(f"127.0.0.2:{port}", temp)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(head)
        shutil.rmtree(temp, ignore_errors=True)


def test_corpus_on_ray_matches_local_and_resumes_after_sigkill(
    ray_cluster, cluster_env, local_hashes
):
    env = {
        **cluster_env,
        "FACTORY_HOME": str(Path(cluster_env["FACTORY_HOME"]) / "ray-corpus"),
        "RAY_ADDRESS": ray_cluster.address,
    }
    args = ["build", str(CORPUS), "--no-publish", "--set", "executor.type=ray"]
    driver = _factory(args, env)
    builds = Path(env["FACTORY_HOME"]) / "builds"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill the driver once the first stage has finished
        if list(builds.glob("corpus-eu-*/stages/dedup_signatures/logs")):
            break
        time.sleep(0.3)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    digest, out = _build([str(CORPUS), "--set", "executor.type=ray"], env)
    assert "[1/8] read: 2 tasks, 2 already done" in out
    assert digest == local_hashes["corpus"]


def test_magpie_demo_on_ray_matches_local(ray_cluster, cluster_env, local_hashes):
    env = {
        **cluster_env,
        "FACTORY_HOME": str(Path(cluster_env["FACTORY_HOME"]) / "ray-magpie"),
        "RAY_ADDRESS": ray_cluster.address,
    }
    # the near-duplicate stage used to hang on Ray (E5 freed during the pool's SIGTERM)
    digest, _ = _build([*MAGPIE_DEMO, "--set", "executor.type=ray"], env, timeout=400)
    assert digest == local_hashes["magpie"]


def test_ray_request_no_node_can_meet_fails_fast(ray_cluster, cluster_env):
    env = {**cluster_env, "RAY_ADDRESS": ray_cluster.address}
    started = time.monotonic()
    proc = _factory(
        ["build", str(CORPUS), "--no-publish", "--set", "executor.type=ray",
         "--set", "executor.stages.read.gpus=1"],
        env,
    )  # fmt: skip
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert out.strip().splitlines()[-1].startswith("error: stage read: each task asks for 1 CPU")
    assert "Traceback" not in out and time.monotonic() - started < 120


SEEN_ON_EVERY_NODE = """
import os, ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from factory.engines.executors import connect_ray
from factory.recipe_base import ExecutorSpec

connect_ray(ExecutorSpec(type="ray"))

@ray.remote(num_cpus=1)
def seen():
    return [os.environ.get(name) for name in ("HF_TOKEN", "FACTORY_HOME")]

nodes = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
on = lambda node: NodeAffinitySchedulingStrategy(node, soft=False)
print(ray.get([seen.options(scheduling_strategy=on(node)).remote() for node in nodes]))
"""


def test_ray_tasks_get_the_token_and_no_ray_log_does(ray_cluster, cluster_env, tmp_path):
    """Secrets reach every node's tasks, and none of Ray's files (its runtime-env agent logs a
    job's whole runtime_env) holds them; the non-secret environment does reach that log."""
    token = f"hf_never_logged_{os.getpid()}_{time.time_ns()}"
    home = str(tmp_path / "home")
    env = {
        **cluster_env,
        "RAY_ADDRESS": ray_cluster.address,
        "HF_TOKEN": token,
        "FACTORY_HOME": home,
    }
    proc = subprocess.run(
        [sys.executable, "-c", SEEN_ON_EVERY_NODE],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == repr([[token, home], [token, home]])
    files = [p for p in ray_cluster.temp.rglob("*") if p.is_file() and not p.is_symlink()]
    logged = [p for p in files if home.encode() in p.read_bytes()]
    assert any(p.name.startswith("runtime_env_agent") for p in logged), (
        "the check sees no runtime_env"
    )
    assert not [p for p in files if token.encode() in p.read_bytes()]
