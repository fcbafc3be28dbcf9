"""`factory eval SPEC` (run a suite), `factory eval report RESULTS...` (tables) and `factory eval-config`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from factory.errors import InputError


class DefaultCommandGroup(TyperGroup):
    """A group whose first argument, when it is not a subcommand, goes to `default_command`.

    So `factory eval SPEC` runs a suite while `factory eval report ...` still reaches `report`.
    """

    default_command = "run"

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    add_completion=False,
    help="Run an lm-eval suite (`factory eval SPEC`) or turn results into tables (`factory eval report`).",
)


def _write_configs(spec: Path, out: Path | None):
    from factory.evaluate import lm_eval_tasks
    from factory.evaluate.spec import EvalSpec
    from factory.train.specfile import read_spec

    loaded = read_spec(spec, EvalSpec, "eval spec")
    target = out or Path(f"{loaded.name}.lm_eval")
    return loaded, target, lm_eval_tasks


def eval_config_command(
    spec: Annotated[
        Path, typer.Argument(help="Eval suite spec YAML (see eval/).", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the task YAMLs (default: ./<suite name>.lm_eval)."),
    ] = None,
    run: Annotated[bool, typer.Option("--run", help="Then run the lm_eval command(s).")] = False,
) -> None:
    """Resolve every dataset task to a commit sha; write lm-eval task files, the suite and the command."""
    if run:  # the same as `factory eval SPEC`
        return eval_run_command(spec, out)
    loaded, target, lm_eval_tasks = _write_configs(spec, out)
    result = lm_eval_tasks.write(loaded, target, spec)
    _echo_written(loaded, result)


def _echo_written(loaded, result) -> None:
    for task in result.tasks:
        typer.echo(
            f"pinned {task.pinned.ref} -> {task.pinned.sha} ({task.pinned.backend}) for task {task.name}"
        )
    typer.echo(
        f"wrote {len(result.tasks)} task file(s), {loaded.name}.yaml and lineage.json in {result.out_dir}"
    )
    for argv in result.commands:
        typer.echo(shlex.join(argv))


@eval_app.command("run", hidden=True)
def eval_run_command(
    spec: Annotated[
        Path, typer.Argument(help="Eval suite spec YAML (see eval/).", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for task YAMLs and results (default: ./<suite>.lm_eval)."
        ),
    ] = None,
) -> None:
    """Check every task against lm-eval's TaskManager, then run lm-eval and record lineage."""
    from factory.evaluate import runner

    loaded, target, lm_eval_tasks = _write_configs(spec, out)
    lm_eval = runner.find_lm_eval()  # before resolving anything: nothing to run it with
    result = lm_eval_tasks.write(loaded, target, spec, python=lm_eval.python)
    _echo_written(loaded, result)
    runner.check_task_names(lm_eval, result)
    code = runner.run(lm_eval, result, spec, echo=typer.echo)
    raise typer.Exit(code)


@eval_app.command("report")
def eval_report_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="lm-eval results files or folders (<output_path>/<model>/results_*.json).",
            show_default=False,
        ),
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="Table spec YAML (e.g. eval/latxa_instruct_tables.yaml); default: one table.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the tables.")] = Path(
        "eval-report"
    ),
    publish: Annotated[
        str | None,
        typer.Option("--publish", help="Also publish the tables as dataset org/name[@tag]."),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", help="Store to publish to: local or hub.")
    ] = "local",
) -> None:
    """Per-language tables (Markdown, CSV, JSON, LaTeX) and per-category means from lm-eval results."""
    from factory.evaluate import report
    from factory.refs import DatasetRef
    from factory.train.specfile import read_spec

    table_spec = read_spec(spec, report.TableSpec, "table spec") if spec else report.default_spec()
    target = None
    if publish is not None:  # checked before reading hundreds of files
        if backend not in ("local", "hub"):
            raise InputError(f"--backend: unknown store {backend!r} (allowed: local, hub)")
        try:
            target = DatasetRef.parse(publish)
        except ValueError as error:
            raise InputError(f"--publish: {error}") from None
    collected = report.collect(results)
    for skipped in collected.skipped:
        typer.echo(f"skipped {skipped['file']}: {skipped['reason']}")
    written = report.write(table_spec, collected, out)
    typer.echo(
        f"read {len(collected.files)} results file(s) of {len(collected.models())} model(s); "
        f"wrote {len(written)} file(s) to {out}"
    )
    if target is not None:
        from factory.evaluate.publish_report import publish_report

        revision = publish_report(table_spec, written, target, backend)  # type: ignore[arg-type]
        typer.echo(f"published {revision.repo_id}@{revision.sha} ({backend})")


def register(app: typer.Typer) -> None:
    """Add `eval` (run, report) and `eval-config` to the main `factory` app."""
    app.add_typer(eval_app, name="eval")
    app.command("eval-config")(eval_config_command)
