"""Turn `org/name@revision` into an immutable commit sha and, for the local store, the parquet files.

Downstream tools (axolotl, lm-eval) read a Hub dataset themselves, given its repo id and the
sha; a dataset that lives only in the local git store is handed to them as parquet files in a
snapshot of that sha (`GitStore.snapshot`), which is just as immutable.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from factory import hub
from factory.errors import InputError
from factory.refs import DatasetRef


@dataclass(frozen=True)
class PinnedDataset:
    """A dataset reference resolved to a commit sha in one store."""

    ref: str  # as written in the spec, org/name@revision
    repo_id: str
    requested: str  # the revision as written (tag, branch or sha)
    sha: str
    backend: str  # "local" or "hub"
    config: str | None = None
    split: str = "train"
    data_files: tuple[str, ...] = field(default=())  # local store only: absolute parquet paths
    snapshot: str | None = None  # local store only: the snapshot folder

    def lineage(self) -> dict:
        entry = {
            "ref": self.ref,
            "repo_id": self.repo_id,
            "requested_revision": self.requested,
            "sha": self.sha,
            "backend": self.backend,
            "config": self.config,
            "split": self.split,
        }
        if self.backend == "local":
            entry["data_files"] = [str(Path(p).relative_to(self.snapshot)) for p in self.data_files]
        return entry


def pin(
    ref_text: str, *, config: str | None, split: str, backend: str | None = None
) -> PinnedDataset:
    """Resolve `ref_text` to a sha; for the local store also find the parquet files of config/split."""
    ref = DatasetRef.parse(ref_text)
    if ref.revision is None:  # specs refuse these already; callers from code get the same line
        raise InputError(f"dataset {ref_text!r} is not pinned: write it as org/name@revision")
    store = hub.store_for(ref.repo_id, backend)  # type: ignore[arg-type]
    sha = store.resolve(ref.repo_id, ref.revision)
    if store.backend != "local":
        return PinnedDataset(str(ref), ref.repo_id, ref.revision, sha, store.backend, config, split)
    folder = store.snapshot(ref.repo_id, sha)
    files = data_files(folder, config, split, where=f"{ref.repo_id}@{ref.revision} ({sha[:12]})")
    return PinnedDataset(
        str(ref),
        ref.repo_id,
        ref.revision,
        sha,
        "local",
        config,
        split,
        data_files=tuple(str(p) for p in files),
        snapshot=str(folder),
    )


def _card_configs(folder: Path) -> list[dict]:
    """The `configs:` list of the card's YAML header (the published layout), [] when absent."""
    card = folder / "README.md"
    if not card.is_file():
        return []
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return []
    header = text.split("---", 2)[1] if text.count("---") >= 2 else ""
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError:
        return []
    configs = meta.get("configs") if isinstance(meta, dict) else None
    return configs if isinstance(configs, list) else []


def _layout(folder: Path) -> dict[str, dict[str, list[str]]]:
    """config -> split -> globs: from the card, else the store's convention `data/[config/]split-*.parquet`."""
    layout: dict[str, dict[str, list[str]]] = {}
    for entry in _card_configs(folder):
        name = entry.get("config_name", "default")
        files = entry.get("data_files") or []
        for item in files if isinstance(files, list) else []:
            if isinstance(item, dict) and "split" in item:
                paths = item.get("path")
                paths = paths if isinstance(paths, list) else [paths]
                layout.setdefault(name, {}).setdefault(item["split"], []).extend(
                    str(p) for p in paths
                )
    if layout:
        return layout
    for path in sorted((folder / "data").rglob("*.parquet")):
        rel = path.relative_to(folder / "data")
        config = rel.parts[0] if len(rel.parts) > 1 else "default"
        split = path.name.split("-", 1)[0]
        prefix = "data/" if config == "default" else f"data/{config}/"
        layout.setdefault(config, {}).setdefault(split, [f"{prefix}{split}-*.parquet"])
    return layout


def data_files(folder: Path, config: str | None, split: str, *, where: str) -> list[Path]:
    """The parquet files of `config` (default: the card's default) / `split` in a snapshot folder."""
    layout = _layout(folder)
    name = config or "default"
    globs = layout.get(name, {}).get(split)
    if not globs:
        available = (
            ", ".join(f"{c}/{s}" for c, splits in sorted(layout.items()) for s in splits) or "none"
        )
        raise InputError(
            f"dataset {where}: no data for config {name!r} split {split!r} (available config/split: {available})"
        )
    everything = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    matched = sorted({rel for pattern in globs for rel in fnmatch.filter(everything, pattern)})
    if not matched:
        raise InputError(
            f"dataset {where}: the card lists {globs} for {name}/{split} but no file matches"
        )
    return [folder / rel for rel in matched]
