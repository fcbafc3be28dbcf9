"""Load, override, validate and hash recipes.

A recipe is validated by the model of the kind its `kind` field names (`factory.kinds`). Every
problem in a recipe becomes one line: `file: dotted.field: what is wrong (what is allowed)`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from factory import kinds
from factory.errors import RecipeError
from factory.recipe_base import RecipeBase

# --- overrides -------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.0.c=value` -> (["a", "b", "0", "c"], value parsed as a YAML scalar)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"--set {text!r}: expected KEY=VALUE, e.g. --set executor.tasks=4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_override(data: dict, path: list[str], value: Any, *, origin: str) -> None:
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = ".".join(path[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) > len(node):
                raise RecipeError(
                    f"{origin}: {where}: list index {part!r} out of range (the list has {len(node)} items)"
                )
            index = int(part)
            if index == len(node):
                node.append({} if not last else value)
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise RecipeError(
                f"{origin}: {where}: cannot set a field inside a {type(node).__name__} value"
            )


# --- error formatting --------------------------------------------------------


def _model_at(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the field at `loc` (to list its allowed keys)."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _first_model(field.annotation)
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


# --- loading ------------------------------------------------------------------

# A recipe is a page of YAML; anything near these sizes is a mistake or an attack (an alias bomb
# expands a few hundred bytes into gigabytes when dumped for the card and the lineage).
MAX_RECIPE_BYTES = 1_000_000
MAX_EXPANDED_SIZE = 1_000_000  # scalars' characters plus one per node, aliases expanded


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: its keys may be overridden
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given at line {seen[key].start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        except TypeError:  # an unhashable key: the base constructor reports it
            break
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def expanded_size(data: Any, limit: int = MAX_EXPANDED_SIZE) -> int:
    """Size of `data` with every alias expanded, counted only up to just past `limit`.

    Walking an alias bomb in full takes exponential time; stopping at the limit keeps it cheap.
    """
    total = 0
    stack = [data]
    while stack:
        node = stack.pop()
        total += 1
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, (str, bytes)):
            total += len(node)
        if total > limit:
            return total
    return total


def read_yaml_mapping(path: Path, what: str, shape: str = "") -> dict:
    """A YAML file that must hold a mapping (a recipe, a train or eval spec); one line per problem."""
    origin = str(path)
    if not path.is_file():
        raise RecipeError(f"{origin}: {what} file not found")
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise RecipeError(
                f"{origin}: the {what} file is {size:,} bytes; at most {MAX_RECIPE_BYTES:,} are allowed "
                "(keep data in input files, not in the recipe)"
            )
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except OSError as error:
        raise RecipeError(f"{origin}: cannot read the {what} file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{origin}: not a UTF-8 text file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise RecipeError(f"{origin}: unreadable YAML at {where}: {problem}") from None
    if expanded_size(data) > MAX_EXPANDED_SIZE:
        raise RecipeError(
            f"{origin}: the {what} expands to more than {MAX_EXPANDED_SIZE:,} characters once its "
            "YAML aliases are resolved (nested aliases?); write the values out or make them smaller"
        )
    if not isinstance(data, dict):
        raise RecipeError(
            f"{origin}: a {what} must be a YAML mapping{shape}, got {type(data).__name__}"
        )
    return data


def read_recipe_data(path: Path) -> dict:
    return read_yaml_mapping(path, "recipe", " with a `kind` field")


def validate_recipe_data(
    data: dict, origin: str, overrides: dict[str, str] | None = None
) -> RecipeBase:
    known = kinds.available()
    kind = data.get("kind")
    if kind is None:
        raise RecipeError(
            f"{origin}: kind: required field is missing (allowed kinds: {', '.join(sorted(known))})"
        )
    if kind not in known:
        close = difflib.get_close_matches(str(kind), list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RecipeError(
            f"{origin}: kind: unknown kind {kind!r}{hint} (allowed kinds: {', '.join(sorted(known))})"
        )
    model = known[kind].recipe_model()
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RecipeError(format_validation_error_for(model, error, origin, overrides)) from None


def _override_for(where: str, overrides: dict[str, str] | None) -> str | None:
    """The `--set` (or demo override) that wrote the value at `where`, if one did."""
    for dotted, text in (overrides or {}).items():
        if where == dotted or where.startswith(dotted + ".") or dotted.startswith(where + "."):
            return text
    return None


def format_validation_error_for(
    model: type[BaseModel],
    error: ValidationError,
    origin: str,
    overrides: dict[str, str] | None = None,
) -> list[str]:
    lines = []
    for item in error.errors():
        loc = tuple(
            p
            for p in item["loc"]
            if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
        )
        where = ".".join(str(p) for p in loc) or "(top level)"
        message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            allowed = sorted(owner.model_fields) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = (
                f"unknown field{hint} (allowed: {', '.join(allowed)})"
                if allowed
                else "unknown field"
            )
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] != "value_error":
            given = item.get("input")
            if not isinstance(given, (dict, list)):
                message = f"{message} (got {given!r})"
        source = _override_for(where, overrides)
        lines.append(
            f"{origin}: {where}: {message}" + (f" (value from {source})" if source else "")
        )
    return lines


def load_recipe(
    path: str | Path, overrides: list[str] | None = None, *, demo: bool = False
) -> RecipeBase:
    """Read, override and validate a recipe file; raise `RecipeError` with one line per problem."""
    path = Path(path)
    data = read_recipe_data(path)
    origin = str(path)
    written: dict[str, str] = {}  # dotted path -> the override that set it, for error lines
    if demo:
        demo_overrides = data.get("demo") or {}
        if not isinstance(demo_overrides, dict) or not demo_overrides:
            raise RecipeError(
                f"{origin}: demo: --demo needs a non-empty `demo:` mapping of overrides in the recipe"
            )
        for key, value in demo_overrides.items():
            apply_override(
                data, str(key).split("."), copy.deepcopy(value), origin=f"{origin} (demo)"
            )
            written[str(key)] = f"the recipe's demo: {key}"
    for text in overrides or []:
        keys, value = parse_override(text)
        apply_override(data, keys, value, origin=f"{origin} (--set {text})")
        written[".".join(keys)] = f"--set {text}"
    if overrides and expanded_size(data) > MAX_EXPANDED_SIZE:
        raise RecipeError(
            f"{origin}: with the --set values the recipe expands to more than {MAX_EXPANDED_SIZE:,} characters"
        )
    recipe = validate_recipe_data(data, origin, written)
    recipe._base_dir = path.resolve().parent
    recipe._source = path.resolve()
    return recipe


def resolved_dump(recipe: RecipeBase) -> dict:
    """The recipe as plain JSON-able data, every default filled in."""
    return recipe.model_dump(mode="json")


def _drop(data: dict, dotted: str) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def recipe_hash(recipe: RecipeBase) -> str:
    """sha256 over the canonical JSON of the data-relevant fields of the resolved recipe."""
    data = resolved_dump(recipe)
    for dotted in recipe.hash_exclude:
        _drop(data, dotted)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
