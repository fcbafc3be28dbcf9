"""An arena on Argilla: --pairwise push, two annotators vote, pull -> Ebaluatoia battle records
that `factory leaderboard` and the preferences recipe read unchanged."""

from __future__ import annotations

import json

import pytest
from battle_logs import SALT
from review_helpers import answer, dataset, factory

from factory.builds.runner import build
from factory.hub import open_store
from factory.preferences.synthetic import synthetic_battles
from factory.recipes import load_recipe

pytestmark = [pytest.mark.server, pytest.mark.slow]

EBALUATOIA_KEYS = {
    "timestamp", "model_a", "model_b", "hyperparameters", "conv_a", "conv_b",
    "winner", "winner_content", "winner_language", "username",
}  # fmt: skip


def test_pairwise_round_trip_to_battles(argilla_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    pairs = synthetic_battles(12, 3, seed=4)
    for pair in pairs:  # generations to judge: no votes yet
        for key in ("winner", "winner_content", "winner_language"):
            pair.pop(key)
    body = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs).encode()
    rev = open_store("local").publish(
        "test/pairs", {"data/train-00000-of-00001.jsonl": body}, message="pairs"
    )

    code, out, err = factory(
        capsys, "review", "push", f"test/pairs@{rev.sha}", "--pairwise", "--sample", "8"
    )
    assert code == 0, err
    records = list(dataset(argilla_env, "test--pairs--pairwise").records)
    assert len(records) == 8
    swapped = [r for r in records if r.metadata["swapped"] == "yes"]
    assert 0 < len(swapped) < 8  # the order is randomised per record, and recorded
    by_prompt = {p["conv_a"][0]["content"]: p for p in pairs}
    for record in records:
        source = by_prompt[record.fields["prompt"][0].content]
        left = "b" if record.metadata["swapped"] == "yes" else "a"
        assert record.metadata["model_a"] == source[f"model_{left}"]
        assert record.fields["response_a"] == source[f"conv_{left}"][1]["content"]

    # annotator1 always prefers the left answer on content and language; annotator2 splits
    votes = {
        "annotator1": {r.id: {"content": "A", "language": "A", "overall": "A"} for r in records},
        "annotator2": {r.id: {"content": "B", "language": "tie", "overall": "B"} for r in records},
    }
    answer(argilla_env, "test--pairs--pairwise", votes)
    out_dir = tmp_path / "arena"
    code, out, err = factory(
        capsys,
        "review",
        "pull",
        "test--pairs--pairwise",
        "--output",
        "test/arena-review",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    assert "16 battle records" in out
    files = sorted((out_dir / "battles").glob("history_*.json"))
    assert len(files) == 16
    battles = [json.loads(f.read_text()) for f in files]
    assert all(set(b) == EBALUATOIA_KEYS for b in battles)
    # the arena's rule: content when content and language agree, else the overall vote
    assert sorted({(b["winner_content"], b["winner_language"], b["winner"]) for b in battles}) == [
        ("model_a", "model_a", "model_a"),
        ("model_b", "tie", "model_b"),
    ]
    record = next(r for r in records if r.metadata["swapped"] == "yes")
    mine = [b for b in battles if b["conv_a"][1]["content"] == record.fields["response_a"]]
    assert {b["model_a"] for b in mine} == {record.metadata["model_a"]}

    code, out, err = factory(
        capsys, "leaderboard", str(out_dir / "battles"), "--format", "json", "--bootstrap", "5"
    )
    assert code == 0, err
    assert sum(r["battles"] for r in json.loads(out)) == 32, err

    review_sha = open_store("local").resolve("test/arena-review")
    rows = open_store("local").load("test/arena-review", review_sha)["train"].to_list()
    assert len(rows) == 16 and {r["swapped"] for r in rows} == {"yes", "no"}
    assert all(r["model_a"] and r["overall"] in ("A", "B", "tie") for r in rows)
    prefs = tmp_path / "prefs.yaml"
    prefs.write_text(
        "kind: preferences\nname: arena\nseed: 1\ninputs:\n"
        f"  - dataset: test/arena-review@{review_sha}\n    config: battles\n"
        "executor:\n  tasks: 1\nleaderboard:\n  bootstrap: 5\noutput:\n  repo_id: test/arena-prefs\n"
    )
    result = build(load_recipe(prefs), publish=False, log=lambda _: None)
    assert result.dataset.counts["default"]["train"] == 16
