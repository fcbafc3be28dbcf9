"""Stages of a preferences build.

1. `validate` (split over `executor.tasks`): read the logs, hash the usernames, drop bad
   battles with their reasons, write the valid battles.
2. `publish` (one task: ordering, duplicates and the fit need every battle): sort, drop
   duplicates, write the `default` and `dpo` rows, fit the leaderboards.
"""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.builds import BuildContext, Stage
from factory.builds.readers import StageOutputReader
from factory.builds.rows import RowWriter
from factory.preferences.fit_step import LEADERBOARD_FILE, FitLeaderboards, plot_paths
from factory.preferences.ingest import BattleReader
from factory.preferences.privacy import SALT_ENV, AnonymizeAnnotators, annotator_salt
from factory.preferences.recipe import PreferencesRecipe
from factory.preferences.rows import BattleRows
from factory.preferences.validate import DuplicateBattleFilter, SortBattles, validation_filters


class ValidatedBattlesReader(StageOutputReader):
    """The validated battles; none when the previous stage kept no battle."""

    name = "🥊 Valid battles"


def _leaderboard_dir(ctx: BuildContext) -> Path:
    return ctx.stage_dir("publish") / "leaderboard"


def stages(recipe: PreferencesRecipe, ctx: BuildContext) -> list[Stage]:
    annotator_salt()  # fail before any work when the salt is missing; the value is not kept
    board = recipe.leaderboard
    # datatrove's reader refuses a missing folder; an empty one (every battle dropped) must reach
    # the runner, which reports the drop reasons
    Path(ctx.stage_output("validate")).mkdir(parents=True, exist_ok=True)
    validate = [
        BattleReader(ctx.input_files()),
        AnonymizeAnnotators(recipe.validation.anonymous_usernames),
        *validation_filters(
            recipe.validation.allowed_models,
            writer_for=lambda name: ctx.exclusion_writer("validate", name),
        ),
        JsonlWriter(ctx.stage_output("validate")),
    ]
    publish = [
        ValidatedBattlesReader(ctx.stage_output("validate")),
        SortBattles(),
        DuplicateBattleFilter(
            exclusion_writer=ctx.exclusion_writer("publish", "DuplicateBattleFilter")
        ),
        BattleRows(recipe.split, recipe.dpo.dimension if recipe.dpo.enabled else None),
        FitLeaderboards(
            str(_leaderboard_dir(ctx)),
            board.dimensions,
            {d: ctx.derive_seed("leaderboard", d) for d in board.dimensions},
            bootstrap=board.bootstrap,
            ci_level=board.ci_level,
            scale=board.scale,
            base=board.base,
            initial=board.initial,
        ),
        RowWriter(ctx),
    ]
    return [Stage("validate", validate), Stage("publish", publish, tasks=1)]


def _summary(ctx: BuildContext) -> dict:
    path = _leaderboard_dir(ctx) / LEADERBOARD_FILE
    return (
        json.loads(path.read_text())
        if path.is_file()
        else {"leaderboards": [], "annotators": None, "battles": 0}
    )


def card_context(recipe: PreferencesRecipe, ctx: BuildContext) -> dict:
    summary = _summary(ctx)
    return {
        "leaderboards": summary["leaderboards"],
        "annotators": summary["annotators"],
        "battles": summary["battles"],
        "dpo": recipe.dpo,
        "board": recipe.leaderboard,
        "salt_env": SALT_ENV,
        "lineage_extra": {
            "rating method": "Bradley-Terry MLE (Newton), percentile bootstrap",
            "bootstrap seeds": "derive_seed(recipe.seed, 'leaderboard', dimension)",
        },
    }


def extra_files(recipe: PreferencesRecipe, ctx: BuildContext) -> dict[str, Path]:
    folder = _leaderboard_dir(ctx)
    files: dict[str, Path] = {}
    if (folder / LEADERBOARD_FILE).is_file():
        files["leaderboard.json"] = folder / LEADERBOARD_FILE
    for board in _summary(ctx)["leaderboards"]:
        if "error" not in board:
            files.update(plot_paths(folder, board["dimension"]))
    return files
