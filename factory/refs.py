"""`org/name@revision`: how datasets are referred to everywhere downstream."""

from __future__ import annotations

import re
from dataclasses import dataclass

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_BAD_REVISION = re.compile(r"(\.\.|[\s~^:?*\[\\]|@\{|^/|/$|\.lock$)")


def validate_revision(revision: str) -> str:
    """A branch, tag or commit sha; refuse what git would refuse as a ref name."""
    if not revision or _BAD_REVISION.search(revision):
        raise ValueError(
            f"invalid revision {revision!r}: use a branch, a tag or a 40-character commit sha"
        )
    return revision


def validate_ref_name(name: str) -> str:
    """A branch or tag name git accepts (`git check-ref-format` rules), checked before any work."""
    parts = name.split("/")
    bad = (
        not name
        or _BAD_REVISION.search(name)
        or any(ord(c) < 32 or c == "\x7f" for c in name)
        or name == "@"
        or name.endswith(".")
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)
    )
    if bad:
        raise ValueError(
            f"invalid git ref name {name!r}: no spaces, '..', '~^:?*[\\', control characters, "
            "empty or dot-leading path parts, or trailing '.', '/' or '.lock'"
        )
    return name


@dataclass(frozen=True)
class DatasetRef:
    """A dataset repository and, optionally, a revision in it."""

    repo_id: str
    revision: str | None = None

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        repo_id, sep, revision = text.strip().partition("@")
        if "/" not in repo_id:
            raise ValueError(f"invalid dataset {text!r}: write it as org/name or org/name@revision")
        try:
            validate_repo_id(repo_id)
        except HFValidationError as error:
            raise ValueError(f"invalid dataset {text!r}: {error}") from None
        if sep:
            validate_revision(revision)
        return cls(repo_id, revision or None)

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id
