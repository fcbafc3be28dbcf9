"""Leaderboards: records, matrices, unidentifiable models, and the errors when nothing can be rated."""

from __future__ import annotations

import json
import math

import pytest

from factory.errors import InputError
from factory.preferences.leaderboard import compute_leaderboard
from factory.preferences.synthetic import synthetic_battles


def vote(a, b, overall, content=None, language=None):
    return {
        "model_a": a,
        "model_b": b,
        "winner": overall,
        "winner_content": content or overall,
        "winner_language": language or overall,
    }


@pytest.fixture(scope="module")
def battles():
    return synthetic_battles(1500, 5, seed=9)


def test_records_and_matrices_are_consistent(battles):
    board = compute_leaderboard(battles, "content", bootstrap=100, seed=1)
    assert sum(s.battles for s in board.standings) == 2 * len(battles)
    for s in board.standings:
        assert s.wins + s.ties + s.losses == s.battles
        assert s.ci_low <= s.rating <= s.ci_high
    ratings = [s.rating for s in board.standings]
    assert ratings == sorted(ratings, reverse=True)
    n = len(board.models)
    for i in range(n):
        assert board.battle_counts[i][i] == 0 and board.win_rate[i][i] is None
        for j in range(n):
            assert board.battle_counts[i][j] == board.battle_counts[j][i]
            if board.battle_counts[i][j]:
                assert board.win_rate[i][j] + board.win_rate[j][i] == pytest.approx(1.0, abs=1e-3)
    assert sum(s.wins for s in board.standings) == sum(s.losses for s in board.standings)


def test_dimensions_differ(battles):
    overall = compute_leaderboard(battles, "overall", bootstrap=0)
    language = compute_leaderboard(battles, "language", bootstrap=0)
    assert [s.rating for s in overall.standings] != [s.rating for s in language.standings]


def test_json_has_the_documented_keys_and_no_nan(battles):
    data = compute_leaderboard(battles, bootstrap=50).to_json()
    for row in data:
        assert {"model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses"} <= set(
            row
        )
    text = json.dumps(data)
    assert "NaN" not in text and "Infinity" not in text


def test_unidentifiable_models_are_flagged_not_rated(battles):
    extra = [
        vote("always-loses", "model-00", "model_b"),
        vote("iso-a", "iso-b", "model_a"),
        vote("iso-b", "iso-a", "model_a"),
    ]
    board = compute_leaderboard(battles + extra, bootstrap=20)
    by_name = {s.model: s for s in board.standings}
    assert by_name["always-loses"].rating is None
    assert "never won" in by_name["always-loses"].note
    assert "disconnected" in by_name["iso-a"].note and by_name["iso-b"].rating is None
    assert all(s.rating is not None for s in board.standings[:5])
    assert [s.model for s in board.standings[5:]] == ["always-loses", "iso-a", "iso-b"]
    table = board.table()
    assert "n/a [1]" in table and "always-loses: never won" in table and "nan" not in table.lower()
    assert all(
        not (isinstance(v, float) and math.isnan(v))
        for row in board.win_rate
        for v in row
        if v is not None
    )


def test_only_ties_is_identifiable():
    board = compute_leaderboard(
        [vote("a", "b", "tie"), vote("b", "c", "tie (bothbad)"), vote("a", "c", "tie")],
        bootstrap=10,
    )
    assert [s.rating for s in board.standings] == [1000.0, 1000.0, 1000.0]
    assert all("ties only" in s.note for s in board.standings)
    assert "1000.0 [1]" in board.table()


@pytest.mark.parametrize(
    ("battles", "message"),
    [
        ([], "no valid battles"),
        ([vote("a", "b", "model_a"), vote("a", "c", "model_a")], "no rating can be computed"),
    ],
)
def test_nothing_to_rate_is_an_input_error(battles, message):
    with pytest.raises(InputError, match=message):
        compute_leaderboard(battles, bootstrap=10)


def test_unknown_dimension():
    with pytest.raises(InputError, match="allowed: overall, content, language"):
        compute_leaderboard([vote("a", "b", "tie")], "style")
