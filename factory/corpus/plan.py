"""The corpus kind's build plan: read -> dedup (signatures, buckets, clusters) -> filter -> split -> [tokens] -> rows."""

from __future__ import annotations

from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers.jsonl import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.builds.context import BuildContext
from factory.builds.rows import RowWriter
from factory.builds.stage import Stage
from factory.corpus.dedup import (
    DedupBuckets,
    DedupClusters,
    DedupFilter,
    DedupSignatures,
    StampShard,
    minhasher_for,
)
from factory.corpus.excluded import ExcludedRows, ExclusionReader
from factory.corpus.filters import SCORES_KEY, make_filters
from factory.corpus.normalize import InputLimitsFilter, Normalizer
from factory.corpus.readers import SourceFile, SourceReader
from factory.corpus.recipe import CorpusRecipe
from factory.corpus.report import card_tables, write_plots
from factory.corpus.splits import SplitAssign, SplitKeys, SplitPlan
from factory.corpus.stats import CorpusStats
from factory.corpus.tokens import TokenizerRef, resolve_tokenizer
from factory.recipe_base import StageResources

_JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


def _reader_for(reader: str, path: Path) -> str:
    """A Hub dataset's data files are Parquet or JSON lines; every other reader is what the recipe says."""
    if reader != "hub":
        return reader
    return "jsonl" if path.name.endswith(_JSONL_SUFFIXES) else "parquet"


def source_files(recipe: CorpusRecipe, ctx: BuildContext) -> list[SourceFile]:
    """Every input file, in recipe order (the order is the priority)."""
    files: list[SourceFile] = []
    for priority, source in enumerate(recipe.sources):
        for path in ctx.input_files(source.name):
            files.append(
                SourceFile(
                    source=source.name,
                    priority=priority,
                    reader=_reader_for(source.reader, path),
                    path=str(path),
                    file_index=len(files),
                    fields=source.fields.model_dump(),
                )
            )
    return files


class RowBuilder(PipelineStep):
    """Builds the published row: id, text, source, url, date, eu_fraction, quality."""

    name = "🧾 Corpus rows"
    type = "✂️ - FORMAT"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            scores = doc.metadata.get(SCORES_KEY, {})
            doc.metadata["row"] = {
                "id": doc.id,
                "text": doc.text,
                "source": doc.metadata["source"],
                "url": doc.metadata.get("url"),
                "date": doc.metadata.get("date"),
                "eu_fraction": scores.get("eu_fraction"),
                "quality": scores.get("quality"),
            }
            yield doc


def _stats_dir(ctx: BuildContext) -> Path:
    return ctx.workdir / "corpus_stats"


def _index_dir(ctx: BuildContext) -> str:
    return str(ctx.stage_dir("dedup") / "index")


def _review_drops(recipe: CorpusRecipe, ctx: BuildContext) -> list:
    """Drop the rows reviewers discarded (`review_drops`), reason `review_discard`."""
    if not recipe.review_drops:
        return []
    from factory.review.drops import ReviewDropFilter, drop_ids

    ids = drop_ids(recipe.review_drops, recipe.output.repo_id)
    return [ReviewDropFilter(ids, exclusion_writer=ctx.exclusion_writer("read", "review_discard"))]


def stages(recipe: CorpusRecipe, ctx: BuildContext) -> list[Stage]:
    stats = str(_stats_dir(ctx))
    index = _index_dir(ctx)
    d = recipe.dedup
    hasher = minhasher_for(recipe.seed, d.ngram, d.bands, d.rows)
    low_quality = [i for i, s in enumerate(recipe.sources) if s.low_quality]
    n_kinds = 2 + d.bands
    split_keys = str(ctx.stage_dir("filter") / "split_keys")
    split_plan = str(ctx.stage_dir("split_plan") / "plan.json")
    tasks = recipe.executor.tasks
    # the dedup buffers are bounded by `dedup.memory_gb`; 1 GB more for Python and the reader
    dedup_resources = StageResources(mem_gb=d.memory_gb + 1.0)

    read = Stage(
        "read",
        [
            SourceReader(
                source_files(recipe, ctx),
                quarantine_writer=ctx.exclusion_writer("read", "quarantine"),
            ),
            InputLimitsFilter(
                max_chars=recipe.limits.max_chars,
                exclusion_writer=ctx.exclusion_writer("read", "input_gigantic"),
            ),
            Normalizer(recipe.normalize.fix_encoding, recipe.normalize.whitespace),
            InputLimitsFilter(
                min_chars=recipe.limits.min_chars,
                exclusion_writer=ctx.exclusion_writer("read", "input_empty"),
            ),
            *_review_drops(recipe, ctx),
            StampShard(),
            CorpusStats(stats, "raw"),
            JsonlWriter(ctx.stage_output("read")),
        ],
    )
    signatures = Stage(
        "dedup_signatures",
        [
            JsonlReader(ctx.stage_output("read")),
            DedupSignatures(
                index,
                hasher,
                url=d.url,
                exact=d.exact,
                near=d.near,
                paragraph_min_chars=d.paragraph_min_chars if low_quality else None,
                memory_gb=d.memory_gb,
            ),
        ],
        resources=dedup_resources,
    )
    buckets = Stage(
        "dedup_buckets",
        [DedupBuckets(index, n_kinds, d.threshold, low_quality, memory_gb=d.memory_gb)],
        tasks=min(tasks, n_kinds),
        resources=dedup_resources,
    )
    clusters = Stage(
        "dedup_clusters", [DedupClusters(index, [s.name for s in recipe.sources])], tasks=1
    )
    flags = make_filters(recipe)  # label-only copies: Table 7 counts every rule a document fails
    filter_stage = Stage(
        "filter",
        [
            JsonlReader(ctx.stage_output("read")),
            DedupFilter(index, exclusion_writer=ctx.exclusion_writer("filter", "dedup")),
            CorpusStats(stats, "deduped", filters=flags),
            *make_filters(recipe, writer_for=lambda prefix: ctx.exclusion_writer("filter", prefix)),
            SplitKeys(split_keys, recipe.seed),
            JsonlWriter(ctx.stage_output("filter")),
        ],
    )
    plan = Stage(
        "split_plan",
        [SplitPlan(split_keys, split_plan, recipe.splits.validation, recipe.splits.test)],
        tasks=1,
    )
    rows = Stage(
        "rows",
        [
            JsonlReader(ctx.stage_output("filter")),
            SplitAssign(split_plan, recipe.seed),
            CorpusStats(stats, "filtered"),
            RowBuilder(),
            RowWriter(ctx),
        ],
    )
    excluded = Stage(
        "excluded",
        [
            *(_exclusion_reader(ctx, stage_name) for stage_name in ("read", "filter")),
            ExcludedRows(),
            RowWriter(ctx),
        ],
    )
    tokenizer = resolve_tokenizer(recipe.stats.tokenizer, recipe.base_dir)
    if tokenizer is None:
        return [read, signatures, buckets, clusters, filter_stage, plan, rows, excluded]
    # its own stage, named by the tokenizer's fingerprint: `stats.tokenizer` stays out of the
    # recipe hash, so another tokenizer reuses every other stage and still gets counted
    label = _tokens_label(tokenizer)
    tokens = Stage(
        label,
        [
            JsonlReader(ctx.stage_output("filter")),
            CorpusStats(stats, label, tokenizer=tokenizer.path),
        ],
    )
    # last: a stage that ran makes every later one rerun (a resume's rule), and nothing reads it
    return [read, signatures, buckets, clusters, filter_stage, plan, rows, excluded, tokens]


def _exclusion_reader(ctx: BuildContext, stage: str) -> ExclusionReader:
    """Every exclusion writer's files of `stage` (one folder per filter), tagged with the stage."""
    folder = ctx.exclusions_dir(stage)
    folder.mkdir(parents=True, exist_ok=True)  # a stage that dropped nothing has no folder
    return ExclusionReader(
        str(folder),
        glob_pattern="*/*.jsonl.gz",
        default_metadata={"dropped_in": stage},
        shuffle_files=False,
    )


def _tokens_label(tokenizer: TokenizerRef) -> str:
    return f"tokens_{tokenizer.fingerprint}"


def card_context(recipe: CorpusRecipe, ctx: BuildContext) -> dict:
    tokenizer = resolve_tokenizer(recipe.stats.tokenizer, recipe.base_dir)
    return card_tables(
        recipe,
        _stats_dir(ctx),
        ctx,
        tokens_label=_tokens_label(tokenizer) if tokenizer else None,
        tokenizer=tokenizer.label if tokenizer else None,
    )


def extra_files(recipe: CorpusRecipe, ctx: BuildContext) -> dict[str, Path]:
    return write_plots(recipe, _stats_dir(ctx), ctx.workdir / "plots")
