"""The sections every recipe shares; each kind adds its own in `factory/<kind>/recipe.py`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from factory.refs import DatasetRef, validate_ref_name

# The recipe name becomes a folder under FACTORY_HOME/builds: one plain path component.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# executor.options keys the factory sets itself from the recipe (or must own to resume builds)
_RESERVED_OPTIONS = frozenset(
    {"pipeline", "tasks", "workers", "logging_dir", "skip_completed", "depends"}
)


def _executor_parameters(kind: str) -> set[str]:
    """Keyword arguments the datatrove executor of `kind` accepts (imported only when needed)."""
    import inspect

    if kind == "local":
        from datatrove.executor.local import LocalPipelineExecutor as cls
    elif kind == "slurm":
        from datatrove.executor.slurm import SlurmPipelineExecutor as cls
    else:
        from datatrove.executor.ray import RayPipelineExecutor as cls
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys: a misspelt key is an error, not a default."""

    model_config = ConfigDict(extra="forbid")


class InputSpec(StrictModel):
    """One input: exactly one of `path`, `dataset` or `recipe`."""

    name: str | None = Field(
        None, description="A label for this input (used in stats and lineage)."
    )
    path: str | None = Field(
        None, description="A local file, folder or glob, relative to the recipe file's folder."
    )
    dataset: str | None = Field(
        None, description="A published dataset as `org/name@revision` (revision required)."
    )
    recipe: str | None = Field(
        None, description="Another recipe file whose published output is this input."
    )
    format: Literal["auto", "jsonl", "json", "parquet", "text"] = Field(
        "auto", description="File format; `auto` guesses from the extension."
    )
    config: str | None = Field(None, description="Dataset config to read (for `dataset` inputs).")
    split: str | None = Field(None, description="Dataset split to read (for `dataset` inputs).")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> InputSpec:
        given = [k for k in ("path", "dataset", "recipe") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of path, dataset or recipe (got {', '.join(given) or 'none'})"
            )
        return self

    @field_validator("dataset")
    @classmethod
    def _pinned_revision(cls, value: str | None) -> str | None:
        if value is not None:
            ref = DatasetRef.parse(value)
            if ref.revision is None:
                raise ValueError(
                    f"dataset input {value!r} needs a revision: write it as org/name@revision"
                )
        return value


class StageResources(StrictModel):
    """What one task of a stage asks the cluster for; unset fields keep the stage's own request."""

    cpus: int | None = Field(None, ge=1, description="CPUs per task.")
    mem_gb: float | None = Field(
        None, gt=0, description="Memory per task in GB (Slurm gets it as memory per CPU)."
    )
    gpus: int | None = Field(None, ge=0, description="GPUs per task (0: a CPU-only stage).")


# executor options that are resources: they are per stage (`executor.stages`), never recipe-wide
RESOURCE_OPTIONS = {"gpus_per_task": "gpus"}
# options the factory consumes itself rather than passing to datatrove
OWN_OPTIONS = {"ray": ("address",), "slurm": (), "local": ()}
_SLURM_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$|^\d+-\d+$")


def _executor_parameters(kind: str) -> set[str]:
    """Keyword arguments datatrove's executor of `kind` accepts (the ones a recipe may pass)."""
    import inspect

    if kind == "slurm":
        from datatrove.executor.slurm import SlurmPipelineExecutor as cls
    elif kind == "ray":
        from datatrove.executor.ray import RayPipelineExecutor as cls
    else:
        from datatrove.executor.local import LocalPipelineExecutor as cls
    # set by the factory from the stage and the work dir, never by the recipe
    managed = {"self", "pipeline", "tasks", "workers", "logging_dir", "skip_completed", "depends"}
    return set(inspect.signature(cls.__init__).parameters) - managed


class ExecutorSpec(StrictModel):
    """Which datatrove executor runs the stages; excluded from the recipe hash."""

    type: Literal["local", "slurm", "ray"] = Field(
        "local",
        description="datatrove executor: LocalPipelineExecutor, SlurmPipelineExecutor or RayPipelineExecutor.",
    )
    tasks: int = Field(
        2, ge=1, strict=True, description="Number of tasks (shards) a splittable stage is cut into."
    )
    workers: int = Field(
        -1, strict=True, description="Tasks run at once (-1: all); local executor only."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra keyword arguments passed through to the datatrove executor (Slurm: `partition` and `time` "
        "required, e.g. `venv_path`, `qos`, `sbatch_args`; Ray: `address` of the cluster, default `RAY_ADDRESS` or a local one). "
        "Resources are per stage: see `stages`.",
    )
    stages: dict[str, StageResources] = Field(
        default_factory=dict,
        description="Per-stage resource overrides, by stage name (`factory status RECIPE` lists the stages), "
        "e.g. `{responses: {gpus: 2}, dedup_buckets: {mem_gb: 8}}`. Each stage declares its own needs: "
        "GPUs where it generates, memory where it deduplicates, 1 CPU otherwise.",
    )

    @model_validator(mode="after")
    def _valid_options(self) -> ExecutorSpec:
        for key, field_name in RESOURCE_OPTIONS.items():
            if key in self.options:
                raise ValueError(
                    f"options.{key}: resources are per stage; set executor.stages.<stage>.{field_name} "
                    "for the stages that need it (a recipe-wide GPU request would reach CPU-only stages)"
                )
        reserved = sorted(_RESERVED_OPTIONS & set(self.options))
        if reserved:
            raise ValueError(
                f"options: {', '.join(reserved)} cannot be set here "
                "(use executor.tasks and executor.workers; the rest is set by the factory)"
            )
        allowed = (
            _executor_parameters(self.type) | set(OWN_OPTIONS[self.type])
        ) - _RESERVED_OPTIONS
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise ValueError(
                f"options: unknown {self.type} executor option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
            )
        if self.type == "slurm":
            missing = [k for k in ("time", "partition") if not self.options.get(k)]
            if missing:
                raise ValueError(
                    f"options: the slurm executor needs {' and '.join(missing)} (e.g. --set executor.options.partition=cpu "
                    "--set executor.options.time=04:00:00)"
                )
            if not _SLURM_TIME.match(str(self.options["time"])):
                raise ValueError(
                    f"options.time: {self.options['time']!r} is not a Slurm time limit (MM, HH:MM:SS or D-HH:MM:SS)"
                )
            venv = self.options.get("venv_path")
            if venv is not None and not Path(str(venv)).is_file():
                raise ValueError(
                    f"options.venv_path: {venv} is not a file; give the venv's activate script (e.g. /path/.venv/bin/activate), "
                    "or leave it out to use the interpreter running `factory`"
                )
        return self

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError(f"must be -1 (all tasks at once) or at least 1 (got {value})")
        return value


class OutputSpec(StrictModel):
    """Where and how the dataset is published."""

    repo_id: str = Field(..., description="Dataset repository, `org/name`.")
    branch: str = Field("main", description="Branch the publish commits to.")
    tag: str | None = Field(
        None, description="Tag to put on the published commit (immutable name)."
    )
    private: bool = Field(False, strict=True, description="Create the Hub repository as private.")
    shard_size: int = Field(100_000, ge=1, strict=True, description="Rows per parquet shard.")
    backend: Literal["local", "hub"] = Field(
        "local",
        description="`local`: git store under FACTORY_HOME (embedded default); `hub`: the Hugging Face Hub at HF_ENDPOINT.",
    )

    @field_validator("repo_id")
    @classmethod
    def _valid_repo_id(cls, value: str) -> str:
        ref = DatasetRef.parse(value)
        if ref.revision is not None:
            raise ValueError(
                f"{value!r} names a revision; write the repository as org/name and put the "
                "revision in output.branch or output.tag"
            )
        return value

    @field_validator("branch", "tag")
    @classmethod
    def _valid_ref(cls, value: str | None) -> str | None:
        return value if value is None else validate_ref_name(value)


# Card header keys the build writes itself (from the fields of `CardSpec` or from the data)
CARD_BUILT_KEYS = frozenset(
    {"license", "language", "task_categories", "pretty_name", "size_categories", "configs", "tags"}
)


class CardSpec(StrictModel):
    """The dataset card: template and Hub metadata."""

    template: str | None = Field(
        None, description="Card template in cards/ (default: `<kind>.md.j2`)."
    )
    license: str = Field("cc-by-sa-4.0", description="License id for the Hub metadata.")
    language: list[str] = Field(
        default_factory=lambda: ["eu"], description="ISO 639-1 language codes."
    )
    task_categories: list[str] = Field(default_factory=list, description="Hub task categories.")
    pretty_name: str | None = Field(None, description="Human name shown on the card.")
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Extra YAML metadata for the card header."
    )
    sample_rows: int = Field(3, ge=0, description="How many rows the card shows as a sample.")

    @field_validator("extra")
    @classmethod
    def _no_built_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(CARD_BUILT_KEYS & set(value))
        if clash:
            raise ValueError(
                f"{', '.join(clash)} cannot be set in extra: use card.license, card.language, "
                "card.task_categories and card.pretty_name (configs, size_categories and tags are written by the build)"
            )
        return value


class QuarantineSpec(StrictModel):
    """How much of a source may be quarantined (unreadable records) before the build stops."""

    max_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Largest share of a source's records that may be quarantined; more stops the build "
        "naming the source and the top reasons. A source with no usable record always stops it, "
        "unless this is 1.",
    )


class RecipeBase(StrictModel):
    """Sections common to every recipe kind."""

    name: str = Field(..., description="Short name of the dataset this recipe builds.")
    description: str = Field("", description="One paragraph for the card's summary.")
    seed: int = Field(
        0,
        strict=True,  # `seed: true` or `seed: "1234"` is a mistake, not a number
        description="Seed from which every random choice of the build is derived.",
    )
    inputs: list[InputSpec] = Field(default_factory=list, description="What the build reads.")
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec, description="How stages are run.")
    output: OutputSpec = Field(..., description="Where the dataset is published.")
    card: CardSpec = Field(default_factory=CardSpec, description="Dataset card settings.")
    quarantine: QuarantineSpec = Field(
        default_factory=QuarantineSpec, description="Limits on quarantined input records."
    )
    demo: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted-path overrides applied by `factory build --demo` (tiny local model, local store).",
    )

    # Dotted paths that do not change the data, so they stay out of the recipe hash
    # (as distilabel's _EXCLUDE_FROM_SIGNATURE_DEFAULTS). Kinds extend this.
    hash_exclude: ClassVar[tuple[str, ...]] = (
        "executor.type",
        "executor.workers",
        "executor.options",
        "executor.stages",
        "output",
        "card",
        "quarantine",
        "demo",
        "description",
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _SAFE_NAME.match(value):
            raise ValueError(
                f"invalid name {value!r}: use letters, digits, '.', '_' and '-' (at most 100, "
                "starting with a letter or digit); it names the build's folder"
            )
        return value

    # the field a kind's users write its inputs under, for error lines (a corpus: `sources`)
    inputs_field: ClassVar[str] = "inputs"

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path:
        """Folder that relative input paths are resolved against (the recipe file's)."""
        return self._base_dir

    @property
    def source(self) -> Path | None:
        """The recipe file this recipe was loaded from, if any."""
        return self._source

    @property
    def kind_name(self) -> str:
        return self.kind
