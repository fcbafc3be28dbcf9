"""`--like-arena` reproduces Ebaluatoia's `get_leaderboard_df` (scoring.py) on the same battles.

The reference below follows the arena's published procedure step by step with pandas and
scikit-learn (the arena's own tools): `np.random.seed(42)`, `DataFrame.sample(frac=1.0,
replace=True)` 100 times, a LogisticRegression fit per round, truncated mean and a 90%
interval `+int(q95 - q50)/-int(q50 - q05)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from factory.preferences.arena_reference import logistic_ratings
from factory.preferences.arena_report import arena_leaderboard
from factory.preferences.records import score_a
from factory.preferences.synthetic import synthetic_battles


def reference_table(battles: list[dict], field: str = "winner") -> dict[str, tuple[int, str]]:
    data = pd.DataFrame(battles).sort_values(ascending=True, by=["timestamp"])
    np.random.seed(42)
    rounds = []
    for _ in range(100):
        sample = data.sample(frac=1.0, replace=True)
        names = sorted(set(sample.model_a) | set(sample.model_b))
        idx = {n: i for i, n in enumerate(names)}
        points = np.zeros((len(names), len(names)))
        for a, b, w in zip(sample.model_a, sample.model_b, sample[field]):
            s = score_a(w)
            points[idx[a], idx[b]] += 2 * s
            points[idx[b], idx[a]] += 2 * (1 - s)
        rounds.append(pd.Series(logistic_ratings(points, tol=1e-6), index=names))
    df = pd.DataFrame(rounds)
    out = {}
    for model in df.columns:
        col = df[model]
        ci = f"+{int(col.quantile(0.95) - col.quantile(0.5))}/-{int(col.quantile(0.5) - col.quantile(0.05))}"
        out[model] = (int(col.mean(skipna=True)), ci)
    return out


def test_matches_the_arena_procedure():
    battles = synthetic_battles(90, 3, seed=5)
    ours = {st.model: st for st in arena_leaderboard(battles)}
    theirs = reference_table(battles)
    assert set(ours) == set(theirs)
    for model, (elo, ci) in theirs.items():
        # two solvers of one likelihood: equal up to the truncation of a last digit
        assert abs(ours[model].elo - elo) <= 1, (model, ours[model], elo)
        plus, minus = (int(x) for x in ci[1:].split("/-"))
        assert abs(ours[model].plus - plus) <= 1 and abs(ours[model].minus - minus) <= 1


def test_battles_are_resampled_in_timestamp_order():
    battles = synthetic_battles(80, 3, seed=2)
    # the arena sorts by timestamp before resampling: the input order must not matter
    assert arena_leaderboard(battles) == arena_leaderboard(list(reversed(battles)))
