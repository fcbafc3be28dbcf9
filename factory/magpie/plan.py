"""The stages of a Magpie build: instructions -> responses -> dedup and rows."""

from __future__ import annotations

import gzip
import json

from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.builds.context import BuildContext
from factory.builds.rows import RowWriter
from factory.builds.stage import Stage
from factory.engines import preflight
from factory.engines.executors import generation_resources
from factory.magpie.filters import (
    ExactDedupFilter,
    LanguageFilter,
    LanguageYield,
    LengthFilter,
    MagpieCleaner,
    NearDuplicateFilter,
    RepetitionFilter,
    TemplateLeftoverFilter,
    TruncationFilter,
    not_language_reason,
)
from factory.magpie.recipe import MagpieRecipe
from factory.magpie.rows import MagpieRowBuilder
from factory.magpie.sanitize import sanitizer_step
from factory.magpie.stages import InstructionGenerator, ResponseGenerator
from factory.recipe_base import StageResources


def _turn_filters(
    recipe: MagpieRecipe, ctx: BuildContext, stage: str, roles: tuple[str, ...]
) -> list:
    """Cleaning plus the per-turn filters, on the turns of `roles`."""
    f = recipe.filters
    template = recipe.magpie.resolved_template()
    excluded = lambda name: ctx.exclusion_writer(stage, name)  # noqa: E731
    steps = [MagpieCleaner(template.stop, template.role_words)]
    if recipe.magpie.sanitize and roles == ("user",):
        steps.append(sanitizer_step(recipe.magpie.family or "custom"))
    if roles == ("user",):
        steps.append(
            LanguageYield(recipe.magpie.language, f.language.method, f.language.min_fraction)
        )
    steps += [
        TemplateLeftoverFilter(
            template.stop, roles=roles, exclusion_writer=excluded("template_leftover")
        ),
    ]
    if f.drop_truncated:
        checked = ("assistant",) if recipe.magpie.sanitize else ("user", "assistant")
        steps.append(TruncationFilter(checked, exclusion_writer=excluded("truncated")))
    steps.append(
        LengthFilter(
            f.instruction_length.min_chars,
            f.instruction_length.max_chars,
            roles=("user",),
            exclusion_writer=excluded("instruction_length"),
        )
    )
    if "assistant" in roles:
        steps.append(
            LengthFilter(
                f.response_length.min_chars,
                f.response_length.max_chars,
                roles=("assistant",),
                exclusion_writer=excluded("response_length"),
            )
        )
    steps.append(
        RepetitionFilter(
            f.repetition.ngram,
            f.repetition.max_duplicate_ngram_fraction,
            f.repetition.max_char_run,
            roles=roles,
            exclusion_writer=excluded("repetition"),
        )
    )
    if f.language.enabled:
        steps.append(
            LanguageFilter(
                recipe.magpie.language,
                f.language.method,
                f.language.min_fraction,
                roles=roles,
                exclusion_writer=excluded("language"),
            )
        )
    return steps


def stages(recipe: MagpieRecipe, ctx: BuildContext) -> list[Stage]:
    preflight(recipe.engine)  # a server that is down fails here, before any task starts
    magpie = recipe.magpie
    template = magpie.resolved_template()
    common = {
        "engine": recipe.engine,
        "template": template,
        "seed": recipe.seed,
        "checkpoint_every": magpie.checkpoint_every,
    }
    instructions = Stage(
        "instructions",
        [
            InstructionGenerator(
                n_instructions=magpie.n_instructions,
                sampling=magpie.instruction,
                avoid_first_words=magpie.steering.words(),
                first_token_bias=magpie.steering.first_token_bias,
                checkpoint_dir=str(ctx.stage_dir("instructions") / "checkpoints"),
                **common,
            ),
            *_turn_filters(recipe, ctx, "instructions", ("user",)),
            JsonlWriter(ctx.stage_output("instructions")),
        ],
        resources=generation_resources(recipe.engine),
    )
    responses = Stage(
        "responses",
        [
            JsonlReader(ctx.stage_output("instructions")),
            ResponseGenerator(
                response=magpie.response,
                instruction=magpie.instruction,
                n_turns=magpie.n_turns,
                checkpoint_dir=str(ctx.stage_dir("responses") / "checkpoints"),
                **common,
            ),
            *_turn_filters(recipe, ctx, "responses", ("user", "assistant")),
            JsonlWriter(ctx.stage_output("responses")),
        ],
        resources=generation_resources(recipe.engine),
    )
    final: list = [JsonlReader(ctx.stage_output("responses"))]
    if recipe.filters.dedup:
        final.append(ExactDedupFilter(exclusion_writer=ctx.exclusion_writer("dedup", "exact")))
    if recipe.filters.near_dup.enabled:
        final.append(
            NearDuplicateFilter(
                recipe.filters.near_dup.model,
                recipe.filters.near_dup.max_similarity,
                exclusion_writer=ctx.exclusion_writer("dedup", "near_duplicate"),
            )
        )
    final += [MagpieRowBuilder(recipe), RowWriter(ctx)]
    # dedup compares every conversation with every other: one task
    # the near-duplicate pass holds one embedding (384 float32) per kept conversation
    dedup_gb = 2.0 + magpie.n_instructions * 384 * 4 * 2 / 2**30
    dedup = Stage(
        "dedup", final, tasks=1, resources=StageResources(gpus=0, mem_gb=round(dedup_gb, 1))
    )
    return [instructions, responses, dedup]


def card_context(recipe: MagpieRecipe, ctx: BuildContext) -> dict:
    magpie = recipe.magpie
    template = magpie.resolved_template()
    return {
        "demo_model": recipe.uses_demo_model,
        "engine": recipe.engine.model_dump(mode="json", exclude={"api_key_env", "base_url"}),
        "magpie": magpie.model_dump(mode="json"),
        "preset": _preset_card(magpie.preset),
        "magpie_template": {
            "name": template.name,
            "pre_query": template.pre_query,
            "stop": list(template.stop),
            "control": template.control,
        },
        "filters": recipe.filters.model_dump(mode="json"),
        "language_reason": not_language_reason(magpie.language),
        "steering": steering_report(recipe, ctx),
        "lineage_extra": {
            "engine": recipe.engine.type,
            "generator model": recipe.engine.model,
            "model revision (recipe)": recipe.engine.revision or "unpinned",
            **_resolved_model(ctx),
        },
    }


def steering_report(recipe: MagpieRecipe, ctx: BuildContext) -> dict:
    """Yield (share of generated instructions in the language) and generated tokens per published row."""
    from factory.builds.stats import merge_stage_stats

    counters: dict[str, float] = {}
    for stage in ("instructions", "responses"):
        stats = merge_stage_stats(stage, ctx.stage_logs(stage), recipe.executor.tasks)
        for step in stats.steps:
            for key, value in step.counters.items():
                counters[key] = counters.get(key, 0) + value
    rows = 0
    for path in ctx.rows_dir.glob("default/*/*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            rows += sum(1 for line in handle if line.strip())
    checked = int(counters.get("instructions_checked", 0))
    in_language = int(counters.get("instructions_in_language", 0))
    tokens = int(
        counters.get("user_completion_tokens", 0) + counters.get("assistant_completion_tokens", 0)
    )
    steering = recipe.magpie.steering
    methods = []
    if recipe.magpie.system_prompt:
        methods.append("system prompt")
    if steering.cue:
        methods.append("pre-query cue")
    if steering.avoid_first_words:
        methods.append("first-token logit bias")
    methods.append(
        "generate, then filter" if recipe.filters.language.enabled else "no language filter"
    )
    return {
        "methods": methods,
        "checked": checked,
        "in_language": in_language,
        "yield": round(in_language / checked, 4) if checked else None,
        "generated_tokens": tokens,
        "rows": rows,
        "tokens_per_row": round(tokens / rows, 1) if rows else None,
        "bias_words": steering.words(),
    }


def _preset_card(name: str | None) -> dict | None:
    if name is None:
        return None
    from factory.magpie.presets import PRESETS

    return {"name": name, "script": PRESETS[name].script}


def _resolved_model(ctx: BuildContext) -> dict:
    """The model id and revision the engine actually loaded, as recorded on the published rows."""
    for path in sorted(ctx.rows_dir.glob("default/*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            line = handle.readline()
        if line.strip():
            row = json.loads(line)
            return {
                "model (resolved)": row.get("model"),
                "model revision (resolved)": row.get("model_revision"),
            }
    return {}
