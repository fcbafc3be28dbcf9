"""Per-source seeded splits (factory/corpus/splits.py): the promises of its docstrings.

* the first `round(n * test)` documents of a seeded shuffle go to test, the next
  `round(n * validation)` to validation (nearest, not down), at least one each from 3 documents;
* the recipe seed decides WHICH documents land in test/validation, and nothing else: not the
  sizes, not the documents or their order;
* same recipe and seed -> same splits, whatever the number of tasks.

The split steps are taken from the corpus plan itself, so the recipe's seed is what they get.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from datatrove.data import Document

from factory import kinds
from factory.builds.context import BuildContext
from factory.corpus.splits import SplitAssign, SplitKeys, SplitPlan, split_sizes
from factory.recipes import load_recipe

REPO = Path(__file__).resolve().parents[2]
SOURCES = {0: 300, 1: 170, 2: 2}  # priority -> documents


@pytest.mark.parametrize(
    "n, validation, test, expected",
    [
        (170, 0.01, 0.01, (2, 2)),  # 1.7 -> 2: nearest, where rounding down gives 1
        (149, 0.01, 0.01, (1, 1)),  # 1.49 -> 1
        (1000, 0.05, 0.02, (20, 50)),  # (test, validation): the order of the result
        (1000, 0.0123, 0.0187, (19, 12)),
        (3, 0.01, 0.01, (1, 1)),  # at least one of each from 3 documents
        (50, 0.01, 0.0, (0, 1)),  # ... unless that split is switched off
        (50, 0.0, 0.01, (1, 0)),
        (2, 0.01, 0.01, (0, 0)),  # below 3 documents no minimum
        (2, 0.3, 0.3, (1, 1)),  # 0.6 -> 1
    ],
)
def test_split_sizes_round_to_nearest(n, validation, test, expected):
    assert split_sizes(n, validation, test) == expected


def _docs() -> list[Document]:
    docs = []
    for prio, n in SOURCES.items():
        for rec in range(n):
            docs.append(
                Document(
                    text=f"doc {prio}/{rec}",
                    id=f"{prio}-{rec}",
                    metadata={"priority": prio, "key": [prio, rec % 7, rec]},
                )
            )
    return docs


def _planned_split_steps(seed: int, workdir: Path) -> tuple[SplitKeys, SplitPlan, SplitAssign]:
    recipe = load_recipe(REPO / "recipes" / "corpus_eu.yaml", [f"seed={seed}"])
    ctx = BuildContext.create(recipe, workdir=workdir)
    steps = [
        step for stage in kinds.get("corpus").plan().stages(recipe, ctx) for step in stage.pipeline
    ]
    pick = {
        cls: next(s for s in steps if isinstance(s, cls))
        for cls in (SplitKeys, SplitPlan, SplitAssign)
    }
    return pick[SplitKeys], pick[SplitPlan], pick[SplitAssign]


def _run_splits(seed: int, workdir: Path, tasks: int) -> list[tuple[str, str, str]]:
    """(id, text, split) of every document, in input order, with the steps run as `tasks` tasks."""
    keys, plan, assign = _planned_split_steps(seed, workdir)
    docs = _docs()
    shards = [docs[rank::tasks] for rank in range(tasks)]
    passed = [list(keys.run(iter(shard), rank, tasks)) for rank, shard in enumerate(shards)]
    assert passed == shards  # SplitKeys passes every document on untouched
    list(plan.run(None, 0, 1))
    out = {}
    for rank, shard in enumerate(passed):
        for doc in assign.run(iter(shard), rank, tasks):
            out[doc.id] = (doc.id, doc.text, doc.metadata["split"])
    return [out[doc.id] for doc in docs]


def _test_ids(rows) -> set[str]:
    return {i for i, _, split in rows if split == "test"}


def test_split_sizes_per_source_follow_split_sizes(tmp_path):
    rows = _run_splits(1234, tmp_path / "w", tasks=1)
    for prio, n in SOURCES.items():
        counts = Counter(split for i, _, split in rows if i.startswith(f"{prio}-"))
        n_test, n_val = split_sizes(n, 0.01, 0.01)
        assert counts == Counter({"test": n_test, "validation": n_val, "train": n - n_test - n_val})
        assert counts["test"] or n < 3


def test_seed_changes_which_documents_and_nothing_else(tmp_path):
    first = _run_splits(1, tmp_path / "a", tasks=1)
    second = _run_splits(2, tmp_path / "b", tasks=1)
    # same documents, same order, same split sizes
    assert [(i, t) for i, t, _ in first] == [(i, t) for i, t, _ in second]
    assert Counter(s for *_, s in first) == Counter(s for *_, s in second)
    # but other documents in test and validation
    assert _test_ids(first) != _test_ids(second)
    held_out = lambda rows: {i for i, _, s in rows if s != "train"}  # noqa: E731
    assert held_out(first) != held_out(second)


def test_same_seed_same_splits_whatever_the_task_count(tmp_path):
    one = _run_splits(7, tmp_path / "one", tasks=1)
    three = _run_splits(7, tmp_path / "three", tasks=3)
    assert one == three


def _direct(tmp_path, docs, validation, test, seed=3):
    keys = SplitKeys(str(tmp_path / "keys"), seed)
    plan = SplitPlan(str(tmp_path / "keys"), str(tmp_path / "plan.json"), validation, test)
    assign = SplitAssign(str(tmp_path / "plan.json"), seed)
    passed = list(keys.run(iter(docs)))
    list(plan.run())
    return list(assign.run(iter(passed))), assign, json.loads((tmp_path / "plan.json").read_text())


def test_a_source_taken_whole_by_test_and_validation(tmp_path):
    """When the sizes cover the whole source, the last cut-off lies past every hash."""
    docs = [d for d in _docs() if d.metadata["priority"] == 2]  # 2 documents
    assert split_sizes(2, 0.5, 0.5) == (1, 1)
    out, assign, plan = _direct(tmp_path, docs, 0.5, 0.5)
    assert sorted(d.metadata["split"] for d in out) == ["test", "validation"]
    assert plan["2"]["docs"] == 2 and plan["2"]["validation_below"] >= 2**64


def test_plan_counts_and_split_stats(tmp_path):
    out, assign, plan = _direct(tmp_path, _docs(), 0.01, 0.01)
    assert {prio: entry["docs"] for prio, entry in plan.items()} == {
        str(p): n for p, n in SOURCES.items()
    }
    counts = Counter(d.metadata["split"] for d in out)
    assert {k: assign.stats[k].total for k in ("train", "validation", "test")} == dict(counts)


def test_no_documents_gives_an_empty_plan(tmp_path):
    out, _, plan = _direct(tmp_path, [], 0.01, 0.01)
    assert out == [] and plan == {}


def test_no_key_files_at_all_gives_an_empty_plan(tmp_path):
    """No task wrote a key file (e.g. every input was empty): an empty plan, not a crash."""
    plan = SplitPlan(str(tmp_path / "never-written"), str(tmp_path / "plan.json"), 0.01, 0.01)
    list(plan.run())
    assert json.loads((tmp_path / "plan.json").read_text()) == {}
