"""Atomic writes of the side files stages leave for later stages or for a resumed run.

A task killed mid-write must never leave a half-written file under its final name: the next
stage (or a resumed run) would read it. Every file is written next to its target, then renamed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

_TMP_NPY = ".tmp.npy"


def write_text_atomic(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a temporary name of its own: two writers of one file never rename each other's half-file
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(
                handle.fileno()
            )  # the rename must not land before the bytes (power loss, node crash)
        os.chmod(tmp, 0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(_TMP_NPY)
    np.save(tmp, array)
    tmp.replace(path)


def finished_npy(folder: Path) -> list[Path]:
    """The `.npy` files of `folder` in name order, leaving out any a killed task was still writing."""
    return sorted(p for p in Path(folder).glob("*.npy") if not p.name.endswith(_TMP_NPY))
