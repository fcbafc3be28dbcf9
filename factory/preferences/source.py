"""Battles for `factory leaderboard SOURCE`: local logs (validated in-process) or a published dataset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from datatrove.utils.stats import PipelineStats

from factory.builds.stats import stage_stats_from
from factory.errors import FactoryError, InputError
from factory.preferences.ingest import BattleReader
from factory.preferences.validate import DuplicateBattleFilter, SortBattles, validation_filters
from factory.refs import DatasetRef


def battles_from_logs(
    paths: list[Path], allowed_models: list[str] | None = None
) -> tuple[list[dict], Counter]:
    """Validate arena logs with the build's own datatrove steps, in this process.

    Returns the valid battles (sorted, deduplicated) and the drop counts by reason.
    """
    steps = [
        BattleReader(paths),
        *validation_filters(allowed_models),
        SortBattles(),
        DuplicateBattleFilter(),
    ]
    data = None
    for step in steps:
        data = step(data, rank=0, world_size=1)
    battles = [doc.metadata["battle"] for doc in data]
    return battles, Counter(stage_stats_from("validate", PipelineStats(steps)).dropped)


def battles_from_dataset(ref_text: str, config: str | None = None) -> list[dict]:
    """Rows of the `default` config of a published preferences dataset (`org/name@revision`)."""

    try:
        ref = DatasetRef.parse(ref_text)
    except ValueError as error:
        raise InputError(str(error)) from None
    if ref.revision is None:
        raise InputError(
            f"{ref_text}: give a revision, org/name@revision (a tag, branch or commit sha)"
        )
    dataset = _load_config(ref, config, ref_text)
    rows = []
    for split in dataset:
        rows.extend(dataset[split].to_list())
    needed = {"model_a", "model_b", "winner", "winner_content", "winner_language"}
    if rows and not needed <= set(rows[0]):
        raise InputError(
            f"{ref_text}: not a preferences dataset (its rows lack {', '.join(sorted(needed - set(rows[0])))})"
        )
    return rows


def _load_config(ref: DatasetRef, config: str | None, where: str):
    """The rows of the config named, else of the card's default config (each battle once)."""
    from factory import hub
    from factory.builds.card_configs import card_configs, choose_config

    store = hub.store_for(ref.repo_id)
    folder = store.snapshot(ref.repo_id, ref.revision)
    configs = card_configs(folder)
    if configs is not None:
        config = choose_config(configs, config, where).config_name
    return store.load(ref.repo_id, ref.revision, config=config)


def load_battles(source: str, config: str | None = None) -> tuple[list[dict], Counter]:
    """A folder or file of logs, or `org/name@revision`; raises `InputError` when neither."""
    path = Path(source).expanduser()
    if path.exists():
        return battles_from_logs([path])
    if "/" in source and not source.startswith((".", "/", "~")):
        try:
            return battles_from_dataset(source, config), Counter()
        except FactoryError:
            raise
        except (ValueError, LookupError) as error:
            raise InputError(f"{source}: {error}") from None
    raise InputError(
        f"{source}: no such file or folder, and not a dataset reference org/name@revision"
    )
