"""Benchmarks lm-eval lacks: imported with a `kind: benchmark` recipe, then read by the suite's dataset tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from benchmark_fixtures import ROWS, publish_all
from support.helpers import run_cli

from factory.errors import InputError
from factory.evaluate import lm_eval_tasks
from factory.evaluate.spec import DatasetTask, EvalSpec
from factory.store.git import GitStore
from factory.train.specfile import read_spec

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "eval" / "latxa_instruct_suite.yaml"
LACKING = [
    "bertaqa_eu_global",
    "bertaqa_eu_local",
    "bertaqa_en_global",
    "bertaqa_en_local",
    "bl2mp",
    "mmlu_eu",
    "mmlu_en",
    "basqbbq",
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def benchmark_recipe(
    tmp_path: Path, name: str, splits: dict[str, list], required: list[str]
) -> Path:
    inputs = [
        {
            "name": split,
            "path": str(write_jsonl(tmp_path / name / f"{split.replace('/', '_')}.jsonl", rows)),
        }
        for split, rows in splits.items()
    ]
    recipe = {
        "kind": "benchmark",
        "name": name,
        "inputs": inputs,
        "benchmark": {"required_fields": required},
        "output": {"repo_id": f"latxa/{name}"},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_benchmark_recipe_publishes_config_splits_and_drops_bad_rows(tmp_path, factory_home):
    good = ROWS["bertaqa"]
    recipe = benchmark_recipe(
        tmp_path,
        "bertaqa",
        {
            "eu_local/test": [
                good,
                {**good, "question": "Bigarrena?"},
                "{broken",
                {"question": "x"},
            ],
            "en_local/test": [{**good, "question": "Which?"}, [1, 2]],
        },
        ["question", "candidates", "answer"],
    )
    done = run_cli("build", str(recipe), "--set", "output.tag=v1", home=factory_home)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = GitStore().load("latxa/bertaqa", "v1", config="eu_local")
    assert loaded["test"]["question"] == ["Zein da hiriburua?", "Bigarrena?"]
    assert GitStore().load("latxa/bertaqa", "v1", config="en_local")["test"]["question"] == [
        "Which?"
    ]
    card = GitStore().read_file(
        "latxa/bertaqa", "README.md", GitStore().resolve("latxa/bertaqa", "v1")
    )
    text = card.decode()
    # three rows dropped, each with its reason: an unparsable line, a missing field, a non-record
    [stats] = [line for line in text.splitlines() if line.startswith("| benchmark |")]
    assert stats.endswith("| `missing_field`: 1, `not_a_record`: 1, `unparsable_json`: 1 |")


def test_suite_names_every_missing_benchmark_then_resolves_once_published(tmp_path):
    spec = read_spec(SUITE, EvalSpec, "eval spec")
    assert len(spec.tasks) == 29
    assert [t.task for t in spec.tasks if isinstance(t, DatasetTask)] == LACKING
    with pytest.raises(InputError) as error:
        lm_eval_tasks.render(spec, tmp_path / "out")
    assert str(error.value).startswith("8 dataset task(s) name datasets that are not published: ")
    publish_all(tmp_path, only=["bertaqa"])
    with pytest.raises(
        InputError, match=r"^4 dataset task\(s\) .*: bl2mp \(latxa/bl2mp@v1\), mmlu_eu"
    ):
        lm_eval_tasks.render(spec, tmp_path / "out")
    publish_all(tmp_path, only=["bl2mp", "mmlu", "basqbbq"])
    result = lm_eval_tasks.write(spec, tmp_path / "out")
    assert [t.name for t in result.tasks] == LACKING
    fewshot = [
        (c[c.index("--num_fewshot") + 1], c[c.index("--tasks") + 1]) for c in result.commands
    ]
    assert fewshot[1] == ("4", "bbq,basqbbq") and len(fewshot[0][1].split(",")) == 27
    assert {"--apply_chat_template", "--fewshot_as_multiturn", "--log_samples"} <= set(
        result.commands[0]
    )


def test_suite_prompts_render_over_the_benchmark_rows(tmp_path):
    """Each generated task's prompt, choices and target, rendered with lm-eval's own Jinja helper."""
    from lm_eval.utils import apply_template

    publish_all(tmp_path)
    result = lm_eval_tasks.write(read_spec(SUITE, EvalSpec, "eval spec"), tmp_path / "out")
    rendered = {}
    for task in result.tasks:
        config, row = task.config, ROWS[task.pinned.repo_id.split("/")[1]]
        choices = config["doc_to_choice"]
        choices = choices if isinstance(choices, list) else apply_template(choices, row)
        target = config["doc_to_target"]
        target = row[target] if target in row else apply_template(target, row)
        rendered[task.name] = (
            apply_template(config["doc_to_text"], row),
            str(choices),
            str(target),
        )
    assert rendered["bertaqa_eu_local"] == (
        "Galdera: Zein da hiriburua?\nA: Gasteiz\nB: Bilbo\nC: Baiona\nErantzuna:",
        "['A', 'B', 'C']",
        "0",
    )
    assert rendered["mmlu_en"][0].endswith("D. 6\nAnswer:") and rendered["mmlu_en"][2] == "1"
    assert rendered["bl2mp"][1:] == ("['Etxera noa.', 'Etxera naiz joan noa.']", "0")
    assert rendered["basqbbq"][1:] == ("['a', 'b', 'ez dakit']", "2")
