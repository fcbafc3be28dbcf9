"""Validation filters for battle records; every drop carries a `battle_*` reason.

Order in a pipeline: `BattleSchemaFilter` first (it turns `metadata["record"]` into a
validated `metadata["battle"]`), then the others in any order; `DuplicateBattleFilter` needs
to see every battle, so it runs in a single-task stage.

Drops (reasons): battle_unsupported_file, battle_malformed_json, battle_missing_field,
battle_unknown_winner, battle_invalid_field, battle_inconsistent_winner, battle_self_battle,
battle_empty_conversation, battle_mismatched_prompt, battle_unknown_model, battle_duplicate.
"""

from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import ValidationError

from factory.preferences.records import REQUIRED_FIELDS, WINNER_FIELD, WINNER_VALUES, Battle, is_tie

DROP_REASONS: tuple[str, ...] = (
    "battle_unsupported_file",
    "battle_malformed_json",
    "battle_missing_field",
    "battle_unknown_winner",
    "battle_invalid_field",
    "battle_inconsistent_winner",
    "battle_self_battle",
    "battle_empty_conversation",
    "battle_mismatched_prompt",
    "battle_unknown_model",
    "battle_duplicate",
)


def _drop(doc: Document, reason: str, detail: str) -> tuple[bool, str]:
    # the detail goes with the excluded document, the reason into the stats
    doc.metadata["filter_detail"] = detail
    return False, reason


def _same_vote(left: str, right: str) -> bool:
    return left == right or (is_tie(left) and is_tie(right))


class BattleSchemaFilter(BaseFilter):
    """Parse and validate one arena record into `metadata["battle"]` (a `Battle` dump).

    Input columns: `metadata["record"]` or `metadata["read_error"]` (from `BattleReader`).
    Output columns: `metadata["battle"]`; `doc.id` becomes the battle id, `doc.text` the prompt.
    Drops: battle_unsupported_file, battle_malformed_json, battle_missing_field,
    battle_unknown_winner, battle_invalid_field, battle_inconsistent_winner.
    """

    name = "🧾 Battle schema"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        error = doc.metadata.get("read_error")
        if error:
            return _drop(doc, error[0], error[1])
        record = doc.metadata.get("record")
        if not isinstance(record, dict):
            return _drop(
                doc,
                "battle_malformed_json",
                f"a battle must be a JSON object, got {type(record).__name__}",
            )
        missing = [key for key in REQUIRED_FIELDS if record.get(key) is None]
        if missing:
            return _drop(doc, "battle_missing_field", f"missing {', '.join(missing)}")
        for field in WINNER_FIELD.values():
            if record[field] not in WINNER_VALUES:
                return _drop(
                    doc,
                    "battle_unknown_winner",
                    f"{field}={str(record[field])[:40]!r} (allowed: {', '.join(WINNER_VALUES)})",
                )
        try:
            battle = Battle.model_validate(record)
        except ValidationError as invalid:
            first = invalid.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return _drop(doc, "battle_invalid_field", f"{where}: {first['msg']}")
        # the arena's overall vote equals the content vote when content and language agree
        if _same_vote(battle.winner_content, battle.winner_language) and not _same_vote(
            battle.winner, battle.winner_content
        ):
            return _drop(
                doc,
                "battle_inconsistent_winner",
                f"content and language both say {battle.winner_content} but winner is {battle.winner}",
            )
        doc.metadata.pop("record", None)
        doc.metadata["source_id"] = doc.id
        doc.metadata["battle"] = battle.model_dump(mode="json")
        doc.id = battle.battle_id
        doc.text = battle.prompt or doc.id
        return True


class SelfBattleFilter(BaseFilter):
    """Drop a model judged against itself: the vote says nothing about either side.

    Drops: battle_self_battle.
    """

    name = "🪞 Self battles"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        battle = doc.metadata["battle"]
        if battle["model_a"] == battle["model_b"]:
            return _drop(
                doc, "battle_self_battle", f"model_a and model_b are both {battle['model_a']!r}"
            )
        return True


def _user_turns(conversation: list[dict]) -> list[str]:
    return [m["content"].strip() for m in conversation if m["role"] == "user"]


def _has_turns(conversation: list[dict]) -> bool:
    roles = {m["role"] for m in conversation if m["content"].strip()}
    return {"user", "assistant"} <= roles


class ConversationFilter(BaseFilter):
    """Both conversations need a user turn and an answer, and A and B must answer the same prompts.

    Drops: battle_empty_conversation, battle_mismatched_prompt.
    """

    name = "💬 Conversations"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        battle = doc.metadata["battle"]
        for side in ("conv_a", "conv_b"):
            if not _has_turns(battle[side]):
                return _drop(
                    doc,
                    "battle_empty_conversation",
                    f"{side} lacks a non-empty user turn or answer",
                )
        if _user_turns(battle["conv_a"]) != _user_turns(battle["conv_b"]):
            return _drop(
                doc, "battle_mismatched_prompt", "the user turns of conv_a and conv_b differ"
            )
        return True


class ModelAllowListFilter(BaseFilter):
    """Keep only battles between models of an allow-list (`None` keeps every model).

    Drops: battle_unknown_model.
    """

    name = "📋 Model allow-list"

    def __init__(self, allowed: list[str] | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.allowed = set(allowed) if allowed is not None else None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.allowed is None:
            return True
        battle = doc.metadata["battle"]
        unknown = [battle[k] for k in ("model_a", "model_b") if battle[k] not in self.allowed]
        if unknown:
            return _drop(
                doc, "battle_unknown_model", f"not in the allow-list: {', '.join(unknown)}"
            )
        return True


class SortBattles(PipelineStep):
    """Order battles by (timestamp, battle id, source), whatever the number of reading tasks.

    The published order and which copy of a duplicate is kept ("the first") then depend on
    the data only. Holds the battles of the stage in memory (an arena log is small).
    """

    name = "🗂 Sort battles"
    type = "✂️ - FORMAT"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        docs = list(data)
        docs.sort(
            key=lambda d: (d.metadata["battle"]["timestamp"], d.id, d.metadata.get("source_id", ""))
        )
        self.stat_update("sorted", value=len(docs))
        yield from docs


class DuplicateBattleFilter(BaseFilter):
    """Keep the first log of each battle (same timestamp, models and conversations).

    Run it in a single-task stage: it remembers every battle id it has seen.
    Drops: battle_duplicate.
    """

    name = "👯 Duplicate battles"

    def __init__(self, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self._seen: set[str] = set()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.id in self._seen:
            return _drop(doc, "battle_duplicate", f"battle {doc.id} was already read")
        self._seen.add(doc.id)
        return True


def validation_filters(
    allowed_models: list[str] | None = None, writer_for=None
) -> list[BaseFilter]:
    """The per-record filters in their order; `writer_for(name)` gives each an exclusion writer."""
    made = []
    for cls, kwargs in (
        (BattleSchemaFilter, {}),
        (SelfBattleFilter, {}),
        (ConversationFilter, {}),
        (ModelAllowListFilter, {"allowed": allowed_models}),
    ):
        writer = writer_for(cls.__name__) if writer_for else None
        made.append(cls(exclusion_writer=writer, **kwargs))
    return made
