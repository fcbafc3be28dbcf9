"""Read a downstream spec file (train or eval) into its pydantic model; every problem is one line."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from factory.errors import RecipeError
from factory.recipes import format_validation_error_for
from factory.refs import DatasetRef

M = TypeVar("M", bound=BaseModel)


def read_spec(path: str | Path, model: type[M], what: str) -> M:
    """`path` parsed as YAML and validated as `model`; `what` names the spec in messages."""
    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise RecipeError(f"{origin}: {what} file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RecipeError(f"{origin}: not a UTF-8 text file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise RecipeError(f"{origin}: unreadable YAML at {where}: {problem}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{origin}: a {what} must be a YAML mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RecipeError(format_validation_error_for(model, error, origin)) from None


def pinned_dataset(value: str) -> str:
    """A pydantic validator body: `org/name@revision`, the revision required."""
    ref = DatasetRef.parse(value)
    if ref.revision is None:
        raise ValueError(
            f"dataset {value!r} is not pinned: write it as org/name@revision (a tag or commit sha)"
        )
    return str(ref)


def pinned_model_revision(value: str | None, field: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{field} is required: name the model's commit sha (or tag) so the run is reproducible")
    from factory.refs import validate_revision

    return validate_revision(value.strip())
