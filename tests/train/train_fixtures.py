"""Tiny conversation datasets published to the local store or the loopback Hub for the wrapper tests."""

from __future__ import annotations

from pathlib import Path

CONVERSATIONS = [
    [
        {"role": "user", "content": "Zer da Euskal Herria?"},
        {"role": "assistant", "content": "Herrialde bat da."},
    ],
    [{"role": "user", "content": "Kaixo!"}, {"role": "assistant", "content": "Kaixo, zer moduz?"}],
    [
        {"role": "user", "content": "Eman adibide bat."},
        {"role": "assistant", "content": "Hona hemen adibide bat."},
    ],
]

CARD = """---
license: apache-2.0
language:
- eu
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/train-*.parquet
  - split: test
    path: data/test-*.parquet
---
# tiny conversations
"""


def conversation_files(
    folder: Path, rows: list[list[dict]] | None = None
) -> dict[str, Path | bytes]:
    """A published layout: train (two shards) and test splits of `conversations` rows, plus the card."""
    import datasets

    rows = rows if rows is not None else CONVERSATIONS
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path | bytes] = {"README.md": CARD.encode()}
    half = max(1, len(rows) - 1)
    parts = {
        "train-00000-of-00002": rows[:half],
        "train-00001-of-00002": rows[half:],
        "test-00000-of-00001": rows[:1],
    }
    for stem, chunk in parts.items():
        path = folder / f"{stem}.parquet"
        datasets.Dataset.from_dict(
            {"id": [f"{stem}-{i}" for i in range(len(chunk))], "conversations": chunk}
        ).to_parquet(str(path))
        files[f"data/{stem}.parquet"] = path
    return files
