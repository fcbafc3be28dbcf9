"""`factory leaderboard SOURCE`: ratings from arena logs or from a published preferences dataset."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from factory.errors import InputError


class DimensionChoice(str, Enum):
    overall = "overall"
    content = "content"
    language = "language"


class FormatChoice(str, Enum):
    table = "table"
    json = "json"


def leaderboard_command(
    source: Annotated[
        str,
        typer.Argument(
            help="A folder or file of battle logs (JSON, JSONL), or org/name@revision.",
            show_default=False,
        ),
    ],
    dimension: Annotated[
        DimensionChoice, typer.Option(help="Which vote to rate.")
    ] = DimensionChoice.overall,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap rounds for the confidence intervals.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    format: Annotated[
        FormatChoice,
        typer.Option("--format", help="table, or json: a list of objects sorted by rating."),
    ] = FormatChoice.table,
    ci_level: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Confidence level of the intervals.")
    ] = 0.95,
) -> None:
    """Bradley-Terry ratings (Elo scale) with bootstrap intervals, battles, wins, ties, losses per model."""
    from factory.preferences.leaderboard import compute_leaderboard
    from factory.preferences.source import load_battles

    battles, dropped = load_battles(source)
    if dropped:
        summary = ", ".join(f"{reason}={n}" for reason, n in sorted(dropped.items()))
        print(
            f"{source}: {len(battles)} valid battles; dropped {sum(dropped.values())}: {summary}",
            file=sys.stderr,
        )
    if not battles:
        raise InputError(
            f"{source}: no valid battles to rate"
            + (" (every record was dropped, see above)" if dropped else "")
        )
    board = compute_leaderboard(
        battles, dimension.value, bootstrap=bootstrap, seed=seed, ci_level=ci_level
    )
    if format is FormatChoice.json:
        typer.echo(json.dumps(board.to_json(), indent=1, ensure_ascii=False))
    else:
        typer.echo(board.table())


def register(app: typer.Typer) -> None:
    """Add `leaderboard` to the main `factory` app."""
    app.command("leaderboard")(leaderboard_command)
