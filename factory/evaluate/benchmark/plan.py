"""One stage: read every input file in order, drop rows that are not records or lack a required key."""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.builds import BuildContext, Stage
from factory.builds.rows import RowWriter

from .recipe import BenchmarkRecipe


def _format(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    suffix = path.suffix.lower()
    return {".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}.get(suffix, "jsonl")


def read_records(path: Path, fmt: str):
    """(position, record or the reason it is not one) for every row of one file."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from enumerate(pq.read_table(path).to_pylist())
        return
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data.get("data", data) if isinstance(data, dict) else data
        yield from enumerate(rows if isinstance(rows, list) else [rows])
        return
    with open(path, encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line)
            except json.JSONDecodeError:
                yield i, ValueError("unparsable JSON line")


class BenchmarkRows(PipelineStep):
    name = "benchmark rows"

    def __init__(self, inputs: list[tuple[str, list[str], str]], required: list[str], exclusions):
        super().__init__()
        self.inputs, self.required, self.exclusions = inputs, required, exclusions

    def _drop(self, doc: Document, reason: str) -> None:
        doc.metadata["filter_reason"] = reason
        self.stat_update(f"dropped_{reason}")
        if self.exclusions is not None:
            self.exclusions.write(doc)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.exclusions if self.exclusions is not None else _Null():
            for split, files, fmt in self.inputs:
                for file in files:
                    path = Path(file)
                    for i, record in read_records(path, _format(path, fmt)):
                        doc = Document(text="", id=f"{split}/{path.name}/{i}", metadata={})
                        if isinstance(record, ValueError):
                            doc.text = str(record)
                            self._drop(doc, "unparsable_json")
                            continue
                        if not isinstance(record, dict):
                            doc.text = str(record)[:1000]
                            self._drop(doc, "not_a_record")
                            continue
                        missing = [k for k in self.required if record.get(k) is None]
                        if missing:
                            doc.text = json.dumps(record, ensure_ascii=False)[:1000]
                            self._drop(doc, "missing_field")
                            continue
                        config, _, name = split.rpartition("/")
                        doc.metadata["row"] = record
                        doc.metadata["split"] = name
                        if config:
                            doc.metadata["config"] = config
                        self.stat_update("rows")
                        yield doc


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def stages(recipe: BenchmarkRecipe, ctx: BuildContext) -> list[Stage]:
    inputs = [(i.name, [str(p) for p in i.files], i.format) for i in ctx.inputs]
    step = BenchmarkRows(
        inputs,
        recipe.benchmark.required_fields,
        ctx.exclusion_writer("benchmark", "rows"),
    )
    return [Stage("benchmark", [step, RowWriter(ctx)], tasks=1)]


def card_context(recipe: BenchmarkRecipe, ctx: BuildContext) -> dict:
    return {"required_fields": recipe.benchmark.required_fields}
