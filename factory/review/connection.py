"""Connect to Argilla and say in one line why not (unreachable, refused key, SDK missing).

The API key comes from `--api-key` or `ARGILLA_API_KEY`; it is passed to the SDK and never
printed, logged or written anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from factory.errors import InputError, MissingDependency

URL_ENV = "ARGILLA_API_URL"
KEY_ENV = "ARGILLA_API_KEY"
DEFAULT_WORKSPACE = "latxa-review"


@dataclass(frozen=True)
class ArgillaTarget:
    """Where to push: server, key, workspace. `repr` hides the key."""

    api_url: str
    api_key: str
    workspace: str = DEFAULT_WORKSPACE

    def __repr__(self) -> str:
        return f"ArgillaTarget(api_url={self.api_url!r}, workspace={self.workspace!r})"

    @classmethod
    def from_options(
        cls, api_url: str | None, api_key: str | None, workspace: str | None
    ) -> ArgillaTarget:
        url = api_url or os.environ.get(URL_ENV)
        key = api_key or os.environ.get(KEY_ENV)
        if not url:
            raise InputError(
                f"no Argilla server: give --api-url or set {URL_ENV} (e.g. http://localhost:6900)"
            )
        if not key:
            raise InputError(f"no Argilla API key: give --api-key or set {KEY_ENV}")
        return cls(url.rstrip("/"), key, workspace or DEFAULT_WORKSPACE)


def _sdk():
    try:
        import argilla as rg
    except ImportError:
        raise MissingDependency(
            "Argilla review needs the Argilla SDK: pip install 'latxa-factory[argilla]'"
        ) from None
    return rg


def connect(target: ArgillaTarget):
    """An authenticated `argilla.Argilla` client; `InputError` (one line) when it cannot be."""
    rg = _sdk()
    from argilla._exceptions import ArgillaAPIError, ArgillaError

    try:
        client = rg.Argilla(api_url=target.api_url, api_key=target.api_key, timeout=30, retries=0)
        client.me  # noqa: B018 (an authenticated request: checks the URL and the key)
    except (ArgillaError, ArgillaAPIError, OSError) as error:
        text = str(error)
        status = getattr(error, "status_code", None)
        credentials = type(error).__name__ in ("ArgillaCredentialsError", "UnauthorizedError")
        if credentials or status == 401 or "401" in text or "Unauthorized" in text:
            raise InputError(
                f"Argilla at {target.api_url} refused the API key (401): check --api-key / {KEY_ENV}"
            ) from None
        raise InputError(
            f"Argilla at {target.api_url} is unreachable ({type(error).__name__}); is the server running?"
        ) from None
    except Exception as error:  # httpx errors surface as their own types
        if type(error).__module__.startswith("httpx"):
            raise InputError(
                f"Argilla at {target.api_url} is unreachable ({type(error).__name__}); is the server running?"
            ) from None
        raise
    return client


def workspace(client, name: str):
    """The workspace, created when missing (needs an owner key)."""
    rg = _sdk()
    found = client.workspaces(name)
    if found is not None:
        return found
    try:
        return rg.Workspace(name=name, client=client).create()
    except Exception as error:
        raise InputError(
            f"Argilla workspace {name!r} does not exist and cannot be created with this key ({type(error).__name__})"
        ) from None
