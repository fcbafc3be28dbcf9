"""Plots: valid PNGs, unrated models left out of the ratings plot, same board -> same bytes."""

from __future__ import annotations

from factory.preferences.leaderboard import compute_leaderboard
from factory.preferences.plots import plot_ratings, plot_win_rates
from factory.preferences.synthetic import synthetic_battles


def test_plots_are_deterministic_pngs(tmp_path):
    battles = synthetic_battles(400, 4, seed=2)
    battles.append(
        {
            "model_a": "solo",
            "model_b": "model-00",
            "winner": "model_b",
            "winner_content": "model_b",
            "winner_language": "model_b",
        }
    )
    board = compute_leaderboard(battles, bootstrap=30, seed=3)
    first = [plot_ratings(board, tmp_path / "r1.png"), plot_win_rates(board, tmp_path / "w1.png")]
    again = [plot_ratings(board, tmp_path / "r2.png"), plot_win_rates(board, tmp_path / "w2.png")]
    for a, b in zip(first, again):
        assert a.read_bytes().startswith(b"\x89PNG")
        assert a.read_bytes() == b.read_bytes()
