"""Resolve a recipe's inputs to local files, pinning dataset inputs to a commit sha."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from factory.builds.card_configs import card_configs, choose_config, config_files
from factory.errors import InputError, RecipeError
from factory.recipe_base import InputSpec, RecipeBase
from factory.refs import DatasetRef

_DATA_SUFFIXES = (".parquet", ".jsonl", ".json", ".jsonl.gz", ".json.gz", ".txt", ".text")


@dataclass
class ResolvedInput:
    """One input as local files, plus what it was (for the card's lineage)."""

    name: str
    source: str  # "path", "dataset" or "recipe"
    ref: str  # what the recipe said
    format: str
    files: list[Path] = field(default_factory=list)
    sha: str | None = None  # the commit a dataset input resolved to

    def lineage(self) -> dict:
        entry = {
            "name": self.name,
            "source": self.source,
            "ref": self.ref,
            "files": len(self.files),
        }
        if self.sha:
            entry["revision"] = self.sha
        return entry


def _origin(recipe: RecipeBase) -> str:
    return str(recipe.source) if recipe.source else "recipe"


def _field(recipe: RecipeBase, index: int) -> str:
    """The field the user wrote for input `index` (a corpus writes `sources`, not `inputs`)."""
    return f"{recipe.inputs_field}.{index}"


def _expand_path(recipe: RecipeBase, index: int, spec: InputSpec) -> list[Path]:
    pattern = Path(spec.path).expanduser()
    if not pattern.is_absolute():
        pattern = recipe.base_dir / pattern
    if pattern.is_dir():
        files = sorted(p for p in pattern.rglob("*") if p.is_file() and not p.name.startswith("."))
    else:
        files = sorted(
            Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file()
        )
    if not files:
        raise InputError(
            f"{_origin(recipe)}: {_field(recipe, index)}.path: no file matches {spec.path!r} (looked for {pattern})"
        )
    return files


def _dataset_files(folder: Path, spec: InputSpec, where: str = "input") -> list[Path]:
    configs = card_configs(folder)
    if configs is not None:  # the card says which files make each config: honour it
        chosen = choose_config(configs, spec.config, where)
        return config_files(folder, chosen, spec.split)
    data = folder / "data"
    files = (
        sorted(p for p in data.rglob("*") if p.is_file() and p.name.endswith(_DATA_SUFFIXES))
        if data.is_dir()
        else []
    )
    if spec.config and spec.config != "default":
        files = [p for p in files if p.relative_to(data).parts[0] == spec.config]
    elif spec.config == "default":
        files = [p for p in files if len(p.relative_to(data).parts) == 1]
    if spec.split:
        files = [p for p in files if p.name.startswith(f"{spec.split}-")]
    return files


def _resolve_dataset(
    recipe: RecipeBase, index: int, spec: InputSpec, text: str, backend: str | None = None
) -> tuple[list[Path], str]:
    from factory.hub import store_for

    ref = DatasetRef.parse(text)
    store = store_for(ref.repo_id, backend)  # type: ignore[arg-type]
    sha = store.resolve(ref.repo_id, ref.revision)
    files = _dataset_files(
        store.snapshot(ref.repo_id, sha), spec, f"{_origin(recipe)}: inputs.{index}: {text}"
    )
    if not files:
        raise InputError(
            f"{_origin(recipe)}: {_field(recipe, index)}: dataset {text} has no data files for config={spec.config} split={spec.split}"
        )
    return files, sha


def resolve_input(recipe: RecipeBase, index: int, spec: InputSpec) -> ResolvedInput:
    name = spec.name or f"input{index}"
    if spec.path:
        return ResolvedInput(
            name, "path", spec.path, spec.format, _expand_path(recipe, index, spec)
        )
    if spec.dataset:
        files, sha = _resolve_dataset(recipe, index, spec, spec.dataset)
        return ResolvedInput(name, "dataset", spec.dataset, "parquet", files, sha)
    # the output of another recipe: whatever it last published (its tag, else its branch)
    from factory.recipes import load_recipe

    other_path = Path(spec.recipe)
    if not other_path.is_absolute():
        other_path = recipe.base_dir / other_path
    try:
        other = load_recipe(other_path)
    except RecipeError as error:
        raise InputError(
            f"{_origin(recipe)}: {_field(recipe, index)}.recipe: {error.problems[0]}"
        ) from None
    text = f"{other.output.repo_id}@{other.output.tag or other.output.branch}"
    try:  # in the store that recipe publishes to, not whichever store happens to hold the name
        files, sha = _resolve_dataset(recipe, index, spec, text, other.output.backend)
    except LookupError:
        raise InputError(
            f"{_origin(recipe)}: {_field(recipe, index)}.recipe: {spec.recipe} has not been published yet ({text}); "
            f"build it first with: factory build {spec.recipe}"
        ) from None
    return ResolvedInput(name, "recipe", spec.recipe, "parquet", files, sha)


def resolve_inputs(recipe: RecipeBase) -> list[ResolvedInput]:
    return [resolve_input(recipe, i, spec) for i, spec in enumerate(recipe.inputs)]
