"""Real OpenAI-compatible servers on loopback for tests: `transformers serve` with the demo model.

Use from any test module (tests/conftest.py puts tests/ on sys.path):

    transformers_server  # a session fixture, registered in tests/conftest.py

    def test_x(transformers_server):
        url, model = transformers_server.base_url, transformers_server.model

One server per test session (it takes a while to start on 2 cores); it serves the demo model's
local folder, so `model` is that folder and the openai engine loads its tokenizer from it.
Skips when `transformers serve` (the `transformers[serving]` extra, in the test extra) is missing.
`FACTORY_TEST_TRANSFORMERS_SERVE=URL,LOGFILE` reuses a server already running (while developing).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REUSE_ENV = "FACTORY_TEST_TRANSFORMERS_SERVE"


@dataclass(frozen=True)
class RunningServer:
    base_url: str  # up to and including /v1
    model: str  # the `model` to send (the demo model's folder)
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {timeout_s}s: {log.read_text()[-2000:]}")


def start_transformers_serve(model_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`transformers serve MODEL` on 127.0.0.1 at a free port, CPU; returns (process, base_url)."""
    port = free_port()
    cli = shutil.which("transformers", path=str(Path(sys.executable).parent)) or "transformers"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_NO_ADVISORY_WARNINGS="1")
    handle = open(log, "w")
    process = subprocess.Popen(
        [
            cli,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
            str(model_dir),
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", process, log)
    except Exception:
        process.kill()
        raise
    return process, f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="session")
def transformers_server(tmp_path_factory) -> RunningServer:
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("transformers serve needs transformers[serving] (in the test extra)")
    from factory.demo.model import ensure_demo_model

    model_dir = ensure_demo_model()
    running = os.environ.get(REUSE_ENV)
    if running:  # a server already serving the demo model (its log file beside the URL)
        url, log = running.split(",")
        yield RunningServer(base_url=url, model=str(model_dir), log=Path(log))
        return
    log = tmp_path_factory.mktemp("transformers-serve") / "server.log"
    process, base_url = start_transformers_serve(model_dir, log)
    try:
        yield RunningServer(base_url=base_url, model=str(model_dir), log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
