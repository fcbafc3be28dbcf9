"""A real Argilla server on loopback: redis-server, osmem-server and argilla-server 2.8.

argilla-server pins `click<8.2`, which the project's typer cannot use, so the server lives in
its own virtual environment (`ARGILLA_SERVER_VENV`, made by `.ci/argilla-setup.sh`); only the
SDK is installed in the project's environment (extra `argilla`). SQLite holds the database,
Debian's redis-server the job queue, osmem-server (an in-memory OpenSearch-compatible server
from PyPI) the search index. Every process gets a free loopback port and is stopped, by its
own pid, when the stack closes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "latxa-factory"
    / "argilla-venv"
)
OWNER = ("owner", "owner-password-123", "owner.apikey.for-tests-only")
ANNOTATORS = [
    ("annotator1", "annotator-password-1", "annotator1.apikey.tests"),
    ("annotator2", "annotator-password-2", "annotator2.apikey.tests"),
]
WORKSPACE = "latxa-review"
BOOT = Path(__file__).with_name("argilla_boot.py")


def server_venv() -> Path:
    return Path(os.environ.get("ARGILLA_SERVER_VENV", DEFAULT_VENV))


def osmem_binary(venv: Path) -> Path | None:
    found = list(venv.glob("lib/python3*/site-packages/osmem_server/bin/osmem-server"))
    return found[0] if found else None


def missing_parts() -> list[str]:
    """What this machine lacks to run the stack (empty: it can run)."""
    venv = server_venv()
    missing = []
    if not (venv / "bin" / "python").exists():
        missing.append(f"argilla-server venv at {venv} (run .ci/argilla-setup.sh)")
    elif osmem_binary(venv) is None:
        missing.append(f"osmem-server in {venv}")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install redis-server)")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s: {log.read_text()[-2000:]}")


def _port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), 1):
        return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500


@dataclass
class ArgillaStack:
    root: Path
    api_url: str = ""
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list = field(default_factory=list)

    @property
    def owner_key(self) -> str:
        return OWNER[2]

    def _spawn(
        self, name: str, args: list[str], env: dict | None = None
    ) -> tuple[subprocess.Popen, Path]:
        log = self.root / f"{name}.log"
        handle = open(log, "wb")
        self.logs.append(handle)
        proc = subprocess.Popen(
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc, log

    def start(self, timeout: float = 120.0) -> ArgillaStack:
        venv = server_venv()
        redis_port, os_port, port = free_port(), free_port(), free_port()
        redis, redis_log = self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        osmem, osmem_log = self._spawn(
            "osmem",
            [
                str(osmem_binary(venv)),
                "--addr",
                f"127.0.0.1:{os_port}",
                "--no-ja",
                "--no-stdin-watch",
            ],
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ARGILLA_", "PYTHON"))},
            "ARGILLA_HOME_PATH": str(self.root / "home"),
            "ARGILLA_DATABASE_URL": f"sqlite+aiosqlite:///{self.root / 'argilla.db'}?check_same_thread=False",
            "ARGILLA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "ARGILLA_ELASTICSEARCH": f"http://127.0.0.1:{os_port}",
            "ARGILLA_SEARCH_ENGINE": "opensearch",
            "ARGILLA_ENABLE_TELEMETRY": "0",
            "HF_HUB_OFFLINE": "1",
        }
        python = str(venv / "bin" / "python")
        _wait(lambda: _port_open(redis_port), "redis-server", 30, redis, redis_log)
        _wait(
            lambda: _http_ok(f"http://127.0.0.1:{os_port}/"), "osmem-server", 30, osmem, osmem_log
        )
        users = [f"{n}:{p}:{k}:owner" for n, p, k in [OWNER]] + [
            f"{n}:{p}:{k}:annotator" for n, p, k in ANNOTATORS
        ]
        server, server_log = self._spawn(
            "argilla", [python, str(BOOT), "127.0.0.1", str(port), *users], env
        )
        self.api_url = f"http://127.0.0.1:{port}"
        _wait(
            lambda: _http_ok(f"{self.api_url}/api/v1/status"),
            "argilla-server",
            timeout,
            server,
            server_log,
        )
        self.env = env
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for handle in self.logs:
            handle.close()
