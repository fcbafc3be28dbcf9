"""The `factory` command. User errors print one line each on stderr and exit with status 2."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml

from factory.errors import FactoryError, Interrupted, RecipeError, StoreError
from factory.settings import debug

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Build, publish and inspect latxa-factory datasets.",
)

RecipeArg = Annotated[Path, typer.Argument(help="Recipe YAML file.", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a recipe field: --set a.b=value (repeatable; value parsed as YAML)."
    ),
]
DemoOpt = Annotated[
    bool,
    typer.Option(
        "--demo", help="Apply the recipe's `demo:` overrides (tiny local model, local store)."
    ),
]


def _load(recipe: Path, overrides: list[str] | None, demo: bool = False):
    from factory.recipes import load_recipe

    return load_recipe(recipe, overrides or [], demo=demo)


@app.command()
def validate(recipe: RecipeArg, set_: SetOpt = None, demo: DemoOpt = False) -> None:
    """Check a recipe; print its kind and hash, or one line per problem (exit 2)."""
    from factory.recipes import recipe_hash

    loaded = _load(recipe, set_, demo)
    typer.echo(f"{recipe}: ok ({loaded.kind_name} recipe, hash {recipe_hash(loaded)[:12]})")


@app.command()
def build(
    recipe: RecipeArg,
    set_: SetOpt = None,
    demo: DemoOpt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the resolved recipe and exit.")
    ] = False,
    no_publish: Annotated[
        bool, typer.Option("--no-publish", help="Build and assemble, but publish nothing.")
    ] = False,
) -> None:
    """Build the dataset a recipe declares and publish it (resumes an interrupted build)."""
    from factory.recipes import recipe_hash, resolved_dump

    loaded = _load(recipe, set_, demo)
    if dry_run:
        typer.echo(f"# recipe hash: {recipe_hash(loaded)}")
        typer.echo(
            yaml.safe_dump(resolved_dump(loaded), sort_keys=False, allow_unicode=True), nl=False
        )
        return
    from factory.builds.runner import build as run_build

    result = run_build(loaded, publish=not no_publish)
    counts = ", ".join(
        f"{cfg}/{split}={n}"
        for cfg, splits in result.dataset.counts.items()
        for split, n in splits.items()
    )
    typer.echo(f"rows: {counts}")
    typer.echo(f"content hash: {result.content_hash}")
    if result.revision:
        rev = result.revision
        state = "published" if rev.created else "unchanged (identical content already published)"
        typer.echo(f"{state}: {rev.repo_id}@{rev.sha}" + (f" (tag {rev.tag})" if rev.tag else ""))
        typer.echo(f"load it: factory.hub.load({rev.repo_id!r}, revision={rev.sha!r})")
    for config, rows in result.dataset.samples.items():
        if rows:
            typer.echo(f"sample ({config}):")
            typer.echo(json.dumps(rows[0], ensure_ascii=False, indent=1)[:2000])


@app.command()
def status(recipe: RecipeArg, set_: SetOpt = None, demo: DemoOpt = False) -> None:
    """Progress of a recipe's build: tasks done per stage and, on Slurm, the state of its jobs."""
    from factory.builds.slurm import build_status

    for line in build_status(_load(recipe, set_, demo)):
        typer.echo(line)


@app.command()
def explain(
    kind: Annotated[
        str, typer.Argument(help="A kind (corpus, magpie, preferences) or a recipe file.")
    ],
) -> None:
    """Print every field a recipe of this kind accepts, with its default and description."""
    from factory import kinds
    from factory.recipes import read_recipe_data

    if kind.endswith((".yaml", ".yml")):
        kind = str(read_recipe_data(Path(kind)).get("kind"))
    known = kinds.available()
    if kind not in known:
        raise RecipeError(
            f"explain: unknown kind {kind!r} (allowed kinds: {', '.join(sorted(known))})"
        )
    for line in _describe(known[kind].recipe_model()):
        typer.echo(line)


def _describe(model, prefix: str = "") -> list[str]:
    from factory.recipes import _first_model

    lines = []
    for name, field in model.model_fields.items():
        nested = _first_model(field.annotation)
        if field.is_required():
            default = "required"
        elif nested is not None:
            default = "section"
        else:
            default = f"default {field.get_default(call_default_factory=True)!r}"
        lines.append(f"{prefix}{name}: {field.description or ''} ({default})")
        if nested is not None:  # a section: list its fields too
            lines.extend(_describe(nested, prefix=f"{prefix}{name}."))
    return lines


@app.command("ls")
def list_datasets(
    repo: Annotated[
        str | None, typer.Argument(help="A dataset `org/name`: list its branches and tags.")
    ] = None,
    backend: Annotated[str, typer.Option(help="Store to list: local or hub.")] = "local",
) -> None:
    """List datasets in a store, or the revisions of one dataset."""
    from factory.hub import open_store
    from factory.refs import DatasetRef

    if backend not in ("local", "hub"):
        raise RecipeError(f"--backend: unknown store {backend!r} (allowed: local, hub)")
    store = open_store(backend)  # type: ignore[arg-type]
    if repo is None:
        for name in store.list_repos():
            typer.echo(name)
        return
    try:
        repo_id = DatasetRef.parse(repo).repo_id
    except ValueError as error:
        raise StoreError(str(error)) from None
    for ref in store.list_refs(repo_id):
        typer.echo(f"{ref.kind:6} {ref.name:24} {ref.sha}")


def _register_kind_commands() -> None:
    from factory.evaluate.cli import register as register_eval
    from factory.preferences.cli import register as register_leaderboard
    from factory.review.cli import register as register_review
    from factory.train.cli import register as register_train

    register_leaderboard(app)
    register_train(app)
    register_eval(app)
    register_review(app)


_register_kind_commands()


def _interruptible(callback):
    """Ctrl-C inside a command becomes one line and exit 130 (typer would exit silently)."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted() from None

    return run


for _command in app.registered_commands:
    _command.callback = _interruptible(_command.callback)


def main() -> None:
    try:
        app()
    except FactoryError as error:
        if debug():
            raise
        for line in str(error).splitlines() or [type(error).__name__]:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print(f"error: {Interrupted()}", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
