"""The Bradley-Terry fit: agreement with the arena's scikit-learn reference, recovery, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from factory.preferences import bradley_terry as bt
from factory.preferences.arena_reference import logistic_ratings
from factory.preferences.records import score_a
from factory.preferences.synthetic import synthetic_battles, true_strengths


def cells_of(records, dimension_field="winner"):
    names = sorted({r["model_a"] for r in records} | {r["model_b"] for r in records})
    index = {n: i for i, n in enumerate(names)}
    a = np.array([index[r["model_a"]] for r in records])
    b = np.array([index[r["model_b"]] for r in records])
    s = np.array([score_a(r[dimension_field]) for r in records])
    return names, bt.Cells.from_battles(a, b, s, len(names))


def sklearn_reference(cells: bt.Cells) -> np.ndarray:
    """The arena's fit: LogisticRegression without intercept or penalty on a pairwise design."""
    return logistic_ratings(cells.wins()[0])


def test_agrees_with_the_sklearn_reference_within_one_point():
    _, cells = cells_of(synthetic_battles(3000, 10, seed=2))
    ours = bt.fit(cells).ratings
    assert np.abs(ours - sklearn_reference(cells)).max() < 1.0
    assert abs(ours.mean() - 1000.0) < 1e-6


def test_recovers_the_true_order():
    records = synthetic_battles(6000, 8, seed=4, tie_rate=0.0)  # ties compress differences
    names, cells = cells_of(records, "winner_content")
    truth = true_strengths(8, seed=4)["content"]
    ratings = bt.fit(cells).ratings
    fitted_order = [names[i] for i in np.argsort(-ratings)]
    assert fitted_order == sorted(truth, key=lambda n: -truth[n])
    # on the Elo scale, differences match the true ones up to sampling noise
    true_diff = np.array([truth[n] for n in names]) - np.mean(list(truth.values()))
    assert np.abs(ratings - 1000 - true_diff).max() < 40


def test_a_tie_is_half_a_win():
    # A beats B once, B beats A once, two ties: equal strength
    cells = bt.Cells.from_battles(
        np.array([0, 1, 0, 1]), np.array([1, 0, 1, 0]), np.array([1.0, 1.0, 0.5, 0.5]), 2
    )
    assert cells.wins()[0].tolist() == [[0.0, 2.0], [2.0, 0.0]]
    np.testing.assert_allclose(bt.fit(cells).ratings, [1000.0, 1000.0], atol=1e-6)
    # 3 wins, 1 tie for A against B: A takes 3.5 of 4 points -> odds 7:1 -> 400*log10(7)
    cells = bt.Cells.from_battles(
        np.array([0, 0, 0, 0]), np.array([1, 1, 1, 1]), np.array([1.0, 1.0, 1.0, 0.5]), 2
    )
    ratings = bt.fit(cells).ratings
    assert ratings[0] - ratings[1] == pytest.approx(400 * math.log10(7), abs=0.01)


def test_bootstrap_is_seeded_and_covers_the_fit():
    _, cells = cells_of(synthetic_battles(2000, 6, seed=5))
    first = bt.fit(cells, bootstrap=200, seed=11)
    again = bt.fit(cells, bootstrap=200, seed=11)
    other = bt.fit(cells, bootstrap=200, seed=12)
    np.testing.assert_array_equal(first.rounds, again.rounds)
    assert not np.array_equal(first.rounds, other.rounds)
    low, high = first.interval(0.95)
    assert np.all(low < first.ratings) and np.all(first.ratings < high)
    assert np.all(np.isfinite(first.rounds))


def test_resampling_keeps_the_number_of_battles():
    _, cells = cells_of(synthetic_battles(500, 5, seed=6))
    counts = cells.resample(50, np.random.default_rng(0))
    assert counts.shape == (50, len(cells.count))
    assert (counts.sum(axis=1) == 500).all()


def test_separated_resample_stays_finite():
    # model 2 only ever loses: the unpenalised MLE is infinite, the ridge keeps it finite
    a = np.array([0, 1, 0, 2, 2])
    b = np.array([1, 0, 2, 1, 0])
    s = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    theta = bt.solve(bt.Cells.from_battles(a, b, s, 3).wins())
    assert np.all(np.isfinite(theta))
    assert theta[0, 2] < theta[0, 0] - 5
