"""Read the rows of a published dataset at a revision, for review."""

from __future__ import annotations

from dataclasses import dataclass

from factory.errors import InputError
from factory.refs import DatasetRef


@dataclass
class SourceRows:
    repo_id: str
    sha: str  # the commit the revision resolved to: records name it, never a branch
    rows: list[dict]
    columns: list[str]


def parse_ref(text: str) -> DatasetRef:
    try:
        ref = DatasetRef.parse(text)
    except ValueError as error:
        raise InputError(f"{text}: {error}") from None
    if ref.revision is None:
        raise InputError(
            f"{text}: give a revision, org/name@revision (a tag, branch or commit sha)"
        )
    return ref


def load_rows(text: str, config: str | None = None, split: str | None = None) -> SourceRows:
    """Every row of the config (the card's default when not named), all splits unless one is named."""
    from factory import hub
    from factory.builds.card_configs import card_configs, choose_config

    ref = parse_ref(text)
    store = hub.store_for(ref.repo_id)
    sha = store.resolve(ref.repo_id, ref.revision)  # RevisionNotFound: one line, exit 2
    configs = card_configs(store.snapshot(ref.repo_id, sha))
    if configs is not None:
        config = choose_config(configs, config, text).config_name
    dataset = store.load(ref.repo_id, sha, config=config)
    splits = [split] if split else list(dataset)
    missing = [s for s in splits if s not in dataset]
    if missing:
        raise InputError(f"{text}: no split {missing[0]!r} (allowed: {', '.join(dataset)})")
    rows: list[dict] = []
    for name in splits:
        rows.extend(dataset[name].to_list())
    if not rows:
        raise InputError(f"{text}: the dataset has no rows to review")
    return SourceRows(ref.repo_id, sha, rows, list(rows[0]))
