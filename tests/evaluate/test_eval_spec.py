"""Eval suite specs: task names, dataset tasks pinned, output types consistent, no secrets in model_args."""

from __future__ import annotations

import pytest

from factory.errors import RecipeError
from factory.evaluate.spec import DatasetTask, EvalSpec
from factory.train.specfile import read_spec

GOOD = """\
name: suite
model: HiTZ/Latxa-Llama-3.1-8B-Instruct
model_revision: 0123456789abcdef0123456789abcdef01234567
tasks:
  - xcopa_eu
  - task: qa_eu
    dataset: latxa/qa-eu@v1
    output_type: multiple_choice
    doc_to_text: "{{question}}"
    doc_to_target: label
    doc_to_choice: "{{choices}}"
"""


def problems(tmp_path, text) -> list[str]:
    path = tmp_path / "eval.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError) as error:
        read_spec(path, EvalSpec, "eval spec")
    return error.value.problems


def test_good_spec(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text(GOOD)
    spec = read_spec(path, EvalSpec, "eval spec")
    assert spec.tasks[0] == "xcopa_eu" and isinstance(spec.tasks[1], DatasetTask)
    assert (spec.tasks[1].test_split, spec.tasks[1].version, spec.seed) == ("test", 1.0, 1234)


def test_unpinned_dataset_task(tmp_path):
    [line] = problems(tmp_path, GOOD.replace("latxa/qa-eu@v1", "latxa/qa-eu"))
    assert "tasks.1.dataset: dataset 'latxa/qa-eu' is not pinned" in line


def test_multiple_choice_needs_choices(tmp_path):
    [line] = problems(tmp_path, GOOD.replace('    doc_to_choice: "{{choices}}"\n', ""))
    assert line.endswith(
        "tasks.1: output_type multiple_choice needs doc_to_choice (a template or a list of choices)"
    )


def test_generation_kwargs_only_for_generate_until(tmp_path):
    [line] = problems(tmp_path, GOOD + "    generation_kwargs: {max_gen_toks: 5}\n")
    assert (
        "generation_kwargs is only for generate_until tasks (this one is multiple_choice)" in line
    )


def test_bad_task_name_duplicates_and_suite_clash(tmp_path):
    assert (
        "task name 'xcopa eu' may hold only"
        in problems(tmp_path, GOOD.replace("  - xcopa_eu", "  - xcopa eu"))[0]
    )
    assert (
        "repeated: xcopa_eu"
        in problems(tmp_path, GOOD.replace("  - xcopa_eu", "  - xcopa_eu\n  - xcopa_eu"))[0]
    )
    assert (
        "the suite name 'xcopa_eu' is also a task name"
        in problems(tmp_path, GOOD.replace("name: suite", "name: xcopa_eu"))[0]
    )


def test_model_args_never_hold_tokens_or_revision(tmp_path):
    [line] = problems(tmp_path, GOOD + "model_args: {token: hf_secret, dtype: bfloat16}\n")
    assert "model_args: token cannot be set here" in line and "hf_secret" not in line
    [line] = problems(tmp_path, GOOD + "model_args: {dtype: 'a,b'}\n")
    assert "model_args.dtype: 'a,b' may not contain" in line


def test_missing_model_revision(tmp_path):
    [line] = problems(
        tmp_path,
        GOOD.replace(
            "model_revision: 0123456789abcdef0123456789abcdef01234567\n", "model_revision: ''\n"
        ),
    )
    assert "model_revision: model_revision is required" in line
