"""The paths and settings of one build; handed to a kind's `stages(recipe, ctx)`."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.builds.inputs import ResolvedInput, resolve_inputs
from factory.builds.seeds import derive_seed
from factory.recipe_base import RecipeBase
from factory.recipes import recipe_hash
from factory.settings import factory_home


def _work_key(digest: str, inputs: list[ResolvedInput]) -> str:
    """The recipe hash plus what the inputs are now, so changed inputs never reuse stale work."""
    parts = [digest]
    for item in inputs:
        parts.append(item.sha or "")
        for path in item.files:
            stat = path.stat()
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass
class BuildContext:
    """Everything a stage needs to know about where it runs; the work dir is keyed by the recipe hash."""

    recipe: RecipeBase
    workdir: Path
    recipe_hash: str
    inputs: list[ResolvedInput] = field(default_factory=list)

    @classmethod
    def create(cls, recipe: RecipeBase, *, workdir: Path | None = None) -> BuildContext:
        digest = recipe_hash(recipe)
        inputs = resolve_inputs(recipe)
        if workdir is None:
            workdir = factory_home() / "builds" / f"{recipe.name}-{_work_key(digest, inputs)[:12]}"
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(recipe=recipe, workdir=workdir, recipe_hash=digest, inputs=inputs)

    @property
    def seed(self) -> int:
        return self.recipe.seed

    def derive_seed(self, *labels: object) -> int:
        return derive_seed(self.recipe.seed, *labels)

    def stage_dir(self, name: str) -> Path:
        return self.workdir / "stages" / name

    def stage_output(self, name: str) -> str:
        """Folder where stage `name` writes the documents the next stage reads."""
        return str(self.stage_dir(name) / "output")

    def stage_logs(self, name: str) -> Path:
        return self.stage_dir(name) / "logs"

    def exclusions_dir(self, stage: str) -> Path:
        return self.stage_dir(stage) / "excluded"

    def exclusion_writer(self, stage: str, filter_name: str) -> JsonlWriter:
        """Dropped documents of one filter, with `metadata["filter_reason"]`, kept for inspection."""
        return JsonlWriter(str(self.exclusions_dir(stage) / filter_name))

    @property
    def rows_dir(self) -> Path:
        return self.workdir / "rows"

    @property
    def publish_dir(self) -> Path:
        return self.workdir / "publish"

    def input_files(self, name: str | None = None) -> list[Path]:
        """Local files of the inputs (all, or the one labelled `name`), in a stable order."""
        files: list[Path] = []
        for item in self.inputs:
            if name is None or item.name == name:
                files.extend(item.files)
        return files

    def input_listing(self, name: str | None = None) -> tuple[str, str]:
        """(folder, paths_file) for a datatrove reader that must read exactly the resolved input files."""
        files = self.input_files(name)
        folder = Path(os.path.commonpath([str(p.parent) for p in files]))
        listing = self.workdir / "inputs" / f"{name or 'all'}.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("".join(f"{p.relative_to(folder)}\n" for p in files))
        return str(folder), str(listing)
