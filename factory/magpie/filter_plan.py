"""One stage: read the tagged rows, apply the rules, write the kept rows (split over the tasks)."""

from __future__ import annotations

from factory.builds.context import BuildContext
from factory.builds.rows import RowWriter
from factory.builds.stage import Stage
from factory.errors import RecipeError
from factory.magpie.filter_recipe import MagpieFilterRecipe
from factory.magpie.rules import VIRTUAL_COLUMNS, RulesFilter, rule_reason
from factory.magpie.tag_steps import DatasetRowsReader


def check_columns(recipe: MagpieFilterRecipe, files) -> None:
    """Every rule's column exists in the input (read from the parquet schema, before any work)."""
    import pyarrow.parquet as pq

    available = set()
    for path in files:
        available |= set(pq.read_schema(path).names)
    for i, rule in enumerate(recipe.rules):
        missing = sorted(rule.columns() - available)
        if missing:
            raise RecipeError(
                f"rules.{i}: column {missing[0]!r} is not in the input dataset "
                f"(columns: {', '.join(sorted(available | set(VIRTUAL_COLUMNS)))}); tag it first with a magpie_tags recipe"
            )


def stages(recipe: MagpieFilterRecipe, ctx: BuildContext) -> list[Stage]:
    files = ctx.input_files()
    check_columns(recipe, files)
    return [
        Stage(
            "filter",
            [
                DatasetRowsReader(files),
                RulesFilter(recipe.rules, exclusion_writer=ctx.exclusion_writer("filter", "rules")),
                RowWriter(ctx),
            ],
        )
    ]


def card_context(recipe: MagpieFilterRecipe, ctx: BuildContext) -> dict:
    from factory.builds.stats import merge_stage_stats

    stats = merge_stage_stats("filter", ctx.stage_logs("filter"), recipe.executor.tasks)
    counters = {}
    for step in stats.steps:
        counters.update(step.counters)
    rules = []
    for i, rule in enumerate(recipe.rules):
        rules.append(
            {
                "n": i + 1,
                "label": rule.label(),
                "reason": rule_reason(i, rule),
                "removed": stats.dropped.get(rule_reason(i, rule), 0),
                "fails": int(counters.get(f"fails_rule_{i + 1}", 0)),
            }
        )
    rows_in = int(counters.get("documents", 0))
    return {
        "rules": rules,
        "rows_in": rows_in,
        "rows_out": rows_in - sum(r["removed"] for r in rules),
    }
