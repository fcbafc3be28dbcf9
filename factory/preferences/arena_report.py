"""The arena's own way of reporting ratings, so a leaderboard can be set beside the paper's.

Ebaluatoia's `scoring.get_leaderboard_df` (after the LMSYS notebook), as published in
hitz-zentroa/latxa-instruct `evaluation/human/frontend/scoring.py`:

* battles sorted by timestamp; `np.random.seed(42)`, then 100 rounds of
  `battles.sample(frac=1.0, replace=True)`, which draws row indices with the legacy global
  generator (`RandomState.choice(n, n)`); each round refits Bradley-Terry (ties half a win);
* the reported rating is the mean over rounds truncated to an int (`astype(int)`), not a
  point fit; the interval is 90%, written `+int(q95 - q50)/-int(q50 - q05)`.

The fit itself is the project's Newton solver (`bradley_terry.solve`), which reaches the same
maximum as the arena's LogisticRegression (checked in the tests against it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factory.preferences import bradley_terry as bt
from factory.preferences.records import WINNER_FIELD, score_a

ARENA_SEED = 42
ARENA_ROUNDS = 100


@dataclass(frozen=True)
class ArenaStanding:
    model: str
    elo: int  # truncated mean of the bootstrap ratings
    plus: int  # int(q95 - median)
    minus: int  # int(median - q05)

    @property
    def ci(self) -> str:
        return f"+{self.plus}/-{self.minus}"


def _round_ratings(
    a: np.ndarray, b: np.ndarray, s: np.ndarray, names: list[str], pick: np.ndarray
) -> np.ndarray:
    """Ratings of one resample; models absent from it are NaN (the arena's refit never sees them)."""
    present = sorted(set(a[pick]) | set(b[pick]))
    sub = {old: new for new, old in enumerate(present)}
    cells = bt.Cells.from_battles(
        np.array([sub[i] for i in a[pick]]),
        np.array([sub[i] for i in b[pick]]),
        s[pick],
        len(present),
    )
    ratings = bt.to_elo(bt.solve(cells.wins()))[0]
    out = np.full(len(names), np.nan)
    out[present] = ratings
    return out


def arena_leaderboard(
    battles: list[dict], dimension: str = "overall", *, rounds: int = ARENA_ROUNDS
) -> list[ArenaStanding]:
    """The arena's table for one dimension: models by reported ELO, highest first."""
    ordered = sorted(battles, key=lambda battle: battle["timestamp"])  # as the arena sorts
    field = WINNER_FIELD[dimension]
    names = sorted({x["model_a"] for x in ordered} | {x["model_b"] for x in ordered})
    index = {name: i for i, name in enumerate(names)}
    a = np.array([index[x["model_a"]] for x in ordered])
    b = np.array([index[x["model_b"]] for x in ordered])
    s = np.array([score_a(x[field]) for x in ordered])
    state = np.random.RandomState(ARENA_SEED)  # the arena's np.random.seed(42)
    n = len(ordered)
    table = np.stack(
        [
            _round_ratings(a, b, s, names, state.choice(n, size=n, replace=True))
            for _ in range(rounds)
        ]
    )
    mean = np.nanmean(table, axis=0)
    q05, q50, q95 = np.nanquantile(table, [0.05, 0.5, 0.95], axis=0)
    standings = [
        ArenaStanding(name, int(mean[i]), int(q95[i] - q50[i]), int(q50[i] - q05[i]))
        for i, name in enumerate(names)
    ]
    return sorted(standings, key=lambda st: (-st.elo, st.model))
