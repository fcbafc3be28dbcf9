"""What a resumed build may reuse: each finished task's outputs, checked against its manifest.

Every stage's pipeline ends with `TaskManifest`: once the task's writers have closed their
files, it fsyncs them and records, per file, its size, sha256 and row count in
`stages/<stage>/manifests/<rank>.json` (written atomically). datatrove writes the task's
completion marker only after that, so a task counts as done only with a manifest.

On a resume, `check_finished_tasks` re-reads every finished task's files: a missing manifest or
a file that is gone, resized or changed makes that task not done (its marker, stats and files
are removed and it reruns). Before publishing, `check_rows` compares the row files with the
manifests of the last stage and the row count with the stage's statistics.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from pydantic import BaseModel, ValidationError

from factory.builds.files import write_text_atomic
from factory.builds.stats import MANIFEST_STEP_NAME
from factory.errors import BuildError


class FileRecord(BaseModel):
    """One output file of one task as it was when the task finished."""

    bytes: int
    sha256: str
    rows: int | None = None  # lines of a JSONL file (gzip or not); None for other files


class TaskRecord(BaseModel):
    rank: int
    files: dict[str, FileRecord]  # absolute path -> record


def _count_rows(path: str) -> int | None:
    if path.endswith((".jsonl.gz", ".json.gz")):
        opener = gzip.open
    elif path.endswith((".jsonl", ".json")):
        opener = open
    else:
        return None
    with opener(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def file_record(path: str, *, sync: bool = False) -> FileRecord:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        if sync:  # the manifest must never describe bytes that a power cut could still lose
            os.fsync(handle.fileno())
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return FileRecord(bytes=size, sha256=digest.hexdigest(), rows=_count_rows(path))


def _writers(pipeline: list) -> Iterator[DiskWriter]:
    """The pipeline's writers, including filters' exclusion writers."""
    for step in pipeline:
        if isinstance(step, DiskWriter):
            yield step
        writer = getattr(step, "exclusion_writer", None)
        if isinstance(writer, DiskWriter):
            yield writer


class TaskManifest(PipelineStep):
    """Last step of every stage: records what this task's writers wrote, after they closed."""

    name = MANIFEST_STEP_NAME
    type = "🧾 - MANIFEST"

    def __init__(self, manifest_dir: str | Path, pipeline: list):
        super().__init__()
        self.manifest_dir = str(manifest_dir)
        self.writers = list(_writers(pipeline))  # the same objects as in the pipeline

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        written: set[str] = set()
        for writer in self.writers:
            _record_opened_files(writer, written)
        if data:
            yield from data  # the writers close their files when their input ends
        files = {
            path: file_record(path, sync=True) for path in sorted(written) if os.path.isfile(path)
        }
        record = TaskRecord(rank=rank, files=files)
        write_text_atomic(manifest_path(self.manifest_dir, rank), record.model_dump_json(indent=1))


def _record_opened_files(writer: DiskWriter, written: set[str]) -> None:
    manager = writer.output_mg
    original = manager.get_file
    folder = writer.output_folder

    def get_file(filename, _original=original):
        written.add(os.path.abspath(folder._join(filename)))
        return _original(filename)

    manager.get_file = get_file


def manifest_path(manifest_dir: str | Path, rank: int) -> Path:
    return Path(manifest_dir) / f"{rank:05d}.json"


def read_manifest(manifest_dir: Path, rank: int) -> TaskRecord | None:
    try:
        return TaskRecord.model_validate_json(manifest_path(manifest_dir, rank).read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


@dataclass
class Mismatch:
    rank: int
    reason: str


def check_task(manifest_dir: Path, rank: int) -> str | None:
    """Why task `rank`'s finished output cannot be reused, or None when it all checks out."""
    record = read_manifest(manifest_dir, rank)
    if record is None:
        return "no readable manifest"
    for path, expected in record.files.items():
        try:
            size = os.path.getsize(path)
        except OSError:
            return f"{path} is missing"
        if size != expected.bytes:
            return f"{path} has {size} bytes, the task wrote {expected.bytes}"
        if file_record(path).sha256 != expected.sha256:
            return f"{path} changed since the task wrote it"
    return None


def forget_task(logs_dir: Path, manifest_dir: Path, rank: int) -> None:
    """Make task `rank` not done: its files (as its manifest lists them), stats, marker, manifest."""
    record = read_manifest(manifest_dir, rank)
    for path in record.files if record else ():
        Path(path).unlink(missing_ok=True)
    for leftover in (
        logs_dir / "completions" / f"{rank:05d}",
        logs_dir / "stats" / f"{rank:05d}.json",
        manifest_path(manifest_dir, rank),
    ):
        leftover.unlink(missing_ok=True)


def finished_ranks(logs_dir: Path, tasks: int) -> list[int]:
    return [r for r in range(tasks) if (logs_dir / "completions" / f"{r:05d}").is_file()]


def check_finished_tasks(logs_dir: Path, manifest_dir: Path, tasks: int) -> list[Mismatch]:
    """Finished tasks whose output no longer matches their manifest (each is forgotten)."""
    bad = []
    for rank in finished_ranks(logs_dir, tasks):
        reason = check_task(manifest_dir, rank)
        if reason is not None:
            forget_task(logs_dir, manifest_dir, rank)
            bad.append(Mismatch(rank, reason))
    return bad


def _listed_rows(rows_dir: Path, manifest_dir: Path, tasks: int) -> dict[str, FileRecord]:
    listed: dict[str, FileRecord] = {}
    for rank in range(tasks):
        record = read_manifest(manifest_dir, rank)
        if record is None:
            raise BuildError(
                f"{manifest_path(manifest_dir, rank)}: the manifest of a finished task is missing; "
                "nothing was published; rerun the same command to redo that task"
            )
        listed.update(
            (path, entry)
            for path, entry in record.files.items()
            if Path(path).is_relative_to(rows_dir)
        )
    return listed


def check_no_unknown_rows(rows_dir: Path, manifest_dirs: list[Path]) -> None:
    """Stop if a row file under `rows_dir` is listed by no manifest of the row-writing stages."""
    listed: set[str] = set()
    for folder in manifest_dirs:
        for manifest in Path(folder).glob("*.json"):
            record = read_manifest(folder, int(manifest.stem)) if manifest.stem.isdigit() else None
            listed.update(record.files if record else ())
    present = (
        {os.path.abspath(p) for p in rows_dir.rglob("*.jsonl.gz") if p.is_file()}
        if rows_dir.is_dir()
        else set()
    )
    unknown = sorted(present - listed)
    if unknown:
        raise BuildError(
            f"{unknown[0]}: a row file no task of this build wrote ({len(unknown)} in all); "
            "nothing was published; remove it, or the work dir, and rerun"
        )


def check_rows(rows_dir: Path, manifest_dir: Path, tasks: int) -> int:
    """Rows one stage's tasks wrote under `rows_dir`; stop if any file they list disagrees."""
    listed = _listed_rows(rows_dir, manifest_dir, tasks)
    total = 0
    for path, entry in sorted(listed.items()):
        reason = None
        if not os.path.isfile(path):
            reason = "is missing"
        elif file_record(path).sha256 != entry.sha256:
            reason = "changed after its task wrote it"
        if reason:
            raise BuildError(
                f"{path} {reason}; nothing was published; rerun the same command to redo that task"
            )
        total += entry.rows or 0
    return total
