"""lm-evaluation-harness results files -> per-language benchmark tables (Markdown, CSV, JSON, LaTeX).

lm-eval writes `<output_path>/<model>/results_<timestamp>.json`; the folder names the model. Each
file holds some tasks; for every (model, task) the newest file that has the task wins. A cell is
the first metric of the task's preference list (table spec `metrics`) that the result has, x 100;
a row's `mean` averages the unrounded cells it has (missing cells are left out, as in the paper).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from factory.errors import InputError
from factory.recipe_base import StrictModel

# lm-eval names its files results_2024-10-18T15-16-50.749460.json (the run's start time)
STAMP = re.compile(r"results_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)")
DEFAULT_METRICS = ["acc,none", "exact_match,strict_match", "exact_match,flexible-extract"]


class MetricChoice(StrictModel):
    """Which lm-eval metric key is a task's cell: the first one its result has."""

    default: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METRICS),
        min_length=1,
        description="Metric keys (`metric,filter`) tried in order for every task.",
    )
    tasks: dict[str, list[str]] = Field(
        default_factory=dict, description="Per task: metric keys tried instead of `default`."
    )

    def for_task(self, task: str) -> list[str]:
        return self.tasks.get(task, self.default)


class TableDef(StrictModel):
    """One table: a language's tasks as columns."""

    name: str = Field(description="Short name (e.g. eu).")
    title: str = Field("", description="Human title (e.g. Basque).")
    file: str = Field(description="Output file stem, e.g. benchmark-full-eu.")
    tasks: list[str] = Field(min_length=1, description="lm-eval task names, in column order.")


class RowDef(StrictModel):
    """One table row: a label and the results folder it reads (or the row it repeats)."""

    label: str = Field(description="Row label in Markdown/CSV/JSON.")
    latex: str | None = Field(None, description="Row label in LaTeX (default: the label).")
    results: str | None = Field(None, description="Results folder name (lm-eval's model folder).")
    copy_of: str | None = Field(
        None,
        description="Label of another row this one repeats (an untrained combination equal to it).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> RowDef:
        if (self.results is None) == (self.copy_of is None):
            raise ValueError(f"row {self.label!r}: give exactly one of results or copy_of")
        return self


class TableSpec(StrictModel):
    """What `factory eval report --spec` builds: tables, metrics, categories and rows."""

    name: str = Field(description="Name of the report (used for a published dataset's card).")
    metrics: MetricChoice = Field(default_factory=MetricChoice, description="Metric per task.")
    tables: list[TableDef] = Field(min_length=1, description="One table per language.")
    categories: dict[str, list[str]] = Field(
        default_factory=dict, description="Category -> tasks, for the per-category means."
    )
    rows: list[RowDef] | None = Field(
        None, description="Rows in order; default: one row per results folder found."
    )

    @field_validator("rows")
    @classmethod
    def _rows_resolve(cls, rows: list[RowDef] | None) -> list[RowDef] | None:
        if rows is None:
            return rows
        labels = [r.label for r in rows]
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            raise ValueError(f"row labels must be unique (repeated: {', '.join(repeated)})")
        by_label = {r.label: r for r in rows}
        for row in rows:
            if row.copy_of is not None:
                target = by_label.get(row.copy_of)
                if target is None:
                    raise ValueError(f"row {row.label!r}: copy_of {row.copy_of!r} is not a row")
                if target.copy_of is not None:
                    raise ValueError(
                        f"row {row.label!r}: copy_of {row.copy_of!r} is itself a copy; name the original"
                    )
        return rows


def default_spec() -> TableSpec:
    """Without a spec: one table of every task found (filled in by `build`)."""
    return TableSpec(
        name="lm-eval-results", tables=[TableDef(name="all", file="results", tasks=["*"])]
    )


@dataclass(frozen=True)
class TaskResult:
    """One task's metrics as one results file reports them."""

    model: str
    task: str
    metrics: dict
    source: Path
    stamp: str
    version: object = None
    n_shot: object = None


@dataclass
class Collected:
    """Newest result per (model, task), and the files that could not be read, with the reason."""

    results: dict[tuple[str, str], TaskResult] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def models(self) -> list[str]:
        return sorted({m for m, _ in self.results})

    def tasks(self) -> list[str]:
        return sorted({t for _, t in self.results})


def results_files(paths: list[Path]) -> list[Path]:
    """Every results*.json under the given files/folders, sorted; a path that is not there is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(path.rglob("results*.json")))
        else:
            raise InputError(
                f"results path {path} does not exist (give lm-eval results files or folders)"
            )
    if not found:
        raise InputError(
            f"no lm-eval results files (results*.json) under {', '.join(map(str, paths))}"
        )
    return sorted(set(found))


def _stamp(path: Path, data: dict) -> str:
    match = STAMP.search(path.name)
    if match:
        return match.group(1)
    return f"{float(data.get('date') or 0):020.6f}"  # no lm-eval name: its `date` (epoch seconds)


def collect(paths: list[Path]) -> Collected:
    """Read every results file; for each (model folder, task) keep the newest."""
    out = Collected()
    for path in results_files(paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            out.skipped.append({"file": _short(path), "reason": f"unreadable JSON: {error}"})
            continue
        if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
            out.skipped.append(
                {"file": _short(path), "reason": "no `results` mapping (not lm-eval output)"}
            )
            continue
        out.files.append(path)
        model, stamp = path.parent.name, _stamp(path, data)
        versions, shots = data.get("versions") or {}, data.get("n-shot") or {}
        for task, metrics in data["results"].items():
            if not isinstance(metrics, dict):
                continue
            new = TaskResult(model, task, metrics, path, stamp, versions.get(task), shots.get(task))
            old = out.results.get((model, task))
            if old is None or (new.stamp, str(new.source)) > (old.stamp, str(old.source)):
                out.results[(model, task)] = new
    return out


@dataclass(frozen=True)
class Cell:
    value: float | None  # x 100, unrounded
    metric: str | None = None
    source: str | None = None


def cell(result: TaskResult | None, preferred: list[str]) -> Cell:
    if result is None:
        return Cell(None)
    for key in preferred:
        value = result.metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return Cell(100.0 * value, key, _short(result.source))
    return Cell(None)


def _short(path: Path) -> str:
    """`<model folder>/<file>`: what names a results file independently of where it was read."""
    return f"{path.parent.name}/{path.name}"


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@dataclass
class Table:
    name: str
    title: str
    file: str
    columns: list[str]  # tasks, then "mean"
    rows: list[dict]  # {label, latex, results, copy_of, cells: {task: Cell}, mean}

    def values(self, row: dict) -> list[float | None]:
        return [row["cells"][t].value for t in self.columns[:-1]] + [row["mean"]]


def _rows(spec: TableSpec, collected: Collected) -> list[RowDef]:
    if spec.rows is not None:
        return spec.rows
    return [RowDef(label=m, results=m) for m in collected.models()]


def check_rows(rows: list[RowDef], collected: Collected) -> None:
    """Every row's results folder must be among the inputs (a typo would silently print NaN)."""
    models = set(collected.models())
    missing = sorted({r.results for r in rows if r.results is not None and r.results not in models})
    if missing:
        known = ", ".join(sorted(models)) or "none"
        raise InputError(
            f"table rows name results folders that no input has: {', '.join(missing)} (found: {known})"
        )


def build(spec: TableSpec, collected: Collected) -> list[Table]:
    rows = _rows(spec, collected)
    check_rows(rows, collected)
    folder_of = {r.label: r.results for r in rows if r.results is not None}
    tables = []
    for definition in spec.tables:
        tasks = collected.tasks() if definition.tasks == ["*"] else list(definition.tasks)
        out_rows = []
        for row in rows:
            folder = row.results if row.results is not None else folder_of[row.copy_of]
            cells = {
                t: cell(collected.results.get((folder, t)), spec.metrics.for_task(t)) for t in tasks
            }
            out_rows.append(
                {
                    "label": row.label,
                    "latex": row.latex or row.label,
                    "results": folder,
                    "copy_of": row.copy_of,
                    "cells": cells,
                    "mean": mean([c.value for c in cells.values()]),
                }
            )
        tables.append(
            Table(definition.name, definition.title, definition.file, [*tasks, "mean"], out_rows)
        )
    return tables


def category_table(spec: TableSpec, table: Table) -> Table | None:
    """Per-category means of a table's rows over the category tasks it has; None without categories."""
    tasks = set(table.columns[:-1])
    groups = {c: [t for t in ts if t in tasks] for c, ts in spec.categories.items()}
    groups = {c: ts for c, ts in groups.items() if ts}
    if not groups:
        return None
    rows = []
    for row in table.rows:
        cells = {c: Cell(mean([row["cells"][t].value for t in ts])) for c, ts in groups.items()}
        rows.append({**row, "cells": cells, "mean": mean([c.value for c in cells.values()])})
    return Table(
        f"{table.name}-categories", table.title, f"{table.file}-categories", [*groups, "mean"], rows
    )


def fmt(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.2f}"


def to_latex(table: Table) -> str:
    """The paper's layout: booktabs tabular, task names as headers, two decimals, NaN when missing."""
    lines = [
        "\\begin{tabular}{l" + "r" * len(table.columns) + "}",
        "\\toprule",
        " & ".join(["task", *table.columns]) + " \\\\",
        "\\midrule",
    ]
    for row in table.rows:
        lines.append(
            " & ".join([row["latex"], *(fmt(v, "NaN") for v in table.values(row))]) + " \\\\"
        )
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_markdown(table: Table) -> str:
    head = ["model", *table.columns]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([" --- "] + [" ---: "] * len(table.columns)) + "|",
    ]
    for row in table.rows:
        label = row["label"] + (f" (= {row['copy_of']})" if row["copy_of"] else "")
        lines.append("| " + " | ".join([label, *(fmt(v, "–") for v in table.values(row))]) + " |")
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "results", "copy_of", *table.columns])
    for row in table.rows:
        writer.writerow(
            [
                row["label"],
                row["results"],
                row["copy_of"] or "",
                *(fmt(v, "") for v in table.values(row)),
            ]
        )
    return buffer.getvalue()


def to_json(table: Table) -> dict:
    return {
        "table": table.name,
        "title": table.title,
        "columns": table.columns,
        "rows": [
            {
                "label": row["label"],
                "results": row["results"],
                "copy_of": row["copy_of"],
                "values": {
                    c: (None if v is None else round(v, 2))
                    for c, v in zip(table.columns, table.values(row))
                },
                "metrics": {t: c.metric for t, c in row["cells"].items() if c.metric},
            }
            for row in table.rows
        ],
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lineage(spec: TableSpec, collected: Collected, tables: list[Table]) -> dict:
    """Which file and metric each cell came from, each input's sha256, and the files left out."""
    used = {
        (row["results"], task): cell_
        for table in tables
        for row in table.rows
        for task, cell_ in row["cells"].items()
        if cell_.source
    }
    return {
        "report": spec.name,
        "inputs": [{"file": _short(p), "sha256": _sha256(p)} for p in collected.files],
        "skipped_files": collected.skipped,
        "cells": [
            {
                "results": model,
                "task": task,
                "metric": c.metric,
                "file": c.source,
                "version": collected.results[(model, task)].version,
                "n_shot": collected.results[(model, task)].n_shot,
            }
            for (model, task), c in sorted(used.items())
        ],
    }


def write(spec: TableSpec, collected: Collected, out_dir: Path) -> dict[str, Path]:
    """Write every table (and its category means) as .md/.csv/.json/.tex, plus lineage.json."""
    tables = build(spec, collected)
    everything = [*tables, *filter(None, (category_table(spec, t) for t in tables))]
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def put(name: str, text: str) -> None:
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written[name] = path

    for table in everything:
        put(f"{table.file}.tex", to_latex(table))
        put(f"{table.file}.md", to_markdown(table))
        put(f"{table.file}.csv", to_csv(table))
        put(f"{table.file}.json", json.dumps(to_json(table), indent=1, ensure_ascii=False) + "\n")
    put(
        "lineage.json",
        json.dumps(lineage(spec, collected, tables), indent=1, ensure_ascii=False) + "\n",
    )
    return written
