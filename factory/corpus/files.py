"""Atomic writes of the small side files corpus steps leave for later stages.

A task killed mid-write must never leave a half-written file under its final name: the next
stage (or a resumed run) would read it. Every file is written next to its target, then renamed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_TMP_NPY = ".tmp.npy"


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(_TMP_NPY)
    np.save(tmp, array)
    tmp.replace(path)


def finished_npy(folder: Path) -> list[Path]:
    """The `.npy` files of `folder` in name order, leaving out any a killed task was still writing."""
    return sorted(p for p in Path(folder).glob("*.npy") if not p.name.endswith(_TMP_NPY))
