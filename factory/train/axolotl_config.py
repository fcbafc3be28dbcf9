"""Render a `TrainSpec` as a complete axolotl config, every dataset pinned to a commit sha.

A Hub dataset becomes `{path: org/name, revision: <sha>, type: chat_template, ...}` (axolotl
passes `revision` to `datasets.load_dataset`). A dataset only in the local store becomes the
parquet files of a snapshot of that sha: `{path: <snapshot>, ds_type: parquet, data_files: [...]}`,
which axolotl loads with `load_dataset("parquet", data_files=...)`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from factory.train.pinning import PinnedDataset, pin
from factory.train.spec import BUILTIN_TEMPLATES, TrainDataset, TrainSpec

LINEAGE_SUFFIX = ".factory_lineage.json"


@dataclass(frozen=True)
class AxolotlConfig:
    """The rendered config, the pinned datasets behind it and its lineage record."""

    config: dict
    pinned: list[PinnedDataset]
    header: str

    def text(self) -> str:
        body = yaml.safe_dump(self.config, sort_keys=False, allow_unicode=True, width=120)
        return self.header + body

    def lineage(self, spec: TrainSpec, spec_path: Path | None) -> dict:
        text = self.text()
        return {
            "factory_lineage": {
                "tool": "axolotl",
                "spec": str(spec_path) if spec_path else None,
                "spec_sha256": hashlib.sha256(spec_path.read_bytes()).hexdigest()
                if spec_path
                else None,
                "base_model": spec.base_model,
                "base_model_revision": spec.base_model_revision,
                "seed": spec.seed,
                "datasets": [p.lineage() for p in self.pinned],
                "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
            }
        }


TEMPLATES = Path(__file__).with_name("templates")


def builtin_template(name: str) -> str:
    """The jinja text of a chat template shipped in factory/train/templates/."""
    return (TEMPLATES / f"{name}.jinja").read_text(encoding="utf-8")


def template_keys(name: str | None, jinja: str | None) -> dict:
    """axolotl's chat_template keys for a template name (`llama-3.1` is written out as jinja)."""
    if name is None:
        return {}
    if name in BUILTIN_TEMPLATES:
        return {"chat_template": "jinja", "chat_template_jinja": builtin_template(name)}
    if name == "jinja":
        return {"chat_template": "jinja", "chat_template_jinja": jinja}
    return {"chat_template": name}


def _source(entry: TrainDataset, pinned: PinnedDataset) -> dict:
    """Where axolotl reads the rows: the Hub repo at the sha, or the parquet files of a local snapshot."""
    if pinned.backend == "local":
        # load_dataset("parquet", data_files=[...]) puts every listed file in one split named "train"
        return {
            "path": pinned.snapshot,
            "ds_type": "parquet",
            "data_files": list(pinned.data_files),
            "split": "train",
        }
    hub_entry = {"path": pinned.repo_id, "revision": pinned.sha}
    if entry.config:
        hub_entry["name"] = entry.config
    return {**hub_entry, "split": entry.split}


def dataset_entry(
    entry: TrainDataset, pinned: PinnedDataset, default_template: str | None = None
) -> dict:
    """One axolotl dataset: its source, then the prompt strategy and its settings, then extra keys."""
    out = _source(entry, pinned)
    out["type"] = entry.type
    if entry.type == "completion":
        out["field"] = entry.field or "text"
    else:
        out.update(
            template_keys(entry.chat_template or default_template, entry.chat_template_jinja)
        )
        out["field_messages"] = entry.field_messages
        out["message_property_mappings"] = {"role": entry.role_key, "content": entry.content_key}
        if entry.roles is not None:
            out["roles"] = entry.roles
        if entry.roles_to_train is not None:
            out["roles_to_train"] = entry.roles_to_train
        if entry.train_on_eos is not None:
            out["train_on_eos"] = entry.train_on_eos
    out.update(entry.axolotl)
    return out


def render(
    spec: TrainSpec, spec_path: Path | None = None, tool: str = "factory train-config"
) -> AxolotlConfig:
    every = [*spec.datasets, *spec.test_datasets]
    pinned = [pin(d.dataset, config=d.config, split=d.split, backend=d.backend) for d in every]
    config: dict = {
        "base_model": spec.base_model,
        "revision_of_model": spec.base_model_revision,
        "seed": spec.seed,
    }
    # axolotl keeps the top-level template for the tokenizer; each dataset carries its own too
    config.update(template_keys(spec.chat_template, None))
    entries = [dataset_entry(d, p, spec.chat_template) for d, p in zip(every, pinned)]
    config["datasets"] = entries[: len(spec.datasets)]
    if spec.test_datasets:
        config["test_datasets"] = entries[len(spec.datasets) :]
    config.update(spec.axolotl)
    source = f" from {spec_path}" if spec_path else ""
    lines = [
        f"# Generated by `{tool}`{source}; regenerate it rather than editing it.",
        f"# base model: {spec.base_model}@{spec.base_model_revision}",
        "# datasets, pinned to immutable commits:",
        *(f"#   {p.ref} -> {p.sha} ({p.backend})" for p in pinned),
    ]
    return AxolotlConfig(config=config, pinned=pinned, header="\n".join(lines) + "\n")


def lineage_path(out: Path) -> Path:
    return out.with_name(out.name.rsplit(".", 1)[0] + LINEAGE_SUFFIX)


def write(
    spec: TrainSpec, out: Path, spec_path: Path | None = None, tool: str = "factory train-config"
) -> AxolotlConfig:
    """Write the axolotl config to `out` and its lineage beside it (`<stem>.factory_lineage.json`)."""
    rendered = render(spec, spec_path, tool)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rendered.text(), encoding="utf-8")
    lineage = rendered.lineage(spec, spec_path)
    lineage_path(out).write_text(
        json.dumps(lineage, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return rendered
