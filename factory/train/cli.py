"""`factory train-config SPEC`: write a pinned axolotl config (and run `axolotl train` with --run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from factory.errors import MissingDependency


def train_config_command(
    spec: Annotated[Path, typer.Argument(help="Train spec YAML (see train/).", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Axolotl config to write (default: <spec name>.axolotl.yaml)."),
    ] = None,
    run: Annotated[bool, typer.Option("--run", help="Then run `axolotl train` on it.")] = False,
) -> None:
    """Resolve every dataset to a commit sha and write a complete axolotl config."""
    from factory.train import axolotl_config
    from factory.train.spec import TrainSpec
    from factory.train.specfile import read_spec

    loaded = read_spec(spec, TrainSpec, "train spec")
    target = out or Path(f"{loaded.name}.axolotl.yaml")
    axolotl = shutil.which("axolotl") if run else None
    if run and axolotl is None:  # before resolving anything: nothing to run it with
        raise MissingDependency("axolotl", "axolotl", "factory train-config --run")
    rendered = axolotl_config.write(loaded, target, spec)
    for pinned in rendered.pinned:
        typer.echo(f"pinned {pinned.ref} -> {pinned.sha} ({pinned.backend})")
    typer.echo(f"wrote {target} and {axolotl_config.lineage_path(target)}")
    if run:
        typer.echo(f"running: axolotl train {target}")
        raise typer.Exit(subprocess.run([axolotl, "train", str(target)]).returncode)


def register(app: typer.Typer) -> None:
    """Add `train-config` to the main `factory` app."""
    app.command("train-config")(train_config_command)
