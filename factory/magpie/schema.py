"""The published Magpie row: `conversations` as Latxa-Instruct's axolotl configs read them, plus provenance.

No wall-clock time anywhere (Magpie's `created` field is left out), so a rebuild gives the
same content hash.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from factory.recipe_base import StrictModel


class Message(StrictModel):
    role: Literal["user", "assistant"] = Field(..., description="Who speaks.")
    content: str = Field(..., description="The turn's text, template leftovers stripped.")


class SamplingRecord(StrictModel):
    temperature: float = Field(..., description="Softmax temperature (0: greedy).")
    top_p: float = Field(..., description="Nucleus sampling mass.")
    max_tokens: int = Field(..., description="Most new tokens per turn.")


class TurnRecord(StrictModel):
    role: Literal["user", "assistant"] = Field(..., description="The turn this describes.")
    seed: int | None = Field(
        ...,
        description="Seed of the generate call that wrote the turn (derived from the recipe seed).",
    )
    finish_reason: Literal["stop", "length"] = Field(..., description="Why generation ended.")
    prompt_tokens: int = Field(..., description="Tokens in the prompt.")
    completion_tokens: int = Field(..., description="Tokens generated.")
    sanitize_class: float | None = Field(
        None,
        description="Magpie's sanitizer path for a sanitized instruction (0: unchanged); absent when not sanitized.",
    )


class FilterTags(StrictModel):
    language_score: float | None = Field(
        None, description="Lowest fraction of a turn in the row's language."
    )
    repetition: float | None = Field(
        None, description="Highest duplicate word n-gram fraction of a turn."
    )
    min_neighbor_distance: float | None = Field(
        None,
        description="1 - cosine similarity of the first instruction to its nearest earlier kept one.",
    )


class MagpieRow(StrictModel):
    id: str = Field(
        ..., description="`<control or general>_<index>`: stable across reruns of the recipe."
    )
    conversations: list[Message] = Field(
        ..., description="User and assistant turns, alternating, user first."
    )
    language: str = Field(..., description="ISO 639-1 code of the conversation.")
    model: str = Field(..., description="Model that wrote every turn.")
    model_revision: str | None = Field(..., description="Its revision (commit or content hash).")
    template: str = Field(..., description="Template family (or `custom`).")
    pre_query_template: str = Field(
        ..., description="The pre-query prompt the instruction continued."
    )
    control: str | None = Field(..., description="Magpie control task, if any.")
    system_prompt: str | None = Field(
        ..., description="System text in the prompts (not a turn of the conversation)."
    )
    instruction_sampling: SamplingRecord = Field(..., description="Sampling of user turns.")
    response_sampling: SamplingRecord = Field(..., description="Sampling of assistant turns.")
    seed: int = Field(..., description="The recipe seed every turn's seed derives from.")
    turns: list[TurnRecord] = Field(
        ..., description="Per-turn generation facts, in conversation order."
    )
    filter_tags: FilterTags = Field(..., description="Scores the filters computed on this row.")
