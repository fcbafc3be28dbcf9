"""`factory review push|pull`: human review of published datasets on an Argilla server."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Human review on Argilla: push a seeded sample of a dataset, pull the answers back.",
    no_args_is_help=True,
)

ApiUrl = Annotated[str | None, typer.Option(help="Argilla server URL (default: $ARGILLA_API_URL).")]
ApiKey = Annotated[
    str | None, typer.Option(help="Argilla API key (default: $ARGILLA_API_KEY); never printed.")
]
Workspace = Annotated[str | None, typer.Option(help="Argilla workspace (created when missing).")]


class KindChoice(str, Enum):
    instructions = "instructions"
    translations = "translations"
    corpus = "corpus"


class BackendChoice(str, Enum):
    local = "local"
    hub = "hub"


@app.command("push")
def push_command(
    ref: Annotated[
        str, typer.Argument(help="The dataset to review, org/name@revision.", show_default=False)
    ],
    sample: Annotated[int, typer.Option(min=1, help="How many rows to sample.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the (stratified) sample.")] = 0,
    pairwise: Annotated[
        bool,
        typer.Option("--pairwise", help="Arena mode: one prompt, two models' answers (A, B, tie)."),
    ] = False,
    kind: Annotated[
        KindChoice | None, typer.Option(help="What to ask (default: guessed from the columns).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Argilla dataset name (default: from the repo).")
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="Config to read (default: the card's default).")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split to read (default: all).")] = None,
    annotators: Annotated[int, typer.Option(min=1, help="Answers wanted per record.")] = 1,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    workspace: Workspace = None,
) -> None:
    """Create (or update) an Argilla dataset holding a seeded sample of ORG/NAME@REVISION."""
    from factory.review.connection import ArgillaTarget
    from factory.review.push import push
    from factory.review.source import parse_ref

    parse_ref(ref)  # a malformed ref fails before anything else
    target = ArgillaTarget.from_options(api_url, api_key, workspace)
    result = push(
        ref,
        target,
        sample=sample,
        seed=seed,
        kind=kind.value if kind else None,
        pairwise=pairwise,
        name=name,
        config=config,
        split=split,
        annotators=annotators,
    )
    skipped = f" ({result.skipped} sampled rows had nothing to show)" if result.skipped else ""
    typer.echo(
        f"pushed {result.records} {result.kind} records to Argilla dataset {result.dataset!r} "
        f"in workspace {result.workspace!r} at {result.url}{skipped}"
    )


@app.command("pull")
def pull_command(
    name: Annotated[
        str, typer.Argument(help="The Argilla dataset `review push` printed.", show_default=False)
    ],
    output: Annotated[str, typer.Option(help="Publish the review dataset to this repo, org/name.")],
    out: Annotated[
        Path | None, typer.Option(help="Also write report.json, drops.jsonl and battles/ here.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Tag the published commit.")] = None,
    branch: Annotated[str, typer.Option(help="Branch to publish to.")] = "main",
    backend: Annotated[
        BackendChoice, typer.Option(help="Store to publish to.")
    ] = BackendChoice.local,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
    workspace: Workspace = None,
) -> None:
    """Export submitted answers: review dataset + report + drop list (+ battles for --pairwise)."""
    from factory.review.connection import ArgillaTarget
    from factory.review.pull import pull

    target = ArgillaTarget.from_options(api_url, api_key, workspace)
    result = pull(
        name, target, output=output, backend=backend.value, branch=branch, tag=tag, out_dir=out
    )
    extra = f", {result.battles} battle records" if result.kind == "pairwise" else ""
    typer.echo(
        f"published {result.revision.ref()}: {result.answers} answers, {result.drops} rows to drop{extra}"
    )


def register(main: typer.Typer) -> None:
    """Add `review` to the main `factory` app."""
    main.add_typer(app, name="review")
