"""Atomic writes of the side files stages leave for later stages or for a resumed run.

A task killed mid-write must never leave a half-written file under its final name: the next
stage (or a resumed run) would read it. Every file is written next to its target, fsynced,
then renamed, and the folder is fsynced so the rename itself survives a node crash.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

_TMP = ".tmp"
_TMP_NPY = ".tmp.npy"
_TEMP_RE = re.compile(r"(?P<stem>.+?)(?:\.(?P<pid>\d+))?\.tmp(?P<suffix>(?:\.npy)?)")


def _write_atomic(path: Path, tmp: Path, write: Callable[[BinaryIO], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            # the rename must not land before the bytes (power loss, node crash)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    _remove_stale_temps(path.parent, tmp)


def _temp_name(path: Path, suffix: str) -> Path:
    # one temp name per process: two writers of one file never rename each other's half-file
    return path.with_name(f"{path.name.removesuffix(suffix)}.{os.getpid()}{_TMP}{suffix}")


def _remove_stale_temps(folder: Path, ours: Path) -> None:
    """Delete temp files of this target left by killed writers (no pid, or a pid not running)."""
    match = _TEMP_RE.fullmatch(ours.name)
    stem, suffix = match["stem"], match["suffix"]
    for candidate in folder.glob(f"{glob.escape(stem)}.*"):
        other = _TEMP_RE.fullmatch(candidate.name)
        if candidate == ours or not other or (other["stem"], other["suffix"]) != (stem, suffix):
            continue
        if other["pid"] is None or not pid_alive(int(other["pid"])):
            candidate.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs (on this machine): whose temp or staging files are not stale."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    _write_atomic(path, _temp_name(path, ""), lambda h: h.write(text.encode()))


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    path = Path(path)
    # `x.npy` -> `x.<pid>.tmp.npy`, which `finished_npy` leaves out
    _write_atomic(path, _temp_name(path, ".npy"), lambda h: np.save(h, array))


def finished_npy(folder: Path) -> list[Path]:
    """The `.npy` files of `folder` in name order, leaving out any a killed task was still writing."""
    return sorted(p for p in Path(folder).glob("*.npy") if not p.name.endswith(_TMP_NPY))
