"""The leaderboard of one vote dimension: ratings with bootstrap intervals, records, matrices.

A rating exists only where the data identify it: the Bradley-Terry MLE is finite exactly when
the "beat or tied" graph is strongly connected. Ratings are fitted on the largest strongly
connected group of models; every other model is listed with `rating: None` and a note saying
why (never won, never lost, not connected), never with a NaN or an unbounded number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from factory.errors import InputError
from factory.preferences import bradley_terry as bt
from factory.preferences.records import DIMENSIONS, WINNER_FIELD, score_a


@dataclass
class Standing:
    model: str
    rating: float | None
    ci_low: float | None
    ci_high: float | None
    battles: int
    wins: int
    ties: int
    losses: int
    identifiable: bool = True
    note: str | None = None


@dataclass
class Leaderboard:
    dimension: str
    standings: list[Standing]
    battles: int
    bootstrap: int
    seed: int
    ci_level: float
    win_rate: list[list[float | None]] = field(
        default_factory=list
    )  # row beats column, standings order
    battle_counts: list[list[int]] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return [s.model for s in self.standings]

    def to_json(self) -> list[dict]:
        keys = (
            "model",
            "rating",
            "ci_low",
            "ci_high",
            "battles",
            "wins",
            "ties",
            "losses",
            "identifiable",
            "note",
        )
        return [{k: asdict(s)[k] for k in keys} for s in self.standings]

    def to_dict(self) -> dict:
        return {
            "dimension": self.dimension,
            "battles": self.battles,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "ci_level": self.ci_level,
            "standings": self.to_json(),
            "models": self.models,
            "win_rate": self.win_rate,
            "battle_counts": self.battle_counts,
        }

    def table(self) -> str:
        """A plain-text table; unidentifiable ratings print as `n/a` with a numbered note."""
        level = f"{round(self.ci_level * 100)}% CI"
        header = ["#", "model", "rating", level, "battles", "wins", "ties", "losses"]
        rows, notes = [], []
        for rank, s in enumerate(self.standings, start=1):
            mark = ""
            if s.note:
                notes.append(f"[{len(notes) + 1}] {s.model}: {s.note}")
                mark = f" [{len(notes)}]"
            if s.rating is None:
                rating, ci = f"n/a{mark}", ""
            else:
                rating, ci = f"{s.rating:.1f}{mark}", f"{s.ci_low:.1f} to {s.ci_high:.1f}"
            rows.append(
                [
                    str(rank),
                    s.model,
                    rating,
                    ci,
                    str(s.battles),
                    str(s.wins),
                    str(s.ties),
                    str(s.losses),
                ]
            )
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        right = {0, 2, 3, 4, 5, 6, 7}

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        out = [
            f"{self.dimension}: {self.battles} battles, {self.bootstrap} bootstrap rounds (seed {self.seed})",
            line(header),
            line(["-" * w for w in widths]),
            *map(line, rows),
        ]
        return "\n".join(out + notes)


def _unidentified_note(
    i: int, wins: np.ndarray, games: np.ndarray, main: set[int], weak_labels: np.ndarray
) -> str:
    if weak_labels[i] != weak_labels[next(iter(main))]:
        return "no battles linking it to the rated models (disconnected comparison graph)"
    if wins[i].sum() == 0:
        return "never won or tied: the rating is unbounded below"
    if wins[:, i].sum() == 0:
        return "never lost or tied: the rating is unbounded above"
    return "its wins and losses do not link it both ways to the rated models"


def compute_leaderboard(
    battles: Iterable[dict],
    dimension: str = "overall",
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    ci_level: float = 0.95,
    scale: float = bt.SCALE,
    base: float = bt.BASE,
    initial: float = bt.INITIAL,
) -> Leaderboard:
    """Fit one dimension on validated battles (dicts with `model_a`, `model_b` and the votes)."""
    if dimension not in DIMENSIONS:
        raise InputError(f"unknown dimension {dimension!r} (allowed: {', '.join(DIMENSIONS)})")
    field_name = WINNER_FIELD[dimension]
    pairs = [(b["model_a"], b["model_b"], score_a(b[field_name])) for b in battles]
    if not pairs:
        raise InputError(
            "no valid battles to rate: every record was dropped or the source is empty"
        )
    names = sorted({p[0] for p in pairs} | {p[1] for p in pairs})
    index = {name: i for i, name in enumerate(names)}
    a = np.array([index[p[0]] for p in pairs])
    b = np.array([index[p[1]] for p in pairs])
    s = np.array([p[2] for p in pairs])
    m = len(names)
    cells = bt.Cells.from_battles(a, b, s, m)
    wins = cells.wins()[0]  # half-wins
    games = wins + wins.T

    decisive_wins = np.zeros((m, m), dtype=int)
    np.add.at(decisive_wins, (a[s == 1.0], b[s == 1.0]), 1)
    np.add.at(decisive_wins, (b[s == 0.0], a[s == 0.0]), 1)
    tie_counts = np.zeros((m, m), dtype=int)
    np.add.at(tie_counts, (a[s == 0.5], b[s == 0.5]), 1)
    tie_counts = tie_counts + tie_counts.T
    counts = decisive_wins + decisive_wins.T + tie_counts

    _, strong = connected_components(csr_matrix(wins > 0), directed=True, connection="strong")
    _, weak = connected_components(csr_matrix(games > 0), directed=False)
    sizes = np.bincount(strong)
    # the largest strongly connected group; ties broken by the first model name it holds
    best = min(
        range(len(sizes)),
        key=lambda label: (-sizes[label], int(np.flatnonzero(strong == label)[0])),
    )
    main = [i for i in range(m) if strong[i] == best]
    if len(main) < 2:
        raise InputError(
            f"{dimension}: no rating can be computed: no two models both beat (or tied) each other "
            f"through the comparison graph ({m} models, {len(pairs)} battles)"
        )

    keep = np.isin(a, main) & np.isin(b, main)
    sub = {old: new for new, old in enumerate(main)}
    sub_cells = bt.Cells.from_battles(
        np.array([sub[i] for i in a[keep]]), np.array([sub[i] for i in b[keep]]), s[keep], len(main)
    )
    result = bt.fit(
        sub_cells, bootstrap=bootstrap, seed=seed, scale=scale, base=base, initial=initial
    )
    low, high = result.interval(ci_level)

    standings = []
    for i, name in enumerate(names):
        record = {
            "battles": int(counts[i].sum()),
            "wins": int(decisive_wins[i].sum()),
            "ties": int(tie_counts[i].sum()),
            "losses": int(decisive_wins[:, i].sum()),
        }
        if i in sub:
            j = sub[i]
            # identifiable through ties alone: rated, but say on what
            note = (
                "no decisive battles: the rating rests on ties only"
                if not record["wins"] and not record["losses"]
                else None
            )
            standings.append(
                Standing(
                    name,
                    round(float(result.ratings[j]), 2),
                    round(float(low[j]), 2),
                    round(float(high[j]), 2),
                    note=note,
                    **record,
                )
            )
        else:
            note = _unidentified_note(i, wins, games, set(main), weak)
            standings.append(
                Standing(name, None, None, None, identifiable=False, note=note, **record)
            )
    standings.sort(key=lambda st: (st.rating is None, -(st.rating or 0.0), st.model))

    order = [index[st.model] for st in standings]
    win_rate = [
        [
            round(float((decisive_wins[i, j] + 0.5 * tie_counts[i, j]) / counts[i, j]), 4)
            if counts[i, j]
            else None
            for j in order
        ]
        for i in order
    ]
    battle_counts = [[int(counts[i, j]) for j in order] for i in order]
    return Leaderboard(
        dimension, standings, len(pairs), bootstrap, seed, ci_level, win_rate, battle_counts
    )
