"""The `magpie_filter` recipe: Magpie's Unfiltered -> Filtered step as declarative rules over tag columns."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from factory.magpie.rules import MAGPIE_RULES, Rule
from factory.recipe_base import RecipeBase


class MagpieFilterRecipe(RecipeBase):
    """Keeps the rows of a tagged Magpie dataset that pass every rule."""

    kind: Literal["magpie_filter"] = Field("magpie_filter", description="Recipe kind.")
    rules: list[Rule] = Field(
        default_factory=lambda: [Rule(**r) for r in MAGPIE_RULES],
        min_length=1,
        description="Rules applied in order (default: Magpie's high_quality_filter); the card counts the rows each removed.",
    )

    @model_validator(mode="after")
    def _one_input(self) -> MagpieFilterRecipe:
        if len(self.inputs) != 1:
            raise ValueError(f"inputs: give exactly one tagged dataset (got {len(self.inputs)})")
        return self
