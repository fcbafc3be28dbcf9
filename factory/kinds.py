"""Registry of dataset kinds: kind name -> the modules holding its recipe model and plan.

A kind is `factory/<kind>/recipe.py` (a `RecipeBase` subclass with `kind: Literal[...]`)
plus `factory/<kind>/plan.py` (`stages(recipe, ctx)`, optionally `card_context` and
`extra_files`). Tests may register extra kinds with `register`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from types import ModuleType

from factory.recipe_base import RecipeBase


@dataclass(frozen=True)
class Kind:
    name: str
    recipe_module: str
    recipe_class: str
    plan_module: str

    def recipe_model(self) -> type[RecipeBase]:
        return getattr(importlib.import_module(self.recipe_module), self.recipe_class)

    def plan(self) -> ModuleType:
        return importlib.import_module(self.plan_module)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    _KINDS[kind.name] = kind


for _name, _cls in (
    ("corpus", "CorpusRecipe"),
    ("magpie", "MagpieRecipe"),
    ("preferences", "PreferencesRecipe"),
    ("translate", "TranslateRecipe"),
):
    register(Kind(_name, f"factory.{_name}.recipe", _cls, f"factory.{_name}.plan"))
# benchmark files imported for lm-eval dataset tasks (lives with the eval wrapper)
register(
    Kind(
        "benchmark",
        "factory.evaluate.benchmark.recipe",
        "BenchmarkRecipe",
        "factory.evaluate.benchmark.plan",
    )
)
# Magpie's tagging and tag-filter steps live beside the magpie kind
register(
    Kind("magpie_tags", "factory.magpie.tag_recipe", "MagpieTagsRecipe", "factory.magpie.tag_plan")
)
register(
    Kind(
        "magpie_filter",
        "factory.magpie.filter_recipe",
        "MagpieFilterRecipe",
        "factory.magpie.filter_plan",
    )
)


def _load_plugins() -> None:
    """`FACTORY_PLUGINS=mod1,mod2`: modules that call `register` for kinds of their own."""
    for module in filter(
        None, (m.strip() for m in os.environ.get("FACTORY_PLUGINS", "").split(","))
    ):
        importlib.import_module(module)


def available() -> dict[str, Kind]:
    """Kinds whose recipe module can be imported."""
    _load_plugins()
    found = {}
    for name, kind in _KINDS.items():
        try:
            kind.recipe_model()
        except ModuleNotFoundError as error:
            if not error.name or not kind.recipe_module.startswith(error.name):
                raise
            continue
        found[name] = kind
    return found


def get(name: str) -> Kind:
    return _KINDS[name]
