"""`magpie_filter`: rule semantics, and the published counts match the rules on a hand-made tagged set."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.helpers import one_error_line, run_cli

from factory.magpie.rules import MAGPIE_RULES, Rule
from factory.store.git import GitStore

REPO = Path(__file__).resolve().parents[2]
QUALITIES = ["very poor", "poor", "average", "good", "excellent", "malformed", None]


def row(i: int, rng: random.Random) -> dict:
    instruction = rng.choice(["Explain rivers.", "List these:", "Why is snow white?", "Solve:"])
    return {
        "id": f"general_{i:08d}",
        "conversations": [
            {
                "role": "user",
                "content": f"{instruction} #{i}" if rng.random() < 0.5 else instruction,
            },
            {"role": "assistant", "content": "An answer."},
        ],
        "input_quality": rng.choice(QUALITIES),
        "instruct_reward": rng.choice([None, -30.0, -10.0, -9.99, 0.0, 4.5]),
        # every 5th row is a near duplicate of an earlier one; some rows carry no neighbour tag
        "min_similar_id": None if i % 7 == 0 else f"general_{(i - 1 if i % 5 == 0 else i):08d}",
    }


def expected_counts(rows: list[dict], rules: list[Rule]) -> tuple[list[int], list[int], int]:
    removed, fails, kept = [0] * len(rules), [0] * len(rules), 0
    for r in rows:
        failed = [i for i, rule in enumerate(rules) if not rule.holds(r)]
        for i in failed:
            fails[i] += 1
        if failed:
            removed[failed[0]] += 1
        else:
            kept += 1
    return removed, fails, kept


@pytest.fixture
def tagged(factory_home, tmp_path) -> list[dict]:
    rng = random.Random(7)
    rows = [row(i, rng) for i in range(300)]
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    GitStore(factory_home / "store").publish(
        "local/tagged-by-hand", {"data/train-00000-of-00001.parquet": path}, message="hand-made"
    )
    return rows


def test_rule_semantics():
    r = {
        "id": "a",
        "x": None,
        "q": "good",
        "s": -10.0,
        "conversations": [{"role": "user", "content": "Do:"}],
    }
    assert not Rule(column="x", op=">", value=1).holds(r)  # null fails ordering
    assert Rule(column="x", op="is_null").holds(r)
    assert Rule(column="x", op="null_or_equals_column", value="id").holds(r)
    assert not Rule(column="s", op=">", value=-10).holds(r)  # strict, as Magpie's `> -10`
    assert Rule(column="q", op="in", value=["good", "excellent"]).holds(r)
    assert not Rule(column="instruction", op="not_endswith", value=":").holds(r)
    with pytest.raises(ValueError, match="needs a list"):
        Rule(column="q", op="in", value="good")


def test_filtered_counts_match_the_rules_exactly(tagged, factory_home, tmp_path):
    done = run_cli(
        "build",
        str(REPO / "recipes" / "magpie_en_filtered.yaml"),
        "--demo",
        "--set",
        "inputs=[{dataset: local/tagged-by-hand@main}]",
        "--set",
        f"rules={json.dumps(MAGPIE_RULES)}",
        home=factory_home,
    )
    assert done.returncode == 0, done.stderr
    rules = [Rule(**r) for r in MAGPIE_RULES]
    removed, fails, kept = expected_counts(tagged, rules)
    store = GitStore(factory_home / "store")
    published = store.load("local/magpie-en-filtered-demo")["train"].to_list()
    assert [r["id"] for r in published] == [
        r["id"] for r in tagged if all(x.holds(r) for x in rules)
    ]
    assert len(published) == kept
    card = (store.snapshot("local/magpie-en-filtered-demo") / "README.md").read_text()
    for n, (rule, gone, failing) in enumerate(zip(rules, removed, fails), 1):
        assert f"| {n} | `{rule.label()}` | {gone:,} | {failing:,} |" in card
    assert f"{len(tagged)} rows in, {kept} kept" in card


def test_a_rule_on_a_missing_column_is_one_line_before_any_work(tagged, factory_home):
    done = run_cli(
        "build",
        str(REPO / "recipes" / "magpie_en_filtered.yaml"),
        "--demo",
        "--set",
        "inputs=[{dataset: local/tagged-by-hand@main}]",
        "--set",
        "rules=[{column: difficulty, op: in, value: [easy]}]",
        home=factory_home,
    )
    line = one_error_line(done)
    assert "rules.0: column 'difficulty' is not in the input dataset" in line
    assert not list((factory_home / "builds").glob("*/stages/filter/logs/completions/*"))
