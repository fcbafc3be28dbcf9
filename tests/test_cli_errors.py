"""Every user error is one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

from support.helpers import one_error_line, write_echo_inputs, write_echo_recipe
from support.helpers import run_cli as run


def assert_one_line_error(done, *fragments):
    line = one_error_line(done)
    for fragment in fragments:
        assert fragment in line


def test_unknown_kind(tmp_path, factory_home):
    bad = tmp_path / "r.yaml"
    bad.write_text("kind: nonsense\nname: x\noutput: {repo_id: a/b}\n")
    assert_one_line_error(
        run("validate", str(bad), home=factory_home),
        str(bad),
        "kind: unknown kind 'nonsense'",
        "allowed kinds:",
    )


def test_unreadable_yaml(tmp_path, factory_home):
    bad = tmp_path / "r.yaml"
    bad.write_text("kind: echo\nname: 'open\n")
    assert_one_line_error(run("build", str(bad), home=factory_home), "unreadable YAML")


def test_missing_recipe_file(tmp_path, factory_home):
    assert_one_line_error(
        run("build", str(tmp_path / "none.yaml"), home=factory_home), "recipe file not found"
    )


def test_missing_input_file(tmp_path, factory_home):
    recipe = write_echo_recipe(tmp_path / "r.yaml", "no/such/*.jsonl")
    assert_one_line_error(
        run("build", str(recipe), home=factory_home),
        "inputs.0.path: no file matches 'no/such/*.jsonl'",
    )


def test_unknown_dataset_input_and_revision(tmp_path, factory_home):
    write_echo_inputs(tmp_path / "in")
    recipe = write_echo_recipe(tmp_path / "r.yaml", "in")
    assert run("build", str(recipe), "--set", "output.tag=v1", home=factory_home).returncode == 0
    recipe2 = tmp_path / "r2.yaml"
    recipe2.write_text(recipe.read_text().replace("  - path: in", "  - dataset: test/echo@v7"))
    assert_one_line_error(
        run("build", str(recipe2), home=factory_home),
        "has no revision 'v7'",
        "branches and tags: main, v1",
    )
    recipe2.write_text(recipe.read_text().replace("  - path: in", "  - dataset: test/other@v1"))
    assert_one_line_error(
        run("build", str(recipe2), home=factory_home), "dataset 'test/other' not found"
    )


def test_hub_publish_without_token(tmp_path, factory_home):
    write_echo_inputs(tmp_path / "in")
    recipe = write_echo_recipe(tmp_path / "r.yaml", "in")
    done = run("build", str(recipe), "--set", "output.backend=hub", home=factory_home)
    assert_one_line_error(done, "HF_TOKEN")


def test_several_problems_one_line_each(tmp_path, factory_home):
    bad = tmp_path / "r.yaml"
    bad.write_text("kind: echo\nseed: x\nexecutor: {tasks: 0}\n")
    done = run("validate", str(bad), home=factory_home)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith(f"error: {bad}: ") for line in lines)


def test_ls_unknown_repo(factory_home):
    assert_one_line_error(run("ls", "org/none", home=factory_home), "dataset 'org/none' not found")
    assert_one_line_error(run("ls", "bad name", home=factory_home), "invalid dataset")


def test_validate_ok(tmp_path, factory_home):
    write_echo_inputs(tmp_path / "in")
    recipe = write_echo_recipe(tmp_path / "r.yaml", "in")
    done = run("validate", str(recipe), home=factory_home)
    assert done.returncode == 0 and "ok (echo recipe, hash" in done.stdout


def test_explain_lists_every_field_with_its_description(tmp_path, factory_home):
    done = run("explain", "echo", home=factory_home)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "executor: How stages are run. (section)" in lines
    assert (
        "executor.tasks: Number of tasks (shards) a splittable stage is cut into. (default 2)"
        in lines
    )
    assert "echo.test_fraction: Share of rows in the test split. (default 0.25)" in lines
    assert "output.repo_id: Dataset repository, `org/name`. (required)" in lines
    assert_one_line_error(run("explain", "ech", home=factory_home), "explain: unknown kind 'ech'")
