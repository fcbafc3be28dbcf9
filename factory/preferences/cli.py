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
    config: Annotated[
        str | None,
        typer.Option(help="Config of a published dataset (default: the card's default config)."),
    ] = None,
    like_arena: Annotated[
        bool,
        typer.Option(
            "--like-arena",
            help="Add the arena's own figures beside ours: truncated mean of 100 bootstrap "
            "rounds (seed 42) and its 90% interval +(q95-median)/-(median-q05), as in the paper.",
        ),
    ] = False,
) -> None:
    """Bradley-Terry ratings (Elo scale) with bootstrap intervals, battles, wins, ties, losses per model."""
    from factory.preferences.leaderboard import compute_leaderboard
    from factory.preferences.source import load_battles

    battles, dropped = load_battles(source, config)
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
    if like_arena:
        _echo_like_arena(board, battles, dimension.value, format)
    elif format is FormatChoice.json:
        typer.echo(json.dumps(board.to_json(), indent=1, ensure_ascii=False))
    else:
        typer.echo(board.table())


def _echo_like_arena(board, battles: list[dict], dimension: str, format: FormatChoice) -> None:
    """Ours (point fit, percentile interval) beside the arena's (bootstrap mean, 90% interval)."""
    from factory.preferences.arena_report import ARENA_ROUNDS, arena_leaderboard

    arena = {st.model: st for st in arena_leaderboard(battles, dimension)}
    rows = []
    for own in board.to_json():
        theirs = arena.get(own["model"])
        rows.append(
            {
                **own,
                "arena_elo": theirs.elo if theirs else None,
                "arena_ci_90": theirs.ci if theirs else None,
            }
        )
    rows.sort(key=lambda r: (r["arena_elo"] is None, -(r["arena_elo"] or 0), r["model"]))
    if format is FormatChoice.json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    level = f"{round(board.ci_level * 100)}% CI"
    header = ["model", "arena ELO", "arena 90% CI", "rating", level]
    cells = [
        [
            r["model"],
            str(r["arena_elo"]),
            str(r["arena_ci_90"]),
            "n/a" if r["rating"] is None else f"{r['rating']:.1f}",
            "" if r["rating"] is None else f"{r['ci_low']:.1f} to {r['ci_high']:.1f}",
        ]
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    typer.echo(
        f"{dimension}: {board.battles} battles; arena: mean of {ARENA_ROUNDS} bootstrap rounds "
        f"(seed 42), 90% CI; ours: point fit, {board.bootstrap} rounds (seed {board.seed})"
    )
    for line in [header, ["-" * w for w in widths], *cells]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())


def register(app: typer.Typer) -> None:
    """Add `leaderboard` to the main `factory` app."""
    app.command("leaderboard")(leaderboard_command)
