"""A small kind used to test the build spine on its own: read JSONL, drop empty texts, split.

Loaded through `FACTORY_PLUGINS=support.echo_kind` (with tests/ on PYTHONPATH).
"""

from __future__ import annotations

import hashlib
import time
from typing import Literal

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from pydantic import Field

from factory import kinds
from factory.builds import BuildContext, Stage
from factory.builds.rows import RowWriter
from factory.recipe_base import RecipeBase, StrictModel


class EchoOptions(StrictModel):
    sleep_per_row: float = Field(0.0, description="Seconds to wait per row (to test kills).")
    test_fraction: float = Field(0.25, ge=0, le=1, description="Share of rows in the test split.")


class EchoRecipe(RecipeBase):
    kind: Literal["echo"] = "echo"
    echo: EchoOptions = Field(default_factory=EchoOptions)


class EmptyTextFilter(BaseFilter):
    name = "echo empty"

    def filter(self, doc):
        return bool(doc.text.strip()) or (False, "echo_empty_text")


class ToRow(PipelineStep):
    name = "echo rows"

    def __init__(self, seed: int, sleep: float, test_fraction: float):
        super().__init__()
        self.seed, self.sleep, self.test_fraction = seed, sleep, test_fraction

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if self.sleep:
                time.sleep(self.sleep)
            h = (
                int(hashlib.sha256(f"{self.seed}:{doc.id}".encode()).hexdigest()[:8], 16)
                / 0xFFFFFFFF
            )
            doc.metadata["split"] = "test" if h < self.test_fraction else "train"
            doc.metadata["row"] = {"id": doc.id, "text": doc.text, "length": len(doc.text)}
            self.stat_update("rows")
            yield doc


def stages(recipe: EchoRecipe, ctx: BuildContext) -> list[Stage]:
    folder, listing = ctx.input_listing()
    reader_class = ParquetReader if ctx.inputs[0].format == "parquet" else JsonlReader
    reader = reader_class(folder, paths_file=listing, text_key="text", id_key="id")
    return [
        Stage(
            "echo",
            [
                reader,
                EmptyTextFilter(exclusion_writer=ctx.exclusion_writer("echo", "empty")),
                ToRow(
                    ctx.derive_seed("echo"), recipe.echo.sleep_per_row, recipe.echo.test_fraction
                ),
                RowWriter(ctx),
            ],
        )
    ]


def card_context(recipe, ctx) -> dict:
    return {"lineage_extra": {"engine": "none"}}


kinds.register(kinds.Kind("echo", __name__, "EchoRecipe", __name__))
