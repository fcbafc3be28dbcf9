"""Readers of an earlier stage's files."""

from __future__ import annotations

from datatrove.pipeline.readers import JsonlReader


class StageOutputReader(JsonlReader):
    """datatrove's JsonlReader over an earlier stage's output, reading nothing (instead of
    raising) when that stage wrote no file: it dropped or kept nothing."""

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        if not self.data_folder.list_files(
            recursive=self.recursive, glob_pattern=self.glob_pattern
        ):
            if data:
                yield from data
            return
        yield from super().run(data, rank, world_size)
