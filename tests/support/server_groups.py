"""Which tests share one server or cluster per session (scheduling units under pytest-xdist)."""

from __future__ import annotations

# Test files that share one server or cluster per session: under pytest-xdist (the README's test
# command runs two workers) each group runs whole on one worker, so the server starts once.
# In the order they are handed out: the longest first.
# (A mapping, not `xdist_group` marks: pytest-xdist 3.8 cannot rename node ids under pytest 9.)
SHARED_SERVER_GROUPS = {
    "tests/test_clusters.py": "slurm-and-ray",
    "tests/review/test_review_browser.py": "argilla",
    "tests/review/test_review_pairwise.py": "argilla",
    "tests/review/test_review_server.py": "argilla",
    "tests/engines/test_transformers_serve.py": "transformers-serve",
    "tests/translate/test_backends.py": "transformers-serve",
}


def shared_server_group(nodeid: str) -> str:
    """The scheduling unit of a test: its server group, else its file (so module-scoped
    fixtures, such as a reference build, are made once)."""
    path = nodeid.split("::", 1)[0]
    return SHARED_SERVER_GROUPS.get(path, path)


# Files with several slow builds, handed out right after the server groups (longest first, so the
# two workers end together).
SLOW_FILES = (
    "tests/magpie/test_build.py",
    "tests/evaluate/test_lm_eval_tasks.py",
    "tests/translate/test_build.py",
    "tests/magpie/test_tags_build.py",
    "tests/corpus/test_corpus_resume.py",
    "tests/test_build.py",
)


def schedule_rank(nodeid: str) -> int:
    """Where a test's unit goes in the queue: server groups, then slow files, then the rest."""
    path = nodeid.split("::", 1)[0]
    order = [*dict.fromkeys(SHARED_SERVER_GROUPS.values()), *SLOW_FILES]
    unit = SHARED_SERVER_GROUPS.get(path, path)
    return order.index(unit) if unit in order else len(order)
