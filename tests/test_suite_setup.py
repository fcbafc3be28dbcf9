"""The README's test command is the one CI runs, and the server groups the xdist scheduler keeps on
one worker name files that exist (a renamed file would otherwise start its server twice)."""

from __future__ import annotations

import re
from pathlib import Path

from support.server_groups import (
    SHARED_SERVER_GROUPS,
    SLOW_FILES,
    schedule_rank,
    shared_server_group,
)

REPO = Path(__file__).resolve().parent.parent


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in _bash_blocks((REPO / "README.md").read_text())
    assert "pytest -q -n 2" in ci


def test_server_groups_and_slow_files_name_existing_test_files():
    for path in [*SHARED_SERVER_GROUPS, *SLOW_FILES]:
        assert (REPO / path).is_file(), path


def test_clusters_go_first_then_the_other_groups_then_slow_files_then_the_rest():
    ranks = [
        schedule_rank(n)
        for n in (
            "tests/test_clusters.py::t",
            "tests/review/test_review_server.py::t",
            "tests/engines/test_transformers_serve.py::t",
            "tests/magpie/test_build.py::t",
            "tests/test_recipes.py::t",
        )
    ]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


def test_a_group_is_one_scope_and_other_files_are_their_own():
    assert shared_server_group("tests/test_clusters.py::test_a[1]") == shared_server_group(
        "tests/test_clusters.py::test_b"
    )
    assert shared_server_group("tests/review/test_review_server.py::test_x") == shared_server_group(
        "tests/review/test_review_browser.py::test_y"
    )
    assert shared_server_group("tests/test_build.py::test_a[x]") == "tests/test_build.py"
