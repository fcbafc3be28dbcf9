"""Stages of a `magpie_tags` build: tag (N tasks) -> neighbour index (1 task) -> neighbours and rows (N tasks)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.builds.context import BuildContext
from factory.builds.rows import RowWriter
from factory.builds.stage import Stage
from factory.magpie.ann import IndexParams
from factory.magpie.tag_recipe import MagpieTagsRecipe
from factory.magpie.tag_steps import (
    DatasetRowsReader,
    NeighbourIndexBuilder,
    NeighbourTagger,
    TaggedRows,
    Tagger,
)


def _checkpoints(ctx: BuildContext) -> Path:
    return ctx.stage_dir("tag") / "checkpoints"


def _index_dir(ctx: BuildContext) -> Path:
    return ctx.stage_dir("index") / "index"


def stages(recipe: MagpieTagsRecipe, ctx: BuildContext) -> list[Stage]:
    tags = recipe.tags
    near = tags.neighbours
    if near.enabled:
        from factory.magpie.ann import import_faiss

        import_faiss()  # a missing faiss is a one-line error before any tagging
    tag = Stage(
        "tag",
        [
            DatasetRowsReader(ctx.input_files()),
            Tagger(tags, str(_checkpoints(ctx))),
            JsonlWriter(ctx.stage_output("tag")),
        ],
    )
    if not near.enabled:
        return [
            tag,
            Stage("rows", [JsonlReader(ctx.stage_output("tag")), TaggedRows(), RowWriter(ctx)]),
        ]
    params = IndexParams(exact_below=near.exact_below, nlist=near.nlist, nprobe=near.nprobe)
    index = Stage(
        "index",
        [NeighbourIndexBuilder(str(_checkpoints(ctx)), str(_index_dir(ctx)), params)],
        tasks=1,  # one index over every row: Magpie's distance is to the whole set
    )
    rows = Stage(
        "neighbours",
        [
            JsonlReader(ctx.stage_output("tag")),
            NeighbourTagger(
                str(_index_dir(ctx)), near.k, near.threshold, near.nprobe, near.batch_size
            ),
            TaggedRows(),
            RowWriter(ctx),
        ],
    )
    return [tag, index, rows]


def _tag_counts(ctx: BuildContext, columns: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {c: Counter() for c in columns}
    for path in sorted(ctx.rows_dir.glob("default/*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    for c in columns:
                        counts[c][str(row.get(c))] += 1
    return {c: dict(sorted(v.items(), key=lambda kv: -kv[1])) for c, v in counts.items()}


def card_context(recipe: MagpieTagsRecipe, ctx: BuildContext) -> dict:
    tags = recipe.tags
    label_columns = []
    if tags.judge.enabled:
        from factory.magpie.judge import TASKS

        label_columns = [TASKS[t].column for t in tags.judge.tasks]
    if tags.language.enabled:
        label_columns.append("instruction_language")
    index_info = {}
    built = _index_dir(ctx) / "built.json"
    if built.exists():
        index_info = json.loads(built.read_text())
    extra = {}
    if tags.judge.enabled:
        extra["judge model"] = tags.judge.engine.model
        extra["judge model revision (recipe)"] = tags.judge.engine.revision or "unpinned"
        if tags.judge.engine.model.startswith("demo:"):
            from factory.demo.model import DEMO_MODEL_ID, demo_revision

            extra["judge model (resolved)"] = f"{DEMO_MODEL_ID}@{demo_revision()}"
    if tags.reward.enabled:
        extra["reward model"] = tags.reward.model
        extra["reward model revision (recipe)"] = tags.reward.revision or "unpinned"
        if tags.reward.model.startswith("demo:"):
            from factory.magpie.reward import DEMO_RM_ID, demo_rm_revision

            extra["reward model (resolved)"] = f"{DEMO_RM_ID}@{demo_rm_revision()}"
    if tags.neighbours.enabled:
        extra["embedding model"] = tags.neighbours.model
    return {
        "demo_model": recipe.uses_demo_model,
        "tags": tags.model_dump(
            mode="json", exclude={"judge": {"engine": {"api_key_env", "base_url"}}}
        ),
        "tag_counts": _tag_counts(ctx, label_columns),
        "index_info": index_info,
        "lineage_extra": extra,
    }
