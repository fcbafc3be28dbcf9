"""Leaderboard plots for the card: ratings with interval bars, and the pairwise win-rate heatmap.

matplotlib with the Agg backend (no display); PNGs are written without the software tag,
so the same leaderboard gives the same bytes and a rebuild publishes no spurious change.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from factory.preferences.leaderboard import Leaderboard

_PNG_METADATA = {"Software": None}


def plot_ratings(board: Leaderboard, path: Path) -> Path:
    """Horizontal bars: each rated model's rating with its bootstrap interval, best on top."""
    rated = [s for s in board.standings if s.rating is not None]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rated) + 1.2), dpi=100)
    y = np.arange(len(rated))[::-1]
    ratings = np.array([s.rating for s in rated])
    # a percentile interval need not contain the point fit (few or lopsided battles): clip the
    # bar at the point instead of failing the build on a negative error length
    err = np.array(
        [[s.rating - s.ci_low for s in rated], [s.ci_high - s.rating for s in rated]]
    ).clip(min=0.0)
    ax.errorbar(ratings, y, xerr=err, fmt="o", color="#1f4e79", ecolor="#7f7f7f", capsize=3)
    ax.set_yticks(y, [s.model for s in rated])
    ax.set_xlabel(f"rating (Elo scale), {round(board.ci_level * 100)}% bootstrap interval")
    ax.set_title(f"{board.dimension}: {board.battles} battles, {board.bootstrap} bootstrap rounds")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata=_PNG_METADATA)
    plt.close(fig)
    return path


def plot_win_rates(board: Leaderboard, path: Path) -> Path:
    """Heatmap: share of points (ties count half) the row model took from the column model."""
    models = board.models
    n = len(models)
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in board.win_rate], dtype=float
    )
    size = max(4.0, 0.45 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=100)
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="RdBu", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), models, rotation=90)
    ax.set_yticks(range(n), models)
    ax.set_xlabel("opponent")
    ax.set_ylabel("model")
    if n <= 25:
        for i in range(n):
            for j in range(n):
                if not np.isnan(matrix[i, j]):
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="win rate (ties = 1/2)")
    ax.set_title(f"{board.dimension}: pairwise win rate")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata=_PNG_METADATA)
    plt.close(fig)
    return path
