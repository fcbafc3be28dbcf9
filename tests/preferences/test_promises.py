"""Promises of the preference kind's docstrings, each stated as a property.

* privacy.py: usernames become an HMAC-SHA256 under the salt read from the environment at run
  time; another salt gives other hashes; the salt is never kept on the step;
* bradley_terry.Fit.interval: the level-`L` interval is the (1-L)/2 and 1-(1-L)/2 percentiles
  of the bootstrap rounds; the leaderboard reports exactly the interval of its `ci_level`;
* the bootstrap seed moves the intervals, never the point ratings or the records;
* plots.plot_ratings: unrated models are left out.
"""

from __future__ import annotations

import hashlib
import hmac
import math

import dill
import numpy as np
import pytest
from datatrove.data import Document

from factory.errors import BuildError
from factory.preferences import bradley_terry as bt
from factory.preferences.leaderboard import Leaderboard, compute_leaderboard
from factory.preferences.plots import plot_ratings
from factory.preferences.privacy import (
    SALT_ENV,
    AnonymizeAnnotators,
    annotator_hash,
    annotator_salt,
)
from factory.preferences.synthetic import synthetic_battles

SALT = "first-salt-0123456789"
OTHER_SALT = "other-salt-0123456789"


# ---- privacy -------------------------------------------------------------------------------


def test_annotator_hash_is_the_salted_hmac_of_the_name():
    expected = hmac.new(SALT.encode(), b"miren", hashlib.sha256).hexdigest()[:16]
    assert annotator_hash("miren", SALT.encode()) == f"ann_{expected}"
    assert annotator_hash("  miren ", SALT.encode()) == annotator_hash("miren", SALT.encode())


def test_annotator_hash_changes_with_the_salt_and_the_name():
    name = "miren"
    hashes = {
        annotator_hash(name, SALT.encode()),
        annotator_hash(name, OTHER_SALT.encode()),
        annotator_hash("jon", SALT.encode()),
    }
    assert len(hashes) == 3
    # not a plain (unsalted) hash of the name, which anyone could recompute from a guess
    for unsalted in (
        hashlib.sha256(name.encode()).hexdigest()[:16],
        hmac.new(b"", name.encode(), hashlib.sha256).hexdigest()[:16],
    ):
        assert annotator_hash(name, SALT.encode()) != f"ann_{unsalted}"


def _records(names):
    return [
        Document(text=str(i), id=str(i), metadata={"record": {"username": n}})
        for i, n in enumerate(names)
    ]


def _anonymize(step, names):
    return [doc.metadata["record"] for doc in step.run(iter(_records(names)))]


def test_anonymize_reads_the_salt_when_it_runs_and_keeps_it_nowhere(monkeypatch):
    monkeypatch.setenv(SALT_ENV, SALT)
    step = AnonymizeAnnotators()
    first = _anonymize(step, ["miren", "jon", "guest", " ", "Miren"])
    assert first[0] == {"annotator": annotator_hash("miren", SALT.encode())}
    assert first[1] == {"annotator": annotator_hash("jon", SALT.encode())}
    assert first[2] == first[3] == {"annotator": None}  # the arena's guest, an empty name
    assert first[4]["annotator"] not in (None, first[0]["annotator"])  # case is kept
    # the same step under another salt: every hash changes, the anonymous ones stay None
    monkeypatch.setenv(SALT_ENV, OTHER_SALT)
    second = _anonymize(step, ["miren", "jon", "guest"])
    assert second[0]["annotator"] == annotator_hash("miren", OTHER_SALT.encode())
    assert second[0]["annotator"] != first[0]["annotator"]
    assert second[2]["annotator"] is None
    # datatrove logs every step's attributes: the salt must not be one of them
    assert SALT.encode() not in dill.dumps(step) and OTHER_SALT.encode() not in dill.dumps(step)


def test_incoming_annotator_field_is_never_trusted(monkeypatch):
    monkeypatch.setenv(SALT_ENV, SALT)
    doc = Document(
        text="x",
        id="x",
        metadata={"record": {"username": "guest", "annotator": "Miren Etxeberria"}},
    )
    (out,) = AnonymizeAnnotators().run(iter([doc]))
    assert out.metadata["record"] == {"annotator": None}


@pytest.mark.parametrize("salt", ["", "fifteen-chars!!"])
def test_missing_or_short_salt_is_refused(monkeypatch, salt):
    monkeypatch.setenv(SALT_ENV, salt)
    with pytest.raises(BuildError, match=SALT_ENV):
        annotator_salt()
    with pytest.raises(BuildError, match=SALT_ENV):
        _anonymize(AnonymizeAnnotators(), ["miren"])


def test_unset_salt_is_refused_as_not_set(monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    with pytest.raises(BuildError, match=f"{SALT_ENV} is not set"):
        annotator_salt()


def test_records_without_a_username_and_stats(monkeypatch):
    """Every record comes out with `annotator` and no `username`; the step counts both kinds."""
    monkeypatch.setenv(SALT_ENV, SALT)
    step = AnonymizeAnnotators(anonymous=["Guest", " anon "])
    docs = [
        Document(text="0", id="0", metadata={"record": {"model_a": "x"}}),
        Document(text="1", id="1", metadata={"record": {"username": "ANON"}}),
        Document(text="2", id="2", metadata={"record": {"username": "miren"}}),
        Document(text="3", id="3", metadata={"read_error": ["battle_malformed_json", "x"]}),
    ]
    out = list(step.run(iter(docs)))
    assert [d.metadata.get("record") for d in out] == [
        {"model_a": "x", "annotator": None},
        {"annotator": None},
        {"annotator": annotator_hash("miren", SALT.encode())},
        None,
    ]
    assert out[3].metadata == {"read_error": ["battle_malformed_json", "x"]}
    assert step.stats["annotated"].total == 1
    assert step.stats["anonymous"].total == 2


def test_salt_of_the_minimum_length_is_accepted(monkeypatch):
    monkeypatch.setenv(SALT_ENV, "x" * 16)
    assert annotator_salt() == b"x" * 16


# ---- intervals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, low, high", [(0.95, 25.0, 975.0), (0.9, 50.0, 950.0), (0.5, 250.0, 750.0)]
)
def test_interval_level_matches_its_percentiles(level, low, high):
    rounds = np.stack([np.arange(1001.0), 2 * np.arange(1001.0)], axis=1)  # percentile p = 10 p
    fit = bt.Fit(np.array([500.0, 1000.0]), rounds)
    got_low, got_high = fit.interval(level)
    np.testing.assert_allclose(got_low, [low, 2 * low])
    np.testing.assert_allclose(got_high, [high, 2 * high])


def test_no_bootstrap_gives_the_point_rating_as_interval():
    fit = bt.Fit(np.array([990.0, 1010.0]), np.empty((0, 2)))
    low, high = fit.interval(0.95)
    np.testing.assert_array_equal(low, fit.ratings)
    np.testing.assert_array_equal(high, fit.ratings)


def _fit_of(battles, bootstrap, seed):
    names = sorted({b["model_a"] for b in battles} | {b["model_b"] for b in battles})
    index = {n: i for i, n in enumerate(names)}
    score = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
    cells = bt.Cells.from_battles(
        np.array([index[b["model_a"]] for b in battles]),
        np.array([index[b["model_b"]] for b in battles]),
        np.array([score[b["winner"]] for b in battles]),
        len(names),
    )
    return names, bt.fit(cells, bootstrap=bootstrap, seed=seed)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_leaderboard_reports_the_interval_of_its_level(level):
    battles = synthetic_battles(600, 4, seed=8)
    assert all(b["winner"] in ("model_a", "model_b", "tie", "tie (bothbad)") for b in battles)
    board = compute_leaderboard(battles, bootstrap=200, seed=5, ci_level=level)
    names, fit = _fit_of(battles, bootstrap=200, seed=5)
    tail = (1 - level) / 2 * 100
    expected_low, expected_high = np.percentile(fit.rounds, [tail, 100 - tail], axis=0)
    by_model = {s.model: s for s in board.standings}
    for j, name in enumerate(names):
        assert by_model[name].ci_low == pytest.approx(expected_low[j], abs=0.006)
        assert by_model[name].ci_high == pytest.approx(expected_high[j], abs=0.006)
    assert f"{round(level * 100)}% CI" in board.table()


def test_bootstrap_seed_moves_intervals_not_ratings_or_records():
    battles = synthetic_battles(600, 4, seed=9)
    one = compute_leaderboard(battles, bootstrap=100, seed=1)
    two = compute_leaderboard(battles, bootstrap=100, seed=2)
    again = compute_leaderboard(battles, bootstrap=100, seed=1)
    assert one.to_dict() == again.to_dict()
    strip = lambda board: [  # noqa: E731
        {k: v for k, v in s.items() if k not in ("ci_low", "ci_high")} for s in board.to_json()
    ]
    assert strip(one) == strip(two)
    assert one.win_rate == two.win_rate and one.battle_counts == two.battle_counts
    assert [(s.ci_low, s.ci_high) for s in one.standings] != [
        (s.ci_low, s.ci_high) for s in two.standings
    ]


# ---- plots ---------------------------------------------------------------------------------


def test_ratings_plot_leaves_unrated_models_out(tmp_path):
    battles = synthetic_battles(300, 3, seed=2)
    # `solo` only ever loses: listed with rating None
    battles.append(
        {
            "model_a": "solo",
            "model_b": "model-00",
            "winner": "model_b",
            "winner_content": "model_b",
            "winner_language": "model_b",
        }
    )
    board = compute_leaderboard(battles, bootstrap=20, seed=3)
    unrated = [s for s in board.standings if s.rating is None]
    assert [s.model for s in unrated] == ["solo"]
    rated_only = Leaderboard(
        board.dimension,
        [s for s in board.standings if s.rating is not None],
        board.battles,
        board.bootstrap,
        board.seed,
        board.ci_level,
    )
    with_unrated = plot_ratings(board, tmp_path / "all.png").read_bytes()
    without = plot_ratings(rated_only, tmp_path / "rated.png").read_bytes()
    assert with_unrated == without


# ---- Bradley-Terry fit -----------------------------------------------------------------------


def _cells(seed=4, n=400, models=4):
    battles = synthetic_battles(n, models, seed=seed)
    names = sorted({b["model_a"] for b in battles} | {b["model_b"] for b in battles})
    index = {name: i for i, name in enumerate(names)}
    score = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5}
    return bt.Cells.from_battles(
        np.array([index[b["model_a"]] for b in battles]),
        np.array([index[b["model_b"]] for b in battles]),
        np.array([score[b["winner"]] for b in battles]),
        len(names),
    )


def test_penalised_log_likelihood_is_the_documented_objective():
    """sum_ij W_ij log sigmoid(theta_i - theta_j) - ridge/2 |theta|^2, one value per round."""
    theta = np.array([[0.5, -0.5, 0.0], [1.0, 0.0, -1.0]])
    wins = np.array([[[0, 3, 1], [1, 0, 2], [0, 1, 0]], [[0, 1, 0], [2, 0, 1], [1, 1, 0]]], float)
    ridge = 0.2
    expected = []
    for t, w in zip(theta, wins):
        value = sum(
            w[i, j] * math.log(1 / (1 + math.exp(-(t[i] - t[j]))))
            for i in range(3)
            for j in range(3)
        )
        expected.append(value - ridge / 2 * float((t**2).sum()))
    np.testing.assert_allclose(bt._log_likelihood(theta, wins, ridge), expected, rtol=1e-12)


def test_solution_is_stationary_for_the_penalised_likelihood():
    cells = _cells()
    wins = cells.wins()
    for ridge in (1e-6, 0.5):
        theta = bt.solve(wins, ridge=ridge)[0]
        p = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
        games = wins[0] + wins[0].T
        grad = (wins[0] - games * p).sum(axis=1) - ridge * theta
        np.testing.assert_allclose(grad, 0, atol=1e-6)


def test_elo_scale_base_and_initial_apply_to_ratings_and_rounds():
    cells = _cells()
    default = bt.fit(cells, bootstrap=12, seed=3)
    custom = bt.fit(cells, bootstrap=12, seed=3, scale=200.0, base=math.e, initial=1500.0)
    # same strengths, another unit: (R - initial) / scale * ln(base) is the natural-log strength
    to_theta = lambda r, initial, scale, base: (r - initial) / scale * math.log(base)  # noqa: E731
    np.testing.assert_allclose(
        to_theta(custom.ratings, 1500.0, 200.0, math.e),
        to_theta(default.ratings, 1000.0, 400.0, 10.0),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        to_theta(custom.rounds, 1500.0, 200.0, math.e),
        to_theta(default.rounds, 1000.0, 400.0, 10.0),
        atol=1e-9,
    )
    assert custom.ratings.mean() == pytest.approx(1500.0, abs=0.01)


def test_bootstrap_round_count_defaults_and_chunking():
    cells = _cells()
    plain = bt.fit(cells)
    assert plain.rounds.shape == (0, cells.n_models)  # no bootstrap by default
    np.testing.assert_array_equal(plain.interval(0.95)[0], plain.ratings)
    chunked = bt.fit(cells, bootstrap=30, seed=2, chunk=7)
    whole = bt.fit(cells, bootstrap=30, seed=2)
    assert chunked.rounds.shape == whole.rounds.shape == (30, cells.n_models)
    # chunking bounds memory; it does not change the resamples
    np.testing.assert_allclose(chunked.rounds, whole.rounds, atol=1e-9)
    np.testing.assert_array_equal(
        bt.fit(cells, bootstrap=5).rounds, bt.fit(cells, bootstrap=5, seed=0).rounds
    )
