"""The preference kind reads HiTZ/ebaluatoia exactly as it is published.

Layout (from the dataset card and latxa-instruct's `evaluation/results.ipynb`): two configs,
`25-03` (`data/25-03.jsonl.gz`) and `25-03-sanitized`, side by side in one repo; the rows keep
`id`, `user_language`, `user_education` beside the arena record.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from battle_logs import SALT

from factory.builds.runner import build
from factory.errors import InputError
from factory.hub import open_store
from factory.preferences.rows import dpo_row
from factory.preferences.synthetic import synthetic_battles
from factory.recipes import load_recipe

N = 60
CARD = """---
license: cc0-1.0
configs:
- config_name: 25-03
  data_files:
  - split: train
    path: data/25-03.jsonl.gz
- config_name: 25-03-sanitized
  data_files:
  - split: train
    path: data/25-03-sanitized.jsonl.gz
---

# Ebaluatoia (layout copy for tests)
"""


def ebaluatoia_rows(n: int = N) -> list[dict]:
    rows = []
    for i, battle in enumerate(synthetic_battles(n, 4, seed=11)):
        battle.pop("hyperparameters", None)
        rows.append(
            {
                "id": f"{i:08x}-uuid",
                **battle,
                "username": f"erabiltzailea{i % 5}",
                "user_language": ["C1", "B2", "C2"][i % 3],
                "user_education": ["Bachelor", "High School"][i % 2],
            }
        )
    return rows


def sanitize(rows: list[dict]) -> list[dict]:
    """The sanitized config's copy: the same battles with edited text (so not duplicates)."""
    return [
        dict(
            r,
            conv_a=[
                dict(m, content=m["content"].replace("erantzuna", "[erantzuna]"))
                for m in r["conv_a"]
            ],
        )
        for r in rows
    ]


def gz_jsonl(rows: list[dict]) -> bytes:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return gzip.compress(text.encode(), mtime=0)


@pytest.fixture
def ebaluatoia(tmp_path, monkeypatch):
    """The Ebaluatoia layout published in a fresh local store: (repo@sha, rows)."""
    monkeypatch.setenv("FACTORY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    rows = ebaluatoia_rows()
    sanitized = sanitize(rows)
    revision = open_store("local").publish(
        "HiTZ/ebaluatoia",
        {
            "README.md": CARD.encode(),
            "data/25-03.jsonl.gz": gz_jsonl(rows),
            "data/25-03-sanitized.jsonl.gz": gz_jsonl(sanitized),
        },
        message="ebaluatoia layout",
    )
    return f"HiTZ/ebaluatoia@{revision.sha}", rows


def rows_file(result):
    source = result.files["data/train-00000-of-00001.parquet"]
    return io.BytesIO(source) if isinstance(source, bytes) else source


def recipe_for(tmp_path: Path, ref: str, config: str | None) -> Path:
    path = tmp_path / "prefs.yaml"
    line = f"    config: {config}\n" if config else ""
    path.write_text(
        f"kind: preferences\nname: eb\nseed: 1\ninputs:\n  - dataset: {ref}\n{line}"
        "executor:\n  tasks: 1\nleaderboard:\n  bootstrap: 20\noutput:\n  repo_id: test/eb\n"
    )
    return path


def test_config_counts_each_battle_once_and_keeps_published_columns(ebaluatoia, tmp_path):
    ref, rows = ebaluatoia
    result = build(
        load_recipe(recipe_for(tmp_path, ref, "25-03")), publish=False, log=lambda _: None
    )
    assert result.dataset.counts["default"]["train"] == N  # not 0 (nothing selected), not 2N
    table = pq.read_table(rows_file(result))
    published = table.to_pylist()
    by_id = {r["id"]: r for r in rows}
    assert sorted(r["id"] for r in published) == sorted(by_id)
    for row in published:
        assert row["user_language"] == by_id[row["id"]]["user_language"]
        assert row["user_education"] == by_id[row["id"]]["user_education"]
        assert "[erantzuna]" not in json.dumps(row["conv_a"])  # the 25-03 file, not the sanitized
    assert "username" not in table.column_names


def test_sanitized_config_reads_only_its_file(ebaluatoia, tmp_path):
    ref, _ = ebaluatoia
    recipe = load_recipe(recipe_for(tmp_path, ref, "25-03-sanitized"))
    result = build(recipe, publish=False, log=lambda _: None)
    assert result.dataset.counts["default"]["train"] == N
    rows = pq.read_table(rows_file(result)).to_pylist()
    assert all("[erantzuna]" in json.dumps(r["conv_a"]) for r in rows)


def test_no_config_and_no_default_is_one_line_naming_the_configs(ebaluatoia, tmp_path):
    ref, _ = ebaluatoia
    with pytest.raises(InputError) as caught:
        build(load_recipe(recipe_for(tmp_path, ref, None)), publish=False, log=lambda _: None)
    message = str(caught.value)
    assert "25-03, 25-03-sanitized" in message and "\n" not in message
    with pytest.raises(InputError, match="no config 'nope'"):
        build(load_recipe(recipe_for(tmp_path, ref, "nope")), publish=False, log=lambda _: None)


def run_factory(capsys, *args: str) -> tuple[int, str, str]:
    """`factory ARGS` through `factory.cli.main` (one-line errors, exit codes), in-process."""
    from unittest import mock

    from factory.cli import main

    capsys.readouterr()
    code = 0
    with mock.patch.object(sys, "argv", ["factory", *args]):
        try:
            main()
        except SystemExit as done:
            code = done.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_leaderboard_reads_the_config_once_and_reports_like_the_arena(ebaluatoia, capsys):
    ref, _ = ebaluatoia
    cmd = ["leaderboard", ref, "--config", "25-03", "--bootstrap", "10"]
    code, out, err = run_factory(capsys, *cmd, "--format", "json")
    assert code == 0, err
    assert sum(r["battles"] for r in json.loads(out)) == 2 * N  # each battle counts for two models
    code, out, err = run_factory(capsys, *cmd, "--like-arena")
    assert code == 0, err
    assert "arena 90% CI" in out and f"{N} battles" in out
    code, out, err = run_factory(capsys, "leaderboard", ref)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "25-03-sanitized" in err


def test_dpo_pair_of_a_multi_turn_battle_is_the_assistant_answers_only():
    user2 = {"role": "user", "content": "Eta zergatik?"}
    battle = {
        "battle_id": "b1",
        "model_a": "A",
        "model_b": "B",
        "winner": "model_b",
        "conv_a": [
            {"role": "user", "content": "Zer da euskara?"},
            {"role": "assistant", "content": "Hizkuntza bat."},
            user2,
            {"role": "assistant", "content": "Zaharra delako."},
        ],
        "conv_b": [
            {"role": "user", "content": "Zer da euskara?"},
            {"role": "assistant", "content": "Euskal Herriko hizkuntza."},
            user2,
            {"role": "assistant", "content": "Ez dakit."},
        ],
    }
    pair = dpo_row(battle, "overall")
    assert pair["prompt"] == [{"role": "user", "content": "Zer da euskara?"}]
    assert pair["chosen"] == [{"role": "assistant", "content": "Euskal Herriko hizkuntza."}]
    assert pair["rejected"] == [{"role": "assistant", "content": "Hizkuntza bat."}]
    # same first answers: the pair is the second answers, after the shared prefix
    battle["conv_b"][1] = battle["conv_a"][1]
    pair = dpo_row(battle, "overall")
    assert pair["prompt"] == battle["conv_a"][:3]
    assert pair["chosen"] == [{"role": "assistant", "content": "Ez dakit."}]
    assert pair["rejected"] == [{"role": "assistant", "content": "Zaharra delako."}]


@pytest.mark.server
def test_hub_input_in_the_ebaluatoia_layout_counts_each_battle_once(hub, tmp_path, monkeypatch):
    """The same layout on the (loopback) Hub: the card's configs select the files."""
    from huggingface_hub import CommitOperationAdd

    monkeypatch.setenv("FACTORY_ANNOTATOR_SALT", SALT)
    rows = ebaluatoia_rows()
    repo_id = hub.repo_id("ebaluatoia")
    api = hub.api()
    api.create_repo(repo_id, repo_type="dataset")
    commit = api.create_commit(
        repo_id,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("README.md", CARD.encode()),
            CommitOperationAdd("data/25-03.jsonl.gz", gz_jsonl(rows)),
            CommitOperationAdd("data/25-03-sanitized.jsonl.gz", gz_jsonl(sanitize(rows))),
        ],
        commit_message="ebaluatoia layout",
    )
    ref = f"{repo_id}@{commit.oid}"
    result = build(
        load_recipe(recipe_for(tmp_path, ref, "25-03")), publish=False, log=lambda _: None
    )
    assert result.dataset.counts["default"]["train"] == N
