"""axolotl 0.19's own config schema for the tests, without installing axolotl's dependencies.

The schema (`axolotl.utils.schemas.config.AxolotlInputConfig`) imports with this project's
packages alone, so the tests put axolotl's unpacked wheel on PYTHONPATH of a subprocess:
AXOLOTL_PYTHONPATH if set; nothing if axolotl is importable; else the wheel, fetched once with
`pip download --no-deps axolotl==0.19.0` into the checkout's git-ignored .factory-home/.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

VERSION = "0.19.0"
CACHE = Path(__file__).resolve().parents[2] / ".factory-home" / f"axolotl-{VERSION}"
PROBE = "import axolotl.utils.schemas.config"


@functools.cache  # one import probe per session: importing the schema takes seconds
def _importable(path: str) -> bool:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")])),
    }
    return (
        subprocess.run(
            [sys.executable, "-c", PROBE], env=env, capture_output=True, timeout=300
        ).returncode
        == 0
    )


def _fetch() -> str | None:
    if (CACHE / "axolotl").is_dir():
        return str(CACHE)
    wheels = CACHE.with_name(CACHE.name + "-wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            f"axolotl=={VERSION}",
            "-d",
            str(wheels),
        ],
        capture_output=True,
        timeout=300,
    )
    found = sorted(wheels.glob(f"axolotl-{VERSION}-*.whl")) if done.returncode == 0 else []
    if not found:
        return None
    partial = CACHE.with_name(CACHE.name + ".partial")
    with zipfile.ZipFile(found[0]) as wheel:
        wheel.extractall(partial)
    partial.rename(CACHE)  # whole or absent: a killed unpack is not mistaken for a wheel
    return str(CACHE)


def axolotl_env() -> dict[str, str]:
    """The environment of a subprocess that can import axolotl's schema; skips when there is none."""
    path = os.environ.get("AXOLOTL_PYTHONPATH", "")
    if not path and importlib.util.find_spec("axolotl") is None:
        path = _fetch() or ""
    if not _importable(path):
        pytest.skip(
            f"axolotl {VERSION}'s schema is not importable (set AXOLOTL_PYTHONPATH to its unpacked wheel)"
        )
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH", "")])),
    }
