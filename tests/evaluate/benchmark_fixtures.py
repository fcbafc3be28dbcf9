"""Stand-ins for the four benchmarks eval/latxa_instruct_suite.yaml imports (bertaqa, bl2mp, mmlu, basqbbq)."""

from __future__ import annotations

from pathlib import Path

from factory.store.git import GitStore

# made-up rows in each benchmark's shape (not the benchmarks' data)
ROWS = {
    "bertaqa": {
        "question": "Zein da hiriburua?",
        "candidates": ["Gasteiz", "Bilbo", "Baiona"],
        "answer": 0,
    },
    "bl2mp": {"sentence_good": "Etxera noa.", "sentence_bad": "Etxera naiz joan noa."},
    "mmlu": {"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1},
    "basqbbq": {
        "context": "Bi lagun.",
        "question": "Nor?",
        "ans0": "a",
        "ans1": "b",
        "ans2": "ez dakit",
        "label": 2,
    },
}


def publish_all(tmp_path: Path, only: list[str] | None = None) -> None:
    """Publish each benchmark (or `only` those) at tag v1 with the suite's configs and splits."""
    import datasets

    layout = {
        "bertaqa": ["eu_global/test", "eu_local/test", "en_global/test", "en_local/test"],
        "bl2mp": ["test"],
        "mmlu": ["eu/dev", "eu/test", "en/dev", "en/test"],
        "basqbbq": ["test"],
    }
    for name, splits in layout.items():
        if only is not None and name not in only:
            continue
        files = {}
        for split in splits:
            config, _, part = split.rpartition("/")
            path = tmp_path / name / f"{split.replace('/', '_')}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list([ROWS[name]] * 2).to_parquet(str(path))
            files[f"data/{config + '/' if config else ''}{part}-00000-of-00001.parquet"] = path
        GitStore().publish(f"latxa/{name}", files, message=name, tag="v1")
