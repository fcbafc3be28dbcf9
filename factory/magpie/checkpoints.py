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
        """The chunk's records, or None when it is not done: absent, or not whole.

        A file that does not parse (truncated by a crash outside our atomic write, a bad disk)
        is treated as not done, so the chunk is regenerated with the same seed and prompts.
        """
        path = self.path(chunk)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, OSError):
            return None
        if text and not text.endswith("\n"):
            return None  # every record line ends with a newline; a cut file does not
        try:
            records = [json.loads(line) for line in text.splitlines() if line]
        except json.JSONDecodeError:
            return None
        if not all(isinstance(record, dict) for record in records):
            return None
        return records

    def save(self, chunk: int, records: list[dict]) -> None:
        lines = (
            json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records
        )
        write_text_atomic(self.path(chunk), "".join(lines))
