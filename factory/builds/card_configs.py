"""The `configs:` a dataset card declares, and the data files each one names.

The Hub reads a dataset repo through its card: `configs: [{config_name, data_files, default}]`
(`data_files` a glob, a list of globs, or a list of `{split, path}`). A repo like
HiTZ/ebaluatoia keeps two configs side by side (`data/25-03.jsonl.gz` and its sanitized copy);
reading every file under `data/` would count each battle twice, so an input that names no
config reads the card's default one, and one that names a config reads exactly its files.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from factory.errors import InputError


class DataFilesEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    split: str = Field("train", description="Split the files belong to.")
    path: str | list[str] = Field(..., description="Glob(s) relative to the repo root.")


class CardConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    config_name: str = Field("default", description="Name passed as `config`.")
    data_files: str | list[str | DataFilesEntry] | None = Field(
        None, description="Files of this config."
    )
    default: bool = Field(False, description="The config read when none is named.")

    def patterns(self, split: str | None = None) -> list[str]:
        """The globs of this config (of one split when given)."""
        files = self.data_files
        if files is None:
            return []
        if isinstance(files, str):
            return [files] if split in (None, "train") else []
        out: list[str] = []
        for entry in files:
            if isinstance(entry, str):
                if split in (None, "train"):
                    out.append(entry)
            elif split is None or entry.split == split:
                out.extend([entry.path] if isinstance(entry.path, str) else entry.path)
        return out


def card_configs(folder: Path) -> list[CardConfig] | None:
    """The configs the card (README.md) of a snapshot declares; None when it declares none."""
    card = folder / "README.md"
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    try:
        header = yaml.safe_load(text.split("---", 2)[1]) or {}
    except (yaml.YAMLError, IndexError):
        return None
    raw = header.get("configs") if isinstance(header, dict) else None
    if not raw or not isinstance(raw, list):
        return None
    try:
        return [CardConfig.model_validate(entry) for entry in raw]
    except ValueError:
        return None


def choose_config(configs: list[CardConfig], name: str | None, where: str) -> CardConfig:
    """The config named, else the card's default one; `InputError` listing the names otherwise."""
    names = [c.config_name for c in configs]
    if name is not None:
        for config in configs:
            if config.config_name == name:
                return config
        raise InputError(f"{where}: no config {name!r} in the card (allowed: {', '.join(names)})")
    defaults = [c for c in configs if c.default] or [
        c for c in configs if c.config_name == "default"
    ]
    if len(configs) == 1:
        return configs[0]
    if len(defaults) == 1:
        return defaults[0]
    raise InputError(
        f"{where}: the card declares several configs and no default; name one with config: "
        f"({', '.join(names)})"
    )


def config_files(folder: Path, config: CardConfig, split: str | None = None) -> list[Path]:
    """The files of `config` in a snapshot folder, sorted, each once."""
    found: set[Path] = set()
    for pattern in config.patterns(split):
        found.update(p for p in folder.glob(pattern) if p.is_file())
    return sorted(found)
