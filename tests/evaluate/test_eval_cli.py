"""`factory eval-config`: writes pinned task files and the command; user errors are one line, exit 2."""

from __future__ import annotations

import yaml
from support.helpers import one_error_line, run_cli
from train_fixtures import conversation_files

from factory.store.git import GitStore

SPEC = """\
name: cli_suite
model: HiTZ/Latxa-Llama-3.1-8B-Instruct
model_revision: 0123456789abcdef0123456789abcdef01234567
tasks:
  - xcopa_eu
  - task: chat_eu
    dataset: {ref}
    output_type: generate_until
    doc_to_text: "{{{{conversations[0].content}}}}"
    doc_to_target: "{{{{conversations[1].content}}}}"
"""


def test_eval_config_writes_tasks_and_prints_command(tmp_path, factory_home):
    rev = GitStore().publish(
        "latxa/magpie-eu", conversation_files(tmp_path / "data"), message="v1", tag="v1"
    )
    spec = tmp_path / "eval.yaml"
    spec.write_text(SPEC.format(ref="latxa/magpie-eu@v1"))
    done = run_cli("eval-config", str(spec), "--out", str(tmp_path / "out"), home=factory_home)
    assert done.returncode == 0, done.stderr
    assert f"pinned latxa/magpie-eu@v1 -> {rev.sha} (local) for task chat_eu" in done.stdout
    assert done.stdout.splitlines()[-1].startswith(
        "lm_eval --model hf --model_args pretrained=HiTZ/Latxa-Llama-3.1-8B-Instruct,revision=0123"
    )
    task = yaml.safe_load((tmp_path / "out" / "chat_eu.yaml").read_text())
    assert (
        task["metadata"]["dataset_revision"] == rev.sha
        and task["doc_to_text"] == "{{conversations[0].content}}"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "chat_eu.yaml",
        "cli_suite.yaml",
        "command.sh",
        "lineage.json",
    ]


def test_eval_config_user_errors(tmp_path, factory_home):
    spec = tmp_path / "eval.yaml"
    spec.write_text(SPEC.format(ref="latxa/magpie-eu"))
    assert "tasks.1.dataset: dataset 'latxa/magpie-eu' is not pinned" in one_error_line(
        run_cli("eval-config", str(spec), home=factory_home)
    )
    spec.write_text(SPEC.format(ref="latxa/magpie-eu@v1") + "unknown_key: 1\n")
    assert "unknown_key: unknown field" in one_error_line(
        run_cli("eval-config", str(spec), home=factory_home)
    )


def test_run_with_a_python_lacking_lm_eval_is_one_line(tmp_path, factory_home):
    spec = tmp_path / "eval.yaml"
    spec.write_text(SPEC.format(ref="latxa/magpie-eu@v1"))
    line = one_error_line(
        run_cli("eval", str(spec), home=factory_home, LM_EVAL_PYTHON="/usr/bin/false")
    )
    assert line == (
        "error: LM_EVAL_PYTHON=/usr/bin/false cannot import lm_eval: "
        "point it at a python with lm-eval installed"
    )
