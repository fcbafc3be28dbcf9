"""`factory eval-config SPEC`: write pinned lm-eval task YAMLs and the command (run it with --run)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from factory.errors import MissingDependency


def eval_config_command(
    spec: Annotated[
        Path, typer.Argument(help="Eval suite spec YAML (see eval/).", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the task YAMLs (default: ./<suite name>.lm_eval)."),
    ] = None,
    run: Annotated[bool, typer.Option("--run", help="Then run the lm_eval command.")] = False,
) -> None:
    """Resolve every dataset task to a commit sha; write lm-eval task files, the suite and the command."""
    from factory.evaluate import lm_eval_tasks
    from factory.evaluate.spec import EvalSpec
    from factory.train.specfile import read_spec

    loaded = read_spec(spec, EvalSpec, "eval spec")
    target = out or Path(f"{loaded.name}.lm_eval")
    lm_eval = shutil.which("lm_eval") if run else None
    if run and lm_eval is None:  # before resolving anything: nothing to run it with
        raise MissingDependency("lm_eval", "lm-eval", "factory eval-config --run")
    result = lm_eval_tasks.write(loaded, target, spec)
    for task in result.tasks:
        typer.echo(
            f"pinned {task.pinned.ref} -> {task.pinned.sha} ({task.pinned.backend}) for task {task.name}"
        )
    typer.echo(
        f"wrote {len(result.tasks)} task file(s), {loaded.name}.yaml and lineage.json in {result.out_dir}"
    )
    typer.echo(shlex.join(result.command))
    if run:
        raise typer.Exit(subprocess.run([lm_eval, *result.command[1:]]).returncode)


def register(app: typer.Typer) -> None:
    """Add `eval-config` to the main `factory` app."""
    app.command("eval-config")(eval_config_command)
