"""Issue 10: no wrong data with exit 0, one line for every user error, before any work.

Each test reproduces one fault found by killing, corrupting or feeding bad input to the spine
(the numbers are the issue's items); the store's faults are in test_store_faults.py.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support.helpers import cli_env, one_error_line, run_cli, write_echo_inputs, write_echo_recipe

from factory.builds import runner, verify
from factory.builds.context import BuildContext, _work_key, code_fingerprint, file_fingerprint
from factory.errors import BuildError, RecipeError
from factory.recipes import load_recipe, recipe_hash
from factory.store.git import GitStore

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def recipe(tmp_path) -> Path:
    write_echo_inputs(tmp_path / "in", files=3, rows=20)
    return write_echo_recipe(
        tmp_path / "echo.yaml", "in", extra="executor:\n  tasks: 3\n  workers: 1\n"
    )


def build(path: Path, *overrides: str, publish: bool = True):
    logs: list[str] = []
    result = runner.build(load_recipe(path, list(overrides)), publish=publish, log=logs.append)
    return result, "\n".join(logs)


def published_rows(repo: str = "test/echo") -> list[dict]:
    ds = GitStore().load(repo)
    return sorted((row for split in ds.values() for row in split.to_list()), key=lambda r: r["id"])


# --- 1. finished outputs are verified before they are reused or published ----------------


def test_1_tampered_or_lost_row_files_are_rerun_not_published(recipe):
    first, _ = build(recipe)
    reference = published_rows()
    rows = sorted(first.workdir.glob("rows/default/train/*.jsonl.gz"))
    assert len(rows) == 3
    with gzip.open(rows[0], "rt") as handle:
        lines = handle.readlines()
    with gzip.open(rows[0], "wt") as handle:  # a valid gzip holding fewer rows
        handle.writelines(lines[:2])
    rows[1].unlink()

    again, log = build(recipe)
    assert "cannot be reused" in log and "rerun after a failed check" in log
    assert again.dataset.total_rows == first.dataset.total_rows
    assert published_rows() == reference
    assert again.revision.sha == first.revision.sha and not again.revision.created


def test_1_a_row_file_no_task_wrote_stops_the_publish(recipe):
    first, _ = build(recipe, publish=False)
    stray = first.workdir / "rows" / "default" / "train" / "99999.jsonl.gz"
    with gzip.open(stray, "wt") as handle:
        handle.write(json.dumps({"id": "x", "text": "arrotza", "length": 7}) + "\n")
    with pytest.raises(BuildError, match="a row file no task of this build wrote"):
        build(recipe)
    assert not GitStore().exists("test/echo")


def test_1_manifest_records_rows_and_checksums_of_each_task(recipe):
    first, _ = build(recipe, publish=False)
    ctx_manifests = first.workdir / "stages" / "echo" / "manifests"
    total = 0
    for rank in range(3):
        record = verify.read_manifest(ctx_manifests, rank)
        assert record is not None and record.rank == rank
        for path, entry in record.files.items():
            assert verify.file_record(path).sha256 == entry.sha256
            if "/rows/" in path:
                total += entry.rows
    assert total == first.dataset.total_rows


# --- 2. the work dir key covers code, inputs as read, and the engine's server --------------


def test_2_changed_row_builder_does_not_reuse_old_rows(tmp_path, monkeypatch):
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    source = (REPO / "tests" / "support" / "echo_kind.py").read_text()
    module = plugin / "echo_variant.py"
    module.write_text(
        source.replace('kinds.Kind("echo"', 'kinds.Kind("echo_variant"').replace(
            'Literal["echo"] = "echo"', 'Literal["echo_variant"] = "echo_variant"'
        )
    )
    monkeypatch.syspath_prepend(str(plugin))
    import importlib

    import echo_variant  # noqa: F401  (registers the kind)

    write_echo_inputs(tmp_path / "in", files=2, rows=10)
    path = tmp_path / "variant.yaml"
    path.write_text(
        "kind: echo_variant\nname: variant\ninputs:\n  - path: in\noutput:\n  repo_id: test/variant\n"
        "card:\n  template: base.md.j2\nexecutor:\n  tasks: 2\n  workers: 1\n"
    )
    first, _ = build(path)
    module.write_text(module.read_text().replace('"length": len(doc.text)', '"length": -1'))
    importlib.reload(sys.modules["echo_variant"])
    code_fingerprint.cache_clear()  # a new process computes it afresh
    second, _ = build(path)
    assert second.workdir != first.workdir
    assert {row["length"] for row in published_rows("test/variant")} == {-1}
    code_fingerprint.cache_clear()


def test_2_input_readability_and_content_are_in_the_key(recipe, tmp_path):
    target = tmp_path / "in" / "part0.jsonl"
    readable = file_fingerprint(target)
    content = target.read_bytes()
    target.unlink()
    target.mkdir()  # cannot be read as a file (chmod is no barrier for root)
    assert "unreadable" in file_fingerprint(target)
    target.rmdir()
    target.write_bytes(content.replace(b"kaixo", b"agur!"))  # same size
    os.utime(target, ns=(0, 0))
    changed = file_fingerprint(target)
    os.utime(target, ns=(0, 0))
    assert changed != readable and "unreadable" not in changed


def test_2_engine_server_is_in_the_key_though_not_in_the_recipe_hash():
    path = REPO / "recipes" / "magpie_eu.yaml"
    a = load_recipe(path, ["engine.type=openai", "engine.base_url=http://127.0.0.1:8001/v1"])
    b = load_recipe(path, ["engine.type=openai", "engine.base_url=http://127.0.0.1:8002/v1"])
    assert recipe_hash(a) == recipe_hash(b)
    assert _work_key(a, recipe_hash(a), []) != _work_key(b, recipe_hash(b), [])


# --- 3. a source lost to quarantine stops the build --------------------------------------


@pytest.mark.slow
def test_3_a_source_of_random_bytes_stops_with_one_line(tmp_path, factory_home):
    (tmp_path / "good.jsonl").write_text(
        "".join(json.dumps({"text": f"Euskara hizkuntza ederra da {i}."}) + "\n" for i in range(5))
    )
    (tmp_path / "noise.txt").write_bytes(os.urandom(64 * 1024))
    path = tmp_path / "corpus.yaml"
    path.write_text(
        "kind: corpus\nname: noisy\nsources:\n"
        "  - {name: good, path: good.jsonl, reader: jsonl}\n"
        "  - {name: noise, path: noise.txt, reader: text_blocks}\n"
        "output:\n  repo_id: test/noisy\nexecutor:\n  tasks: 1\n"
    )
    done = run_cli("build", str(path), home=factory_home)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "source 'noise'" in lines[0] and "input_undecodable_bytes=" in lines[0]
    assert "[2/" not in done.stderr  # stopped after the read stage
    assert not GitStore(factory_home / "store").exists("test/noisy")


def test_3_quarantine_share_limit_is_overridable(recipe):
    ctx = BuildContext.create(load_recipe(recipe, ["quarantine.max_share=0.3"]))
    from factory.builds.stats import StepStats

    stats = runner.StageStats(name="read", tasks=1)
    name = ctx.inputs[0].name
    stats.steps = [StepStats("reader", {f"documents_{name}": 6, f"quarantined/{name}/input_x": 4})]
    with pytest.raises(BuildError, match=r"lost 40% of its records.*input_x=4"):
        runner.check_sources(ctx, stats)
    relaxed = BuildContext.create(load_recipe(recipe, ["quarantine.max_share=0.5"]))
    runner.check_sources(relaxed, stats)
    stats.steps = [StepStats("reader", {f"quarantined/{name}/input_x": 4})]
    with pytest.raises(BuildError, match="yields no usable document"):
        runner.check_sources(relaxed, stats)


# --- 5. two identical builds in one home ---------------------------------------------------


def test_5_a_second_identical_build_says_already_running(recipe, factory_home):
    first = subprocess.Popen(
        [sys.executable, "-m", "factory.cli", "build", str(recipe)]
        + ["--set", "echo.sleep_per_row=0.2", "--no-publish"],
        env=cli_env(FACTORY_HOME=str(factory_home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(factory_home.glob("builds/*/build.lock")):
            time.sleep(0.05)
        time.sleep(0.3)  # the pid is written just after the lock file appears
        with pytest.raises(BuildError, match=rf"already running \(pid {first.pid}\)"):
            build(recipe, "echo.sleep_per_row=0.2", publish=False)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    from factory.builds.lock import workdir_lock

    # a killed holder holds nothing, once its processes are gone: the pool's children may still
    # be exiting (closing the inherited lock) a moment after the parent was reaped
    deadline = time.monotonic() + 30
    while True:
        try:
            with workdir_lock(next(factory_home.glob("builds/*"))):
                break
        except BuildError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- 6, 10, 11. recipe errors at load time, one line each ---------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("output.branch=../x", "output.branch: invalid git ref name '../x'"),
        ("output.tag=v 1", "output.tag: invalid git ref name 'v 1'"),
        ("output.repo_id=test/corpus@v1", "output.repo_id: 'test/corpus@v1' names a revision"),
        ("name=../../..", "name: invalid name '../../..'"),
        ("executor.workers=0", "executor.workers: must be -1"),
        ("executor.workers=-3", "executor.workers: must be -1"),
        ("executor.options.colour=red", "unknown local executor option colour"),
        ("executor.options.tasks=3", "tasks cannot be set here"),
        ("seed=true", "seed: Input should be a valid integer"),
        ("seed='1234'", "seed: Input should be a valid integer"),
    ],
)
def test_6_bad_output_name_executor_and_seed_fail_at_load(recipe, extra, expected):
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe, [extra])
    assert len(info.value.problems) == 1
    assert expected in info.value.problems[0]
    assert f"(value from --set {extra})" in info.value.problems[0]  # item 11


def test_6_bad_tag_is_one_line_before_any_work(recipe, factory_home):
    done = run_cli("build", str(recipe), "--set", "output.tag=v 1", home=factory_home)
    assert "invalid git ref name" in one_error_line(done)
    assert not (factory_home / "builds").exists()


def test_6_duplicate_keys_are_an_error(tmp_path, recipe):
    bad = tmp_path / "dup.yaml"
    bad.write_text(recipe.read_text() + "seed: 2\n")
    with pytest.raises(RecipeError, match=r"duplicate key 'seed' \(first given at line 3\)"):
        load_recipe(bad)


def test_10_alias_bomb_and_huge_recipe_are_refused_quickly(tmp_path, recipe):
    levels = ["a0: &a0 [xxxxxxxxxx, xxxxxxxxxx, xxxxxxxxxx, xxxxxxxxxx]"]
    for i in range(1, 12):
        levels.append(f"    a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(recipe.read_text() + "  extra:\n    " + "\n".join(levels) + "\n")
    assert bomb.stat().st_size < 2000
    started = time.monotonic()
    with pytest.raises(RecipeError, match="expands to more than 1,000,000 characters"):
        load_recipe(bomb)
    assert time.monotonic() - started < 5
    huge = tmp_path / "huge.yaml"
    huge.write_text(recipe.read_text() + "description: '" + "x" * 1_100_000 + "'\n")
    with pytest.raises(RecipeError, match="at most 1,000,000 are allowed"):
        load_recipe(huge)


def test_11_corpus_input_errors_name_the_sources_field(tmp_path):
    path = tmp_path / "corpus.yaml"
    path.write_text(
        "kind: corpus\nname: c\nsources:\n  - {name: a, path: nowhere/*.jsonl, reader: jsonl}\n"
        "output:\n  repo_id: test/c\n"
    )
    from factory.builds.inputs import resolve_inputs
    from factory.errors import InputError

    with pytest.raises(InputError, match=r"sources\.0\.path: no file matches"):
        resolve_inputs(load_recipe(path))


# --- 7. an unwritable home is one line before any work -----------------------------------


def test_7_unwritable_factory_home(recipe, tmp_path):
    home = tmp_path / "home-file"
    home.write_text("not a folder")  # unwritable for root too, unlike chmod
    done = run_cli("build", str(recipe), home=home / "sub")
    line = one_error_line(done)
    assert "FACTORY_HOME" in line and "not writable" in line


# --- 8. a failing task: one line naming stage, rank and log; Ctrl-C says how to resume -------


def test_8_failing_task_is_one_line_with_stage_rank_and_log(recipe, tmp_path, factory_home):
    bad = tmp_path / "in" / "part1.jsonl"
    bad.write_text(bad.read_text() + '{"id": "odd", "text": 5}\n')  # a number: the filter raises
    done = run_cli("build", str(recipe), home=factory_home)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Aborted" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    assert "stage echo: task 1 failed" in errors[0]
    log = errors[0].split("log: ", 1)[1].split(";", 1)[0]
    assert log.endswith("task_00001.log") and Path(log).is_file()


def _sigint_as_in_a_terminal() -> None:
    # the build gets Ctrl-C as a user's shell would give it: a pytest worker may have inherited
    # SIGINT blocked or ignored (children inherit both), which is not what is under test here
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_8_ctrl_c_says_how_to_resume(recipe, factory_home):
    # rows slow enough (about 9 s a task) that a worker starved by a loaded machine still
    # interrupts the build, not a finished one
    proc = subprocess.Popen(
        [sys.executable, "-m", "factory.cli", "build", str(recipe)]
        + ["--set", "echo.sleep_per_row=0.5", "--no-publish"],
        env=cli_env(FACTORY_HOME=str(factory_home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_in_a_terminal,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(factory_home.glob("builds/*/build.lock")):
        time.sleep(0.05)
    time.sleep(0.5)
    signals = [
        line
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        if line.startswith(("SigBlk", "SigIgn", "SigCgt"))
    ]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (signals, err)
    assert "rerun the same command to resume" in err and "Traceback" not in err


def test_card_and_stats_leave_out_the_manifest_step(recipe):
    result, _ = build(recipe, publish=False)
    stats = json.loads(result.files["stats.json"])
    steps = [step["step"] for stage in stats["stages"] for step in stage["steps"]]
    assert not any(verify.MANIFEST_STEP_NAME in step for step in steps)
    assert stats["stages"][0]["rows_out"] == result.dataset.total_rows
    recipe_doc = yaml.safe_load(result.files["recipe.yaml"])
    assert recipe_doc["quarantine"] == {"max_share": 0.5}
