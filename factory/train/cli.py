"""`factory train-config SPEC` (one pinned axolotl config) and `factory train grid SPEC` (the exp grid)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.errors import InputError, MissingDependency

train_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Training configs for axolotl: `factory train grid SPEC` expands the Latxa-Instruct grid.",
)


def find_axolotl(used_by: str = "factory train grid --run") -> list[str]:
    """How to start axolotl's trainer as a subprocess: this environment, AXOLOTL_PYTHON, or PATH."""
    named = os.environ.get("AXOLOTL_PYTHON")
    if named:
        return [named, "-m", "axolotl.cli.train"]
    if importlib.util.find_spec("axolotl") is not None:
        return [sys.executable, "-m", "axolotl.cli.train"]
    script = shutil.which("axolotl")
    if script:
        return [script, "train"]
    raise MissingDependency("axolotl", "axolotl", used_by)


def train_config_command(
    spec: Annotated[Path, typer.Argument(help="Train spec YAML (see train/).", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Axolotl config to write (default: <spec name>.axolotl.yaml)."),
    ] = None,
    run: Annotated[bool, typer.Option("--run", help="Then run axolotl's trainer on it.")] = False,
) -> None:
    """Resolve every dataset to a commit sha and write a complete axolotl config."""
    from factory.train import axolotl_config
    from factory.train.spec import TrainSpec
    from factory.train.specfile import read_spec

    loaded = read_spec(spec, TrainSpec, "train spec")
    target = out or Path(f"{loaded.name}.axolotl.yaml")
    trainer = (
        find_axolotl("factory train-config --run") if run else None
    )  # before resolving anything
    rendered = axolotl_config.write(loaded, target, spec)
    for pinned in rendered.pinned:
        typer.echo(f"pinned {pinned.ref} -> {pinned.sha} ({pinned.backend})")
    typer.echo(f"wrote {target} and {axolotl_config.lineage_path(target)}")
    if trainer:
        typer.echo(f"running: {' '.join(trainer)} {target}")
        raise typer.Exit(subprocess.run([*trainer, str(target)]).returncode)


@train_app.command("grid")
def train_grid_command(
    spec: Annotated[
        Path,
        typer.Argument(
            help="Grid spec YAML (see train/latxa_instruct_grid.yaml).", show_default=False
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the configs and Slurm scripts.")
    ] = Path("train-grid"),
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Only this run (a code such as 2_011, or a run name); repeatable."
        ),
    ] = None,
    run: Annotated[
        bool,
        typer.Option("--run", help="Then run axolotl's trainer on each config, one after another."),
    ] = False,
) -> None:
    """One pinned axolotl config, lineage and Slurm script per code of the grid (and per extra run)."""
    from factory.train import axolotl_config, grid
    from factory.train.specfile import read_spec

    loaded = read_spec(spec, grid.GridSpec, "grid spec")
    planned = grid.expand(loaded)
    if only:
        unknown = sorted(set(only) - {p.code for p in planned} - {p.name for p in planned})
        if unknown:
            names = ", ".join(p.name for p in planned)
            raise InputError(f"--only: no run {', '.join(unknown)} in {spec} (runs: {names})")
        planned = [p for p in planned if p.code in only or p.name in only]
    trainer = find_axolotl() if run else None  # before resolving anything
    written = []
    for item in planned:
        config = out / f"{item.name}.yaml"
        axolotl_config.write(item.spec, config, spec, tool="factory train grid")
        script = out / f"{item.name}.slurm.sh"
        script.write_text(grid.slurm_script(item, config.resolve()), encoding="utf-8")
        typer.echo(
            f"{item.name}: {len(item.spec.datasets)} dataset(s), seed {item.spec.seed} -> {config}, {script}"
        )
        written.append(config)
    typer.echo(f"wrote {len(written)} axolotl config(s) with lineage and Slurm scripts to {out}")
    if trainer:
        for config in written:
            typer.echo(f"running: {' '.join(trainer)} {config}")
            code = subprocess.run([*trainer, str(config)]).returncode
            if code != 0:
                raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `train-config` and `train` (grid) to the main `factory` app."""
    app.command("train-config")(train_config_command)
    app.add_typer(train_app, name="train")
