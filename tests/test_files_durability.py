"""Side files survive a SIGKILL at any point of their write (factory/builds/files.py promises).

Each case forks a child that writes with a fault injected (killed inside the write, killed
between the fsync and the rename), then checks what a resumed run would find on disk: the
final name holds the old content or the new content, whole, never a torn file, and
`finished_npy` never lists a file that was still being written.
"""

from __future__ import annotations

import builtins
import os
import signal

import numpy as np
import pytest

from factory.builds import files
from factory.builds.files import finished_npy, save_npy_atomic, write_text_atomic

NEW_TEXT = "new content " * 5000
OLD_TEXT = "old content, complete\n"


def _in_killed_child(action) -> None:
    """Run `action` in a forked child that must die by SIGKILL (the fault it injects)."""
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            action()
        finally:
            os._exit(0)  # reached only when no fault fired
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
        "the injected fault never fired: the writer did not go through the expected step"
    )


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _TornHandle:
    """A file handle that writes half of the first chunk, then the process dies."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        self._handle.write(data[: max(1, len(data) // 2)])
        self._handle.flush()
        _die()

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def _kill_inside_write(write):
    real_open = builtins.open

    def torn_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return _TornHandle(handle) if "w" in mode else handle

    def action():
        builtins.open = torn_open
        write()

    return action


def _kill_before_rename(write):
    def action():
        os.replace = lambda *a, **k: _die()
        write()

    return action


FAULTS = {"inside the write": _kill_inside_write, "between fsync and rename": _kill_before_rename}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("existing", [False, True], ids=["first write", "overwrite"])
def test_text_killed_mid_write_leaves_old_or_nothing(tmp_path, fault, existing):
    target = tmp_path / "side" / "plan.json"
    if existing:
        write_text_atomic(target, OLD_TEXT)
    _in_killed_child(FAULTS[fault](lambda: write_text_atomic(target, NEW_TEXT)))
    if existing:
        assert target.read_text() == OLD_TEXT
    else:
        assert not target.exists()
    # the rerun overwrites whatever temp file the kill left behind
    write_text_atomic(target, NEW_TEXT)
    assert target.read_text() == NEW_TEXT
    assert sorted(p.name for p in target.parent.iterdir()) == ["plan.json"]


@pytest.mark.parametrize("fault", FAULTS)
def test_npy_killed_mid_write_is_never_listed_as_finished(tmp_path, fault):
    done = np.arange(10, dtype=np.int64)
    save_npy_atomic(tmp_path / "00000.npy", done)
    big = np.arange(200_000, dtype=np.int64)
    _in_killed_child(FAULTS[fault](lambda: save_npy_atomic(tmp_path / "00001.npy", big)))
    assert finished_npy(tmp_path) == [tmp_path / "00000.npy"]
    assert np.array_equal(np.load(tmp_path / "00000.npy"), done)
    save_npy_atomic(tmp_path / "00001.npy", big)
    assert finished_npy(tmp_path) == [tmp_path / "00000.npy", tmp_path / "00001.npy"]
    assert np.array_equal(np.load(tmp_path / "00001.npy"), big)


def test_torn_temp_file_on_disk_is_ignored_and_replaced(tmp_path):
    """A killed task's leftover `.tmp.npy` (truncated) is not a finished file and is overwritten."""
    array = np.arange(1000, dtype=np.int64)
    save_npy_atomic(tmp_path / "00003.npy", array)
    whole = (tmp_path / "00003.npy").read_bytes()
    (tmp_path / "00004.tmp.npy").write_bytes(whole[: len(whole) // 3])
    assert finished_npy(tmp_path) == [tmp_path / "00003.npy"]
    save_npy_atomic(tmp_path / "00004.npy", array)
    assert not (tmp_path / "00004.tmp.npy").exists()
    assert np.array_equal(np.load(tmp_path / "00004.npy"), array)


@pytest.mark.parametrize(
    "write",
    [
        lambda path: write_text_atomic(path / "a.json", "{}"),
        lambda path: save_npy_atomic(path / "a.npy", np.zeros(3)),
    ],
    ids=["text", "npy"],
)
def test_bytes_are_fsynced_before_the_rename(tmp_path, monkeypatch, write):
    """Without the fsync a power loss can publish the rename with an empty file behind it."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("rename", str(src)))
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    write(tmp_path)
    renames = [i for i, (kind, _) in enumerate(events) if kind == "rename"]
    assert len(renames) == 1, events
    tmp_name = events[renames[0]][1]
    synced_before = [path for kind, path in events[: renames[0]] if kind == "fsync"]
    assert tmp_name in synced_before, events
    # and the folder entry is made durable after the rename
    assert ("fsync", str(tmp_path)) in events[renames[0] :], events
