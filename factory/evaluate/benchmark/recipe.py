"""`kind: benchmark`: import a benchmark's files into the store, by revision, for lm-eval dataset tasks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from factory.recipe_base import RecipeBase, StrictModel


class BenchmarkOptions(StrictModel):
    """What the rows of the benchmark must hold."""

    required_fields: list[str] = Field(
        default_factory=list,
        description="Keys every row must have (a row lacking one is dropped with the reason).",
    )


class BenchmarkRecipe(RecipeBase):
    """Each input is one split, named by its `name`: `test`, or `config/split` (e.g. `eu_local/test`);
    rows are published as they are."""

    kind: Literal["benchmark"] = "benchmark"
    benchmark: BenchmarkOptions = Field(
        default_factory=BenchmarkOptions, description="Checks on the rows."
    )

    @model_validator(mode="after")
    def _named_splits(self) -> BenchmarkRecipe:
        if not self.inputs:
            raise ValueError("inputs: give one input per split (name: test, path: ...)")
        names = [i.name for i in self.inputs]
        if None in names:
            raise ValueError("inputs: every input needs a name, the split it becomes (e.g. test)")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"inputs: split names must be unique (repeated: {', '.join(repeated)})"
            )
        return self
