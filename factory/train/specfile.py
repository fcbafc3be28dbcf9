"""Read a downstream spec file (train or eval) into its pydantic model; every problem is one line."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from factory.errors import RecipeError
from factory.recipes import format_validation_error_for, read_yaml_mapping
from factory.refs import DatasetRef

M = TypeVar("M", bound=BaseModel)


def read_spec(path: str | Path, model: type[M], what: str) -> M:
    """`path` parsed as YAML and validated as `model`; `what` names the spec in messages."""
    path = Path(path)
    data = read_yaml_mapping(path, what)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RecipeError(format_validation_error_for(model, error, str(path))) from None


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
        raise ValueError(
            f"{field} is required: name the model's commit sha (or tag) so the run is reproducible"
        )
    from factory.refs import validate_revision

    return validate_revision(value.strip())
