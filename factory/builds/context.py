"""The paths and settings of one build; handed to a kind's `stages(recipe, ctx)`."""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.pipeline.writers.jsonl import JsonlWriter

import factory
from factory import kinds
from factory.builds.files import write_text_atomic
from factory.builds.inputs import ResolvedInput, resolve_inputs
from factory.builds.seeds import derive_seed
from factory.recipe_base import RecipeBase
from factory.recipes import recipe_hash
from factory.settings import factory_home


def _tree_digest(digest, folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".py", ".j2") and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(folder)}\0".encode())
            digest.update(path.read_bytes())


@functools.cache
def code_fingerprint(kind_name: str) -> str:
    """sha256 of the code that makes a build's rows: the package's sources and the kind's modules.

    A changed row builder must not reuse the rows the old one wrote, whatever the version says.
    """
    digest = hashlib.sha256(f"latxa-factory {factory.__version__}\0".encode())
    _tree_digest(digest, Path(factory.__file__).resolve().parent)
    kind = kinds.get(kind_name)
    for module in (kind.recipe_module, kind.plan_module):  # plugin kinds live outside the package
        source = getattr(importlib.import_module(module), "__file__", None)
        if source:
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()


def file_fingerprint(path: Path) -> str:
    """Size, mtime and sha256 of one input file as this build reads it, or why it cannot be read.

    An unreadable input is part of the key: once readable it is other data, so other work.
    """
    try:
        stat = path.stat()
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        return f"{path}:unreadable:{error.errno}"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{digest.hexdigest()}"


def _engine_identity(recipe: RecipeBase) -> str:
    """Which model on which server generates: a resume must never mix two servers' outputs."""
    engine = getattr(recipe, "engine", None)
    if engine is None:
        return ""
    fields = ("type", "model", "revision", "dtype", "base_url")
    return "|".join(f"{name}={getattr(engine, name, None)}" for name in fields)


def _work_key(recipe: RecipeBase, digest: str, inputs: list[ResolvedInput]) -> str:
    """Everything that changes a build's output: the recipe hash, the code, the engine, the inputs."""
    parts = [digest, code_fingerprint(recipe.kind_name), _engine_identity(recipe)]
    for item in inputs:
        parts.append(item.sha or "")
        if item.sha:  # a dataset pinned to a commit: the sha says what its files hold
            continue
        parts.extend(file_fingerprint(path) for path in item.files)
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
            key = _work_key(recipe, digest, inputs)[:12]
            workdir = factory_home() / "builds" / f"{recipe.name}-{key}"
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

    def stage_manifests(self, name: str) -> Path:
        """Per-task manifests of what each finished task wrote (`factory.builds.verify`)."""
        return self.stage_dir(name) / "manifests"

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
        write_text_atomic(listing, "".join(f"{p.relative_to(folder)}\n" for p in files))
        return str(folder), str(listing)
