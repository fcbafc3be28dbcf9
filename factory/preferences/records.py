"""The battle record: what the arena (Ebaluatoia, Chatbot Arena) logs for one pairwise vote.

Facts from the arena's code: `timestamp` (ISO 8601), `model_a`, `model_b`, `conv_a`, `conv_b`
(lists of `{role, content}`), `winner`, `winner_content`, `winner_language` (each `model_a`,
`model_b`, `tie`; Chatbot Arena logs also use `tie (bothbad)`), `username` and the generation
`hyperparameters`. Unknown keys are ignored on input (logs grow fields over time); the
published row is built from this model only, so nothing unlisted ever reaches a dataset.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
Dimension = Literal["overall", "content", "language"]

WINNER_VALUES: tuple[str, ...] = ("model_a", "model_b", "tie", "tie (bothbad)")
DIMENSIONS: tuple[str, ...] = ("overall", "content", "language")
# The record field that holds the vote of each dimension.
WINNER_FIELD: dict[str, str] = {
    "overall": "winner",
    "content": "winner_content",
    "language": "winner_language",
}
REQUIRED_FIELDS: tuple[str, ...] = (
    "timestamp",
    "model_a",
    "model_b",
    "conv_a",
    "conv_b",
    "winner",
    "winner_content",
    "winner_language",
)


def is_tie(winner: str) -> bool:
    return winner in ("tie", "tie (bothbad)")


def score_a(winner: str) -> float:
    """Model A's score in one vote: 1 win, 0.5 tie (half a win each, as in Chatbot Arena), 0 loss."""
    return {"model_a": 1.0, "model_b": 0.0}.get(winner, 0.5)


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"] = Field(..., description="Who wrote the message.")
    content: str = Field(..., description="The message text.")


class Battle(BaseModel):
    """One validated battle. `annotator` is the salted hash of the username, never the name."""

    model_config = ConfigDict(extra="ignore")

    timestamp: str = Field(..., description="When the vote was cast, ISO 8601 as logged.")
    model_a: str = Field(..., min_length=1, description="Model shown on the left.")
    model_b: str = Field(..., min_length=1, description="Model shown on the right.")
    conv_a: list[Message] = Field(..., description="Conversation with model A.")
    conv_b: list[Message] = Field(..., description="Conversation with model B.")
    winner: Winner = Field(..., description="Overall vote.")
    winner_content: Winner = Field(..., description="Vote on content.")
    winner_language: Winner = Field(..., description="Vote on the quality of the Basque.")
    hyperparameters: dict[str, Any] | None = Field(
        None, description="Generation settings as logged."
    )
    annotator: str | None = Field(None, description="Salted hash of the annotator's username.")
    # Ebaluatoia's published columns (HiTZ/ebaluatoia): the paper's participant figures use them
    id: str | None = Field(None, description="The arena's own id of the battle, as published.")
    user_language: str | None = Field(
        None, description="The voter's declared Basque level (CEFR), as published."
    )
    user_education: str | None = Field(
        None, description="The voter's declared education level, as published."
    )

    @field_validator("id", "user_language", "user_education", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> str | None:
        # ids may be published as numbers; anything else is kept as its text
        return None if value is None else str(value)

    @field_validator("timestamp")
    @classmethod
    def _iso_timestamp(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
        return value

    @field_validator("model_a", "model_b")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("empty model name")
        return value

    def vote(self, dimension: str) -> str:
        return getattr(self, WINNER_FIELD[dimension])

    @property
    def prompt(self) -> str:
        """The first user message: what the annotator asked both models."""
        return first_user_message(self.conv_a) or ""

    @property
    def battle_id(self) -> str:
        """Content address of the battle, independent of the salt and of the votes.

        Two logs of the same battle (a re-upload, a re-vote) share it; it is the duplicate key.
        """
        key = {
            "timestamp": self.timestamp,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "conv_a": [m.model_dump() for m in self.conv_a],
            "conv_b": [m.model_dump() for m in self.conv_b],
        }
        canonical = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def first_user_message(conversation: list[Message]) -> str | None:
    for message in conversation:
        if message.role == "user":
            return message.content
    return None
