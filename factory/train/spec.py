"""The train spec: a base model at a revision, datasets by `org/name@revision`, axolotl settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from factory.recipe_base import StrictModel
from factory.train.specfile import pinned_dataset, pinned_model_revision

# keys the wrapper writes itself: a spec that sets them in `axolotl:` would silently unpin the run
RESERVED_AXOLOTL_KEYS = frozenset(
    {
        "base_model",
        "revision_of_model",
        "model_revision",
        "datasets",
        "test_datasets",
        "seed",
        "chat_template",
        "chat_template_jinja",
    }
)
# per-dataset keys the wrapper writes from the pinned dataset (where the rows come from)
RESERVED_DATASET_KEYS = frozenset({"path", "revision", "name", "data_files", "ds_type", "split"})
# chat templates this project ships as files (factory/train/templates/<name>.jinja); written as
# axolotl's `chat_template: jinja` + `chat_template_jinja: <text>` on each chat dataset
BUILTIN_TEMPLATES = ("llama-3.1",)


class TrainDataset(StrictModel):
    """One training (or test) dataset published by this project: chat conversations or plain text."""

    dataset: str = Field(
        description="The dataset as `org/name@revision` (a tag or commit sha; resolved to a sha)."
    )
    config: str | None = Field(
        None, description="Dataset config to train on (default: the card's default config)."
    )
    split: str = Field("train", description="Split to train on.")
    type: Literal["chat_template", "completion"] = Field(
        "chat_template",
        description="axolotl prompt strategy: chat_template (conversations) or completion (raw text, e.g. a corpus).",
    )
    field: str | None = Field(None, description="completion only: the text column (default: text).")
    field_messages: str = Field(
        "conversations", description="chat_template only: column holding the list of messages."
    )
    role_key: str = Field("role", description="Key of a message's role inside each message.")
    content_key: str = Field("content", description="Key of a message's text inside each message.")
    chat_template: str | None = Field(
        None,
        description="chat_template only: `llama-3.1` (the Llama 3.1 jinja template, written out), "
        "`jinja` with chat_template_jinja, or an axolotl template name; default: the spec's chat_template.",
    )
    chat_template_jinja: str | None = Field(
        None, description="The jinja text when chat_template is `jinja`."
    )
    roles: dict[str, list[str]] | None = Field(
        None,
        description="axolotl `roles`: role -> the values that mean it, e.g. {assistant: [gpt, assistant]}.",
    )
    roles_to_train: list[str] | None = Field(
        None, description="axolotl `roles_to_train` (e.g. [gpt, assistant])."
    )
    train_on_eos: Literal["turn", "all", "last", "none"] | None = Field(
        None, description="axolotl `train_on_eos`."
    )
    axolotl: dict[str, Any] = Field(
        default_factory=dict,
        description="Other per-dataset axolotl keys, copied as they are (path, revision, split are the wrapper's).",
    )
    backend: Literal["local", "hub"] | None = Field(
        None,
        description="Store to resolve the dataset in; default: the local store if it has it, else the Hub.",
    )

    @field_validator("dataset")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return pinned_dataset(value)

    @field_validator("axolotl")
    @classmethod
    def _no_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted((RESERVED_DATASET_KEYS | set(cls.model_fields)) & set(value))
        if clash:
            raise ValueError(
                f"{', '.join(clash)} cannot be set here: the wrapper writes them from the pinned dataset "
                "or the dataset's own fields"
            )
        return value

    @model_validator(mode="after")
    def _type_fields(self) -> TrainDataset:
        chat_only = {
            "chat_template": self.chat_template,
            "chat_template_jinja": self.chat_template_jinja,
            "roles": self.roles,
            "roles_to_train": self.roles_to_train,
            "train_on_eos": self.train_on_eos,
        }
        if self.type == "completion":
            given = sorted(k for k, v in chat_only.items() if v is not None)
            if given:
                raise ValueError(
                    f"{', '.join(given)}: only for type chat_template (this dataset is completion)"
                )
        elif self.field is not None:
            raise ValueError("field is only for type completion (chat datasets use field_messages)")
        if (self.chat_template == "jinja") != (self.chat_template_jinja is not None):
            raise ValueError(
                "chat_template_jinja goes with chat_template: jinja, and jinja needs it"
            )
        return self


class TrainSpec(StrictModel):
    """What `factory train-config` turns into an axolotl config."""

    name: str = Field(description="Name of the training run (used for the default output file).")
    base_model: str = Field(description="Hugging Face model id of the model to fine-tune.")
    base_model_revision: str = Field(description="Commit sha (or tag) of the base model.")
    seed: int = Field(42, description="Training seed, written to axolotl's `seed`.")
    chat_template: str | None = Field(
        None,
        description="Chat template of every chat dataset that names none (axolotl applies the "
        "per-dataset one): `llama-3.1`, or an axolotl name (e.g. llama3); default: the tokenizer's own.",
    )
    datasets: list[TrainDataset] = Field(
        min_length=1, description="Datasets to train on, mixed by axolotl."
    )
    test_datasets: list[TrainDataset] = Field(
        default_factory=list, description="axolotl `test_datasets`: held-out evaluation sets."
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
                "datasets, test_datasets, seed and chat_template fields, which the wrapper writes"
            )
        return value
