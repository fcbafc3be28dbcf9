"""Chunk checkpoints inside a generation task: one JSONL file per generate call.

A chunk file appears whole or not at all (written to a temporary name, fsynced, renamed), so
after a SIGKILL a rerun reads every finished chunk back and regenerates only the chunk that
was in flight, with the same seed and the same prompts, hence the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from factory.builds.files import write_text_atomic


class ChunkCheckpoints:
    """Finished chunks of one task (`folder/{rank:05d}/{chunk:06d}.jsonl`)."""

    def __init__(self, folder: str | Path, rank: int):
        self.folder = Path(folder) / f"{rank:05d}"

    def path(self, chunk: int) -> Path:
        return self.folder / f"{chunk:06d}.jsonl"

    def load(self, chunk: int) -> list[dict] | None:
        path = self.path(chunk)
        if not path.exists():
            return None
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def save(self, chunk: int, records: list[dict]) -> None:
        lines = (
            json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records
        )
        write_text_atomic(self.path(chunk), "".join(lines))
