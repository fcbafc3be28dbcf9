"""The preferences recipe: arena battle logs -> a published preference dataset and its leaderboard."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from factory.preferences.records import Dimension
from factory.recipe_base import RecipeBase, StrictModel


class ValidationSpec(StrictModel):
    """Which battles are kept; every dropped battle is counted under a `battle_*` reason."""

    allowed_models: list[str] | None = Field(
        None,
        description="Only keep battles between these models (None: any model); others drop as `battle_unknown_model`.",
    )
    anonymous_usernames: list[str] = Field(
        default_factory=lambda: ["guest"],
        description="Usernames that mean 'not logged in' (the arena's `guest`): such votes get `annotator: null`.",
    )


class DpoSpec(StrictModel):
    """The `dpo` config: prompt / chosen / rejected pairs for TRL or axolotl DPO (ties excluded)."""

    enabled: bool = Field(True, description="Publish the `dpo` config.")
    dimension: Dimension = Field(
        "overall", description="Which vote picks `chosen`: overall, content or language."
    )


class LeaderboardSpec(StrictModel):
    """Bradley-Terry ratings on the Elo scale with bootstrap intervals, rendered in the card."""

    dimensions: list[Dimension] = Field(
        default_factory=lambda: ["overall", "content", "language"],
        min_length=1,
        description="Vote dimensions to rate (each gets a table and two plots).",
    )
    bootstrap: int = Field(
        1000,
        ge=0,
        le=100_000,
        description="Bootstrap rounds for the confidence intervals (seeded from the recipe seed).",
    )
    ci_level: float = Field(
        0.95, gt=0, lt=1, description="Confidence level of the percentile bootstrap intervals."
    )
    scale: float = Field(
        400.0,
        gt=0,
        description="Elo scale: a difference of `scale` points means odds of `base` to 1.",
    )
    base: float = Field(10.0, gt=1, description="Elo base.")
    initial: float = Field(1000.0, description="Mean rating of the rated models.")

    @field_validator("dimensions")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"each dimension at most once (got {value})")
        return value


class PreferencesRecipe(RecipeBase):
    """Arena logs (folder of JSON files, JSONL, or a Hub dataset at a revision) -> preferences.

    Annotator usernames are replaced by an HMAC-SHA256 under the secret in the environment
    variable `FACTORY_ANNOTATOR_SALT`; the build refuses to run without it.
    """

    kind: Literal["preferences"] = "preferences"
    split: str = Field(
        "train", pattern=r"^[a-z0-9_]+$", description="Split name of the published rows."
    )
    validation: ValidationSpec = Field(
        default_factory=ValidationSpec, description="Which battles are kept."
    )
    dpo: DpoSpec = Field(default_factory=DpoSpec, description="The `dpo` config.")
    leaderboard: LeaderboardSpec = Field(
        default_factory=LeaderboardSpec, description="Ratings in the card."
    )

    @model_validator(mode="after")
    def _has_inputs(self) -> PreferencesRecipe:
        if not self.inputs:
            raise ValueError(
                "inputs: give at least one battle log source (a folder, a JSONL file or org/name@revision)"
            )
        return self
