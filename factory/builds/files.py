"""Atomic writes of the side files stages leave for later stages or for a resumed run.

A task killed mid-write must never leave a half-written file under its final name: the next
stage (or a resumed run) would read it. Every file is written next to its target, fsynced,
then renamed, and the folder is fsynced so the rename itself survives a node crash.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

_TMP_NPY = ".tmp.npy"


def _write_atomic(path: Path, tmp: Path, write: Callable[[BinaryIO], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as handle:
        write(handle)
        handle.flush()
        # the rename must not land before the bytes (power loss, node crash)
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles: the rename is all we can do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> None:
    path = Path(path)
    _write_atomic(path, path.with_name(path.name + ".tmp"), lambda h: h.write(text.encode()))


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    path = Path(path)
    # `x.npy` -> `x.tmp.npy`, which `finished_npy` leaves out
    _write_atomic(path, path.with_suffix(_TMP_NPY), lambda h: np.save(h, array))


def finished_npy(folder: Path) -> list[Path]:
    """The `.npy` files of `folder` in name order, leaving out any a killed task was still writing."""
    return sorted(p for p in Path(folder).glob("*.npy") if not p.name.endswith(_TMP_NPY))
