"""The train spec: a base model at a revision, datasets by `org/name@revision`, axolotl settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from factory.recipe_base import StrictModel
from factory.train.specfile import pinned_dataset, pinned_model_revision

# keys the wrapper writes itself: a spec that sets them in `axolotl:` would silently unpin the run
RESERVED_AXOLOTL_KEYS = frozenset(
    {"base_model", "revision_of_model", "model_revision", "datasets", "seed"}
)


class TrainDataset(StrictModel):
    """One training dataset published by this project (Magpie-style `conversations` rows)."""

    dataset: str = Field(
        description="The dataset as `org/name@revision` (a tag or commit sha; resolved to a sha)."
    )
    config: str | None = Field(
        None, description="Dataset config to train on (default: the card's default config)."
    )
    split: str = Field("train", description="Split to train on.")
    field_messages: str = Field(
        "conversations", description="Column holding the list of chat messages."
    )
    role_key: str = Field("role", description="Key of a message's role inside each message.")
    content_key: str = Field("content", description="Key of a message's text inside each message.")
    backend: Literal["local", "hub"] | None = Field(
        None,
        description="Store to resolve the dataset in; default: the local store if it has it, else the Hub.",
    )

    @field_validator("dataset")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return pinned_dataset(value)


class TrainSpec(StrictModel):
    """What `factory train-config` turns into an axolotl config."""

    name: str = Field(description="Name of the training run (used for the default output file).")
    base_model: str = Field(description="Hugging Face model id of the model to fine-tune.")
    base_model_revision: str = Field(description="Commit sha (or tag) of the base model.")
    seed: int = Field(42, description="Training seed, written to axolotl's `seed`.")
    chat_template: str | None = Field(
        None,
        description="axolotl `chat_template` (e.g. llama3); default: the tokenizer's own template.",
    )
    datasets: list[TrainDataset] = Field(
        min_length=1, description="Datasets to train on, mixed by axolotl."
    )
    axolotl: dict[str, Any] = Field(
        default_factory=dict,
        description="Other axolotl settings, copied as they are (sequence_len, learning_rate, output_dir, ...).",
    )

    @field_validator("base_model_revision", mode="before")
    @classmethod
    def _model_pinned(cls, value: Any) -> str:
        return pinned_model_revision(value, "base_model_revision")

    @field_validator("axolotl")
    @classmethod
    def _no_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(RESERVED_AXOLOTL_KEYS & set(value))
        if clash:
            raise ValueError(
                f"{', '.join(clash)} cannot be set here: use the spec's base_model, base_model_revision, "
                "datasets and seed fields, which the wrapper pins"
            )
        return value
