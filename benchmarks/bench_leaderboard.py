"""Leaderboard speed: 12,890 battles, 21 models, 1,000 bootstrap rounds (Ebaluatoia's size).

Goal: <= 10 s on 2 cores. Baseline, measured side by side in the same run: the arena's own
approach, a scikit-learn LogisticRegression (no intercept, no penalty) on a pairwise design
matrix built from pandas pivot tables, refit on every bootstrap resample of the battles.
Also checks that the two fits agree within 1 rating point on the full data.

    python benchmarks/bench_leaderboard.py [--battles 12890] [--models 21] [--rounds 1000]
                                           [--baseline-rounds 1000] [--end-to-end]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from factory.preferences.arena_reference import logistic_ratings
from factory.preferences.leaderboard import compute_leaderboard
from factory.preferences.synthetic import synthetic_battles

TIES = ["tie", "tie (bothbad)"]


def baseline_fit(df: pd.DataFrame, models: list[str]) -> pd.Series:
    """The arena's method: pivot tables of wins (ties = 1/2), pairwise design, LogisticRegression."""

    def table(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.crosstab(rows["model_a"], rows["model_b"]).reindex(
            index=models, columns=models, fill_value=0
        )

    a_win = table(df[df["winner"] == "model_a"])
    b_win = table(df[df["winner"] == "model_b"])
    tie = table(df[df["winner"].isin(TIES)])
    points = 2 * a_win + 2 * b_win.T + tie + tie.T  # doubled, so ties count one each side
    # the arena code's settings (FastChat: tol 1e-6, default max_iter), looser than the test's reference
    return pd.Series(logistic_ratings(points.to_numpy(), tol=1e-6, max_iter=100), index=models)


def baseline_bootstrap(df: pd.DataFrame, models: list[str], rounds: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        [baseline_fit(df.iloc[rng.integers(0, len(df), len(df))], models) for _ in range(rounds)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--battles", type=int, default=12_890)
    parser.add_argument("--models", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=None,
        help="default: --rounds (fewer: time is extrapolated, and says so)",
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="also time reading + validating the battles from one JSON file each",
    )
    args = parser.parse_args()
    baseline_rounds = args.baseline_rounds or args.rounds

    battles = synthetic_battles(args.battles, args.models, seed=0)
    print(
        f"data: {len(battles)} synthetic battles, {args.models} models, {args.rounds} bootstrap rounds"
    )

    start = time.perf_counter()
    board = compute_leaderboard(battles, "overall", bootstrap=args.rounds, seed=1)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for dimension in ("overall", "content", "language"):
        compute_leaderboard(battles, dimension, bootstrap=args.rounds, seed=1)
    ours_all = time.perf_counter() - start

    df = pd.DataFrame(battles)[["model_a", "model_b", "winner"]]
    models = sorted(set(df["model_a"]) | set(df["model_b"]))
    reference = baseline_fit(df, models)
    start = time.perf_counter()
    baseline_bootstrap(df, models, baseline_rounds, seed=1)
    base = time.perf_counter() - start
    base_full = base * args.rounds / baseline_rounds
    extrapolated = (
        f" (extrapolated from {baseline_rounds} rounds)" if baseline_rounds != args.rounds else ""
    )

    ratings = {s.model: s.rating for s in board.standings}
    diff = max(abs(ratings[m] - reference[m]) for m in models)

    print(
        f"latxa-factory (batched Newton on aggregated counts): {ours:.2f} s for 1 dimension, {ours_all:.2f} s for 3"
    )
    print(
        f"baseline (arena: sklearn LogisticRegression refit per round): {base_full:.2f} s{extrapolated}"
    )
    print(f"speed-up: {base_full / ours:.0f}x")
    print(f"goal <= 10 s: {'met' if ours <= 10 else 'NOT met'} ({ours:.2f} s)")
    print(
        f"agreement with the sklearn reference fit: max |rating difference| = {diff:.4f} points "
        f"({'within' if diff < 1 else 'NOT within'} 1 point)"
    )

    if args.end_to_end:
        from factory.preferences.source import battles_from_logs

        with tempfile.TemporaryDirectory() as tmp:
            for i, record in enumerate(battles):
                (Path(tmp) / f"history_{i:05d}.json").write_text(json.dumps(record))
            start = time.perf_counter()
            valid, dropped = battles_from_logs([Path(tmp)])
            compute_leaderboard(valid, "overall", bootstrap=args.rounds, seed=1)
            total = time.perf_counter() - start
        print(
            f"end to end (read + validate {len(battles)} JSON files, fit, bootstrap): {total:.2f} s"
        )


if __name__ == "__main__":
    main()
