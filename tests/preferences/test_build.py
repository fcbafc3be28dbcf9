"""`factory build` of a preferences recipe on battle files (broken ones included), end to end."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from battle_logs import SALT, USERNAME_PREFIX, allowed_models, write_battle_logs

from factory.builds.runner import build
from factory.errors import BuildError
from factory.hub import open_store
from factory.recipes import load_recipe

REPO = Path(__file__).resolve().parents[2]
N_VALID = 240
N_MODELS = 6


def write_recipe(folder: Path, inputs: str, *, tasks: int = 2, extra: str = "") -> Path:
    path = folder / "prefs.yaml"
    models = ", ".join(allowed_models(N_MODELS))
    path.write_text(
        f"kind: preferences\nname: prefs-test\nseed: 3\ninputs:\n{inputs}\n"
        f"executor:\n  tasks: {tasks}\nvalidation:\n  allowed_models: [{models}]\n"
        f"leaderboard:\n  bootstrap: 50\noutput:\n  repo_id: test/prefs\n{extra}"
    )
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build in its own FACTORY_HOME: (home, result, expected drops, logs folder)."""
    root = tmp_path_factory.mktemp("prefs-build")
    logs, expected, _ = write_battle_logs(root / "logs", n_valid=N_VALID, n_models=N_MODELS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_HOME", str(root / "home"))
        mp.setenv("FACTORY_ANNOTATOR_SALT", SALT)
        recipe = load_recipe(write_recipe(root, "  - path: logs"))
        result = build(recipe, log=lambda _: None)
    return root / "home", result, expected, logs


def published(built) -> dict[str, bytes]:
    home, result, _, _ = built
    return {
        path: (src if isinstance(src, bytes) else Path(src).read_bytes())
        for path, src in result.files.items()
    }


def test_publishes_both_configs_with_counts(built):
    _, result, expected, _ = built
    counts = result.dataset.counts
    assert counts["default"]["train"] == N_VALID
    assert 0 < counts["dpo"]["train"] < N_VALID  # ties are excluded
    files = published(built)
    rows = pq.read_table(io.BytesIO(files["data/train-00000-of-00001.parquet"])).to_pylist()
    assert {
        "battle_id",
        "prompt",
        "conv_a",
        "conv_b",
        "winner",
        "winner_content",
        "winner_language",
        "annotator",
        "timestamp",
    } <= set(rows[0])
    pairs = pq.read_table(io.BytesIO(files["data/dpo/train-00000-of-00001.parquet"])).to_pylist()
    by_id = {r["battle_id"]: r for r in rows}
    for pair in pairs:
        battle = by_id[pair["battle_id"]]
        assert battle["winner"] in ("model_a", "model_b")
        winner_side = "conv_a" if battle["winner"] == "model_a" else "conv_b"
        assert (
            pair["prompt"] == battle[winner_side][:1] and pair["chosen"] == battle[winner_side][1:]
        )
    assert len(pairs) == sum(1 for r in rows if r["winner"] in ("model_a", "model_b"))


def test_every_drop_is_counted_by_reason(built):
    _, result, expected, _ = built
    stats = json.loads(published(built)["stats.json"])
    dropped = {}
    for stage in stats["stages"]:
        for reason, n in stage["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + n
    assert dropped == expected


def test_card_has_leaderboards_and_plots(built):
    files = published(built)
    card = files["README.md"].decode()
    for dimension in ("Overall", "Content", "Language"):
        assert f"### {dimension}" in card
    for dimension in ("overall", "content", "language"):
        for plot in (f"plots/ratings_{dimension}.png", f"plots/win_rate_{dimension}.png"):
            assert f"]({plot})" in card
            assert files[plot].startswith(b"\x89PNG")
    assert "config_name: dpo" in card
    board = json.loads(files["leaderboard.json"])
    overall = board["leaderboards"][0]
    assert overall["dimension"] == "overall" and len(overall["standings"]) == N_MODELS
    assert len(overall["win_rate"]) == N_MODELS and len(overall["battle_counts"]) == N_MODELS
    assert board["annotators"]["annotators"] > 1


def test_no_username_or_salt_anywhere(built):
    home, result, _, _ = built
    for path, data in published(built).items():
        assert USERNAME_PREFIX.encode() not in data, path
        assert SALT.encode() not in data, path
    # nor in the work dir: logs, executor.json, kept exclusions
    import gzip

    for path in result.workdir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            assert USERNAME_PREFIX.encode() not in data, path
            assert SALT.encode() not in data, path


def test_same_data_whatever_the_task_count(built, tmp_path, monkeypatch):
    _, result, _, logs = built
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    (tmp_path / "logs").symlink_to(logs)
    again = build(
        load_recipe(write_recipe(tmp_path, "  - path: logs", tasks=1)),
        publish=False,
        log=lambda _: None,
    )
    assert again.content_hash == result.content_hash


def test_refuses_to_build_without_salt(tmp_path, monkeypatch):
    monkeypatch.delenv("FACTORY_ANNOTATOR_SALT", raising=False)
    write_battle_logs(tmp_path / "logs", n_valid=20, n_models=3)
    with pytest.raises(BuildError, match="FACTORY_ANNOTATOR_SALT is not set"):
        build(
            load_recipe(write_recipe(tmp_path, "  - path: logs")), publish=False, log=lambda _: None
        )
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", "short")
    with pytest.raises(BuildError, match="at least 16 characters"):
        build(
            load_recipe(write_recipe(tmp_path, "  - path: logs")), publish=False, log=lambda _: None
        )


def test_only_broken_logs_fail_with_the_reasons(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    (tmp_path / "logs").mkdir()
    for i in range(3):
        (tmp_path / "logs" / f"history_{i}.json").write_text("{broken")
    with pytest.raises(BuildError, match="battle_malformed_json=3"):
        build(
            load_recipe(write_recipe(tmp_path, "  - path: logs")), publish=False, log=lambda _: None
        )


def test_builds_from_a_store_revision_of_raw_logs(tmp_path, monkeypatch):
    """The arena uploads `data/history_<uuid>.json` to a dataset repo: read it at a revision."""
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    logs, _, records = write_battle_logs(tmp_path / "logs", n_valid=30, n_models=3)
    files = {f"data/{p.name}": p.read_bytes() for p in sorted(logs.iterdir())}
    revision = open_store("local").publish("arena/raw-logs", files, message="arena upload")
    recipe = load_recipe(
        write_recipe(tmp_path, f"  - dataset: arena/raw-logs@{revision.sha}"),
        ["validation.allowed_models=null"],
    )
    result = build(recipe, publish=False, log=lambda _: None)
    assert result.dataset.counts["default"]["train"] == 31  # the unknown-model battle is kept now
    # its single battle cannot rate that model: the card says so instead of printing a number
    card = result.files["README.md"].decode()
    line = next(x for x in card.splitlines() if x.startswith("| ") and "not-allowed-model" in x)
    assert "| n/a |" in line and ("never won" in line or "never lost" in line)


def run_cli(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "FACTORY_HOME": str(env_home)}
    return subprocess.run(
        [sys.executable, "-m", "factory.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_leaderboard_cli_json_from_logs_and_from_the_published_dataset(built):
    home, result, _, logs = built
    from_logs = run_cli(
        "leaderboard",
        str(logs),
        "--format",
        "json",
        "--bootstrap",
        "40",
        "--seed",
        "5",
        env_home=home,
    )
    assert from_logs.returncode == 0, from_logs.stderr
    rows = json.loads(from_logs.stdout)
    rated = [r["rating"] for r in rows if r["rating"] is not None]
    assert rated == sorted(rated, reverse=True) and len(rated) == N_MODELS
    # the one battle of the model outside the build's allow-list cannot rate it: flagged, last
    assert (
        rows[-1]["model"] == "not-allowed-model" and rows[-1]["rating"] is None and rows[-1]["note"]
    )
    assert {"model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses"} <= set(
        rows[0]
    )
    assert "battle_malformed_json=2" in from_logs.stderr
    # the allow-list is a build setting: the CLI keeps the unknown model's battle, so compare the others
    ref = f"test/prefs@{result.revision.sha}"
    from_store = run_cli(
        "leaderboard", ref, "--format", "json", "--bootstrap", "40", "--seed", "5", env_home=home
    )
    assert from_store.returncode == 0, from_store.stderr
    stored = json.loads(from_store.stdout)
    assert {r["model"] for r in stored} == set(allowed_models(N_MODELS))
    assert sum(r["battles"] for r in stored) == 2 * N_VALID


def test_leaderboard_cli_exit_2_when_nothing_can_be_rated(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text("{")
    done = run_cli("leaderboard", str(tmp_path / "logs"), env_home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "no valid battles" in done.stderr
    missing = run_cli("leaderboard", "nobody/nothing@main", env_home=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
