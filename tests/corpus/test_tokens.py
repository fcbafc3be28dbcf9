"""Table 2's token column: a local tokenizer (file or folder), counted in its own stage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from factory.builds.runner import build
from factory.corpus.tokens import resolve_tokenizer
from factory.errors import RecipeError
from factory.recipes import load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "corpus_eu.yaml"
SAMPLE = REPO / "factory" / "corpus" / "sample" / "wikipedia.jsonl"


def train_tokenizer(folder: Path, vocab_size: int) -> Path:
    """A byte-level BPE tokenizer trained here (the demo model's takes a minute to build)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(
        [json.loads(line)["text"] for line in SAMPLE.read_text().splitlines()], trainer=trainer
    )
    folder.mkdir(parents=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder


def _published_tokens(result, tokenizer_file: Path) -> dict[str, int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    counts: dict[str, int] = {}
    for name, path in result.dataset.files.items():
        if name.endswith(".parquet") and not name.startswith("data/excluded/"):  # drops: no text
            for row in pq.read_table(path).to_pylist():
                counts[row["source"]] = counts.get(row["source"], 0) + len(
                    tok.encode(row["text"], add_special_tokens=False).ids
                )
    return counts


@pytest.mark.slow
def test_token_column_counts_published_text_and_follows_the_tokenizer(tmp_path):
    small = train_tokenizer(tmp_path / "bpe-small", 400)
    large = train_tokenizer(tmp_path / "bpe-large", 1500)
    workdir = tmp_path / "work"
    plain = build(load_recipe(RECIPE), publish=False, log=lambda m: None, workdir=workdir)
    assert "| tokens |" not in plain.files["README.md"].decode()

    # same work dir (stats.tokenizer is not in the recipe hash): only the token stage runs
    lines: list[str] = []
    counted = build(
        load_recipe(RECIPE, [f"stats.tokenizer={small}"]),
        publish=False,
        log=lines.append,
        workdir=workdir,
    )
    assert counted.content_hash == plain.content_hash
    ran = [line.split("] ", 1)[1] for line in lines if line.startswith("[")]
    assert [stage for stage in ran if "already done" not in stage] == [
        f"tokens_{resolve_tokenizer(str(small), tmp_path).fingerprint}: 2 tasks"
    ]
    card = counted.files["README.md"].decode()
    assert "| tokens |" in card and "tokenizer `bpe-small (sha256 " in card
    expected = _published_tokens(counted, small / "tokenizer.json")
    for source, n in expected.items():
        row = next(line for line in card.splitlines() if line.startswith(f"| {source} |"))
        assert row.rstrip(" |").endswith(f"{n:,}" if n < 1e4 else f"{n / 1e3:.1f}K"), (row, n)

    # another tokenizer (given as its tokenizer.json file) gets its own count
    other = build(
        load_recipe(RECIPE, [f"stats.tokenizer={large / 'tokenizer.json'}"]),
        publish=False,
        log=lambda m: None,
        workdir=workdir,
    )
    fewer = _published_tokens(other, large / "tokenizer.json")
    assert sum(fewer.values()) < sum(expected.values())
    total_line = next(
        line
        for line in other.files["README.md"].decode().splitlines()
        if line.startswith("| **total** |")
    )
    assert total_line.rstrip(" |").endswith(f"{sum(fewer.values()) / 1e3:.1f}K")


def test_missing_tokenizer_is_one_recipe_error(tmp_path):
    with pytest.raises(
        RecipeError, match=r"^stats.tokenizer: 'nowhere/tok.json' does not exist .*`demo`"
    ):
        resolve_tokenizer("nowhere/tok.json", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecipeError, match="holds no tokenizer files"):
        resolve_tokenizer("empty", tmp_path)
    assert resolve_tokenizer(None, tmp_path) is None


def test_folder_and_file_resolve_to_the_same_tokenizer(tmp_path):
    folder = train_tokenizer(tmp_path / "tok", 300)
    a, b = (
        resolve_tokenizer("tok", tmp_path),
        resolve_tokenizer(str(folder / "tokenizer.json"), tmp_path),
    )
    assert a.path == b.path == str(folder / "tokenizer.json") and a.fingerprint == b.fingerprint


def test_demo_uses_the_demo_models_tokenizer(tmp_path, monkeypatch):
    import factory.demo.model as demo_model

    assert load_recipe(RECIPE, demo=True).stats.tokenizer == "demo"
    assert load_recipe(RECIPE).stats.tokenizer is None
    # ensure_demo_model() trains for about a minute; its folder layout is what matters here
    folder = train_tokenizer(tmp_path / "demo-model", 300)
    monkeypatch.setattr(demo_model, "ensure_demo_model", lambda: folder)
    ref = resolve_tokenizer("demo", tmp_path / "elsewhere")
    assert ref.path == str(folder / "tokenizer.json")
    assert ref.label == f"{demo_model.DEMO_MODEL_ID}@{demo_model.demo_revision()}"
