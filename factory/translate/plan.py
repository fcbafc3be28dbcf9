"""The stages of a translation build: select -> translate and check -> rows."""

from __future__ import annotations

import gzip
import hashlib
import json
import statistics

from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.builds.context import BuildContext
from factory.builds.rows import RowWriter
from factory.builds.stage import Stage
from factory.translate.recipe import TranslateRecipe
from factory.translate.source import SourceFile, SourceReader, SourceValidator
from factory.translate.stages import (
    CopyCheck,
    LanguageCheckFilter,
    LengthRatioCheck,
    QualityEstimation,
    RefusalCheck,
    StructureCheck,
    TranslationRows,
    Translator,
    TruncationCheck,
    load_scorer,
)


def file_revision(path) -> str:
    """A local input file's revision: its content hash (a dataset input has its commit sha)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def source_files(ctx: BuildContext) -> list[SourceFile]:
    return [
        SourceFile(
            path=str(path),
            input=item.name,
            ref=item.ref,
            revision=item.sha or file_revision(path),
            format=item.format,
        )
        for item in ctx.inputs
        for path in item.files
    ]


def stages(recipe: TranslateRecipe, ctx: BuildContext) -> list[Stage]:
    q, spec = recipe.quality, recipe.translate
    if q.scorer is not None:
        load_scorer(q.scorer.function)  # a bad scorer path fails now, before any translation
    excluded = lambda stage, name: ctx.exclusion_writer(stage, name)  # noqa: E731
    select = Stage(
        "select",
        [
            SourceReader(source_files(ctx), recipe.selection, recipe.seed),
            SourceValidator(exclusion_writer=excluded("select", "bad_rows")),
            JsonlWriter(ctx.stage_output("select")),
        ],
        tasks=1,  # `first` and `sample` need every row in order
    )
    checks: list = []
    if q.drop_truncated:
        checks.append(TruncationCheck(exclusion_writer=excluded("translate", "truncated")))
    checks.append(StructureCheck(exclusion_writer=excluded("translate", "structure")))
    if q.drop_refusals:
        checks.append(RefusalCheck(exclusion_writer=excluded("translate", "refusal")))
    checks.append(
        CopyCheck(q.max_copied_fraction, exclusion_writer=excluded("translate", "untranslated"))
    )
    checks.append(
        LengthRatioCheck(q.length_ratio, exclusion_writer=excluded("translate", "length_ratio"))
    )
    if q.language.enabled:
        checks.append(
            LanguageCheckFilter(
                spec.target_language, q.language, exclusion_writer=excluded("translate", "language")
            )
        )
    if q.scorer is not None:
        checks.append(QualityEstimation(q.scorer, exclusion_writer=excluded("translate", "qe")))
    translate = Stage(
        "translate",
        [
            Translator(
                spec,
                selected=ctx.stage_output("select"),
                checkpoint_dir=str(ctx.stage_dir("translate") / "checkpoints"),
                seed=recipe.seed,
                strip_chatter=q.strip_chatter,
            ),
            *checks,
            JsonlWriter(ctx.stage_output("translate")),
        ],
    )
    rows = Stage(
        "rows",
        [
            JsonlReader(ctx.stage_output("translate")),
            TranslationRows(spec.source_language, spec.target_language),
            RowWriter(ctx),
        ],
        tasks=1,
    )
    return [select, translate, rows]


def _quality_rows(ctx: BuildContext) -> list[dict]:
    found = []
    for path in sorted(ctx.rows_dir.glob("default/*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            found.extend(json.loads(line)["quality"] for line in handle if line.strip())
    return found


def _distribution(values: list[float]) -> dict | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "n": len(values),
        "min": round(values[0], 3),
        "p25": round(quartiles[0], 3),
        "median": round(quartiles[1], 3),
        "p75": round(quartiles[2], 3),
        "max": round(values[-1], 3),
    }


def _resolved_model(ctx: BuildContext) -> tuple[str | None, str | None]:
    for path in sorted(ctx.rows_dir.glob("default/*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            line = handle.readline()
        if line.strip():
            row = json.loads(line)
            return row.get("model"), row.get("model_revision")
    return None, None


def card_context(recipe: TranslateRecipe, ctx: BuildContext) -> dict:
    spec = recipe.translate
    quality = _quality_rows(ctx)
    distributions = {
        key: _distribution([q.get(key) for q in quality])
        for key in (
            "language_score",
            "length_ratio",
            "copied_fraction",
            "spans_checked",
            "units_repaired",
            "qe_score",
        )
    }
    model, revision = _resolved_model(ctx)
    backend = (
        {"type": "seq2seq", **spec.seq2seq.model_dump(mode="json")}
        if spec.backend == "seq2seq"
        else {
            "type": "llm",
            **spec.engine.model_dump(mode="json", exclude={"api_key_env", "base_url"}),
        }
    )
    sources = [
        {
            "name": i.name,
            "source": i.source,
            "ref": i.ref,
            # local files: their content hashes, as each row's `source_revision`
            "revision": i.sha or ", ".join(file_revision(p) for p in i.files),
        }
        for i in ctx.inputs
    ]
    return {
        "demo_model": recipe.uses_demo_model,
        "translate": spec.model_dump(mode="json", exclude={"engine"}),
        "backend": backend,
        "prompt": spec.prompt.model_dump(mode="json") if spec.backend == "llm" else None,
        "quality": recipe.quality.model_dump(mode="json"),
        "source_spec": recipe.selection.model_dump(mode="json"),
        "sources": sources,
        "distributions": distributions,
        "resolved_model": model,
        "resolved_revision": revision,
        "lineage_extra": {
            "backend": spec.backend,
            "translation model": spec.model_name,
            "model (resolved)": model,
            "model revision (resolved)": revision,
            **{
                f"source {s['name']}": f"{s['ref']} @ {s['revision'] or 'local files'}"
                for s in sources
            },
        },
    }
