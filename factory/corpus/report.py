"""The corpus card's tables (Table 2, Table 7, quarantine) and distribution plots (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

from factory.builds.stats import merge_stage_stats
from factory.corpus.stats import LENGTH_BINS, WORDLEN_BINS, human, merge_stats, percent

# Table 7's rows, in the paper's order: (label, reason)
TABLE7_RULES = [
    ("eu < min", "basque_lid_v1_low_basque_fraction"),
    ("# words < min", "basque_gopher_v1_too_few_words"),
    ("# words > max", "basque_gopher_v1_too_many_words"),
    ("word len < min", "basque_gopher_v1_short_mean_word_length"),
    ("word len > max", "basque_gopher_v1_long_mean_word_length"),
    ("alpha < min", "basque_gopher_v1_low_alpha_word_fraction"),
    ("symbols (#) > max", "basque_gopher_v1_too_many_hashes"),
    ("symbols (...) > max", "basque_gopher_v1_too_many_ellipses"),
    ("ellipsis lines > max", "basque_gopher_v1_too_many_ellipsis_lines"),
    ("bullet lines > max", "basque_gopher_v1_too_many_bullet_lines"),
    ("lorem ipsum", "basque_c4_v1_lorem_ipsum"),
    ("brackets", "basque_c4_v1_curly_bracket"),
    ("quality < min", "quality_v1_low_score"),
]


def _quarantine(ctx) -> dict[str, int]:
    """The read stage's `input_*` drops, as the runner merged them for the build statistics."""
    dropped = merge_stage_stats("read", ctx.stage_logs("read"), ctx.recipe.executor.tasks).dropped
    return {reason: n for reason, n in sorted(dropped.items()) if reason.startswith("input_")}


def card_tables(
    recipe, stats_dir: Path, ctx, tokens_label: str | None = None, tokenizer: str | None = None
) -> dict:
    """Table 2 (with tokens when `tokens_label` names a token count), Table 7 and the quarantine counts."""
    raw, deduped, filtered = (
        merge_stats(stats_dir, label) for label in ("raw", "deduped", "filtered")
    )
    tokens = (
        merge_stats(stats_dir, tokens_label)
        if tokens_label
        else {"tokens_counted": False, "sources": {}}
    )
    names = [s.name for s in recipe.sources]
    table2 = []
    totals = {
        "raw_docs": 0,
        "raw_words": 0,
        "dedup_docs": 0,
        "dedup_words": 0,
        "docs": 0,
        "words": 0,
        "tokens": 0,
    }
    for name in names:
        r = raw["sources"].get(name, {})
        d = deduped["sources"].get(name, {})
        f = filtered["sources"].get(name, {})
        row = {
            "source": name,
            "raw_docs": r.get("docs", 0),
            "raw_words": r.get("words", 0),
            "dedup_docs": d.get("docs", 0),
            "dedup_words": d.get("words", 0),
            "docs": f.get("docs", 0),
            "words": f.get("words", 0),
            "tokens": tokens["sources"].get(name, {}).get("tokens", 0),
        }
        for key in totals:
            totals[key] += row[key]
        table2.append(row | {f"{k}_h": human(v) for k, v in row.items() if k != "source"})
    table2_total = totals | {f"{k}_h": human(v) for k, v in totals.items()}
    table7 = []
    for label, reason in TABLE7_RULES:
        cells = [
            percent(
                deduped["sources"].get(n, {}).get("flags", {}).get(reason, 0),
                deduped["sources"].get(n, {}).get("docs", 0),
            )
            for n in names
        ]
        table7.append({"rule": label, "reason": reason, "cells": cells})
    thresholds = recipe.filters.model_dump()
    return {
        "corpus_sources": [
            s.model_dump(mode="json") | {"priority": i} for i, s in enumerate(recipe.sources)
        ],
        "table2": table2,
        "table2_total": table2_total,
        "tokens_counted": tokens["tokens_counted"],
        "tokenizer": tokenizer,
        "table7": table7,
        "table7_sources": names,
        "thresholds": thresholds,
        "lid_method": recipe.language_id.method,
        "quality_scorer": recipe.quality.scorer,
        "dedup": recipe.dedup.model_dump(),
        "quarantine": _quarantine(ctx),
        "plots": ["plots/doc_length.png", "plots/mean_word_length.png"],
    }


def write_plots(recipe, stats_dir: Path, out_dir: Path) -> dict[str, Path]:
    """Histograms of document length (words, log scale) and mean word length, per source, before filtering."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    deduped = merge_stats(stats_dir, "deduped")["sources"]
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    specs = [
        (
            "doc_length.png",
            "length_hist",
            LENGTH_BINS + [LENGTH_BINS[-1] * 10],
            "words per document",
            True,
        ),
        (
            "mean_word_length.png",
            "wordlen_hist",
            WORDLEN_BINS + [WORDLEN_BINS[-1] + 0.5],
            "mean word length (characters)",
            False,
        ),
    ]
    for filename, key, edges, xlabel, log in specs:
        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        for source in recipe.sources:
            counts = deduped.get(source.name, {}).get(key)
            if not counts or not sum(counts):
                continue
            ax.stairs(counts, edges, label=source.name)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("documents")
        ax.set_title(f"{recipe.name}: {xlabel} (after dedup, before filters)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / filename
        # fixed metadata so the same stats give the same bytes
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)
        files[f"plots/{filename}"] = path
    return files
