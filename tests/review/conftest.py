"""The Argilla stack for the review tests: started once per session, stopped by pid at the end.

Without the stack (no redis-server, no server venv) the server tests skip with the reason;
CI sets FACTORY_REQUIRE_ARGILLA=1 so that a missing stack fails instead of skipping.
"""

from __future__ import annotations

import os

import pytest
from argilla_stack import ArgillaStack, missing_parts


@pytest.fixture(scope="session")
def argilla_stack(tmp_path_factory):
    missing = missing_parts()
    if missing:
        if os.environ.get("FACTORY_REQUIRE_ARGILLA") == "1":
            pytest.fail(f"Argilla stack required but missing: {'; '.join(missing)}")
        pytest.skip(f"Argilla stack not installed: {'; '.join(missing)}")
    stack = ArgillaStack(tmp_path_factory.mktemp("argilla-stack"))
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    yield stack
    stack.stop()


@pytest.fixture
def argilla_env(argilla_stack, monkeypatch):
    """The environment a user would set: server URL and an owner key."""
    monkeypatch.setenv("ARGILLA_API_URL", argilla_stack.api_url)
    monkeypatch.setenv("ARGILLA_API_KEY", argilla_stack.owner_key)
    return argilla_stack
