"""Dataset cards: Hub metadata from `DatasetCardData`, body from Jinja templates in `cards/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"

_SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]


def size_category(rows: int) -> str:
    for bound, label in _SIZE_CATEGORIES:
        if rows < bound:
            return label
    return "n>1B"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(CARDS_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["to_yaml"] = lambda value: yaml.safe_dump(
        value, sort_keys=False, allow_unicode=True
    ).rstrip()
    env.filters["thousands"] = lambda value: f"{int(value):,}"
    return env


class LatxaDatasetCard(DatasetCard):
    """A Hub dataset card whose body is rendered from `cards/<template>` (templates may `extends`)."""

    default_template_path = CARDS_DIR / "base.md.j2"

    @classmethod
    def render(cls, card_data: DatasetCardData, template: str, **context: Any) -> LatxaDatasetCard:
        body = _environment().get_template(template).render(card_data=card_data, **context)
        return cls(f"---\n{card_data.to_yaml()}\n---\n\n{body.lstrip()}")


def card_data(
    *,
    license: str,
    language: list[str],
    task_categories: list[str],
    rows: int,
    data_files: dict[str, dict[str, str]],
    pretty_name: str | None,
    extra: dict[str, Any],
) -> DatasetCardData:
    configs = [
        {
            "config_name": config,
            **({"default": True} if config == "default" else {}),
            "data_files": [{"split": split, "path": path} for split, path in splits.items()],
        }
        for config, splits in data_files.items()
    ]
    return DatasetCardData(
        license=license,
        language=language,
        task_categories=task_categories or None,
        size_categories=[size_category(rows)],
        pretty_name=pretty_name,
        configs=configs,
        tags=["latxa-factory"],
        **extra,
    )
