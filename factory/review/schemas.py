"""What annotators see for each kind of dataset: Argilla fields, questions and the row mapping.

A review kind is chosen from the columns of the published rows (or named with `--kind`):

| review kind    | rows that have                                   | fields                 |
| -------------- | ------------------------------------------------ | ---------------------- |
| `instructions` | `conversations` or `messages` (a chat)           | the chat               |
| `translations` | a source and a target text (`source_text`/`target_text`, `source`/`target`, `src`/`tgt`) | source beside target |
| `corpus`       | `text`                                           | the document           |
| `pairwise`     | `model_a`, `model_b`, `conv_a`, `conv_b`         | prompt, answer A, B    |

The schema is a plain description (`ReviewSchema`), turned into `argilla.Settings` only at
push time, so a dataset found on the server can be compared with the one we would create.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from factory.errors import InputError

ReviewKind = Literal["instructions", "translations", "corpus", "pairwise"]
REVIEW_KINDS: tuple[str, ...] = ("instructions", "translations", "corpus", "pairwise")

# metadata every record carries: where the row comes from, exactly
SOURCE_METADATA = ("source_repo", "revision", "row_id", "stratum")
KEEP_LABELS = {"keep": "Keep", "discard": "Discard"}
PAIR_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie"}
DISCARD_REASONS = {
    "not_basque": "Not Basque",
    "boilerplate": "Boilerplate / navigation",
    "low_quality": "Low quality text",
    "offensive": "Offensive or personal data",
    "duplicate": "Duplicate",
    "other": "Other (say in the comment)",
}


class FieldSpec(BaseModel):
    name: str
    title: str
    type: Literal["text", "chat"] = "text"


class QuestionSpec(BaseModel):
    name: str
    title: str
    type: Literal["rating", "label", "text"]
    labels: dict[str, str] | None = None  # label questions: value -> shown text
    values: list[int] | None = None  # rating questions
    required: bool = True


class ReviewSchema(BaseModel):
    kind: ReviewKind
    fields: list[FieldSpec]
    questions: list[QuestionSpec]
    metadata: list[str] = Field(default_factory=lambda: list(SOURCE_METADATA))
    # metadata annotators must not see (which model wrote which answer)
    hidden_metadata: list[str] = Field(default_factory=list)
    guidelines: str

    def signature(self) -> dict[str, Any]:
        """What must match for an existing Argilla dataset to be this schema."""
        return {
            "fields": sorted((f.name, f.type) for f in self.fields),
            "questions": sorted(
                (q.name, q.type, tuple(sorted(q.labels or {})), tuple(q.values or ()))
                for q in self.questions
            ),
        }


_KEEP = QuestionSpec(
    name="keep", title="Keep this row in the dataset?", type="label", labels=KEEP_LABELS
)
_COMMENT = QuestionSpec(name="comment", title="Comment (optional)", type="text", required=False)


def _rating(name: str, title: str) -> QuestionSpec:
    return QuestionSpec(name=name, title=title, type="rating", values=[1, 2, 3, 4, 5])


def _pair(name: str, title: str) -> QuestionSpec:
    return QuestionSpec(name=name, title=title, type="label", labels=PAIR_LABELS)


SCHEMAS: dict[str, ReviewSchema] = {
    "instructions": ReviewSchema(
        kind="instructions",
        fields=[FieldSpec(name="conversation", title="Conversation", type="chat")],
        questions=[
            _rating("quality", "Quality of the answer (1-5)"),
            QuestionSpec(
                name="basque",
                title="Is the Basque correct?",
                type="label",
                labels={
                    "correct": "Correct",
                    "minor_errors": "Minor errors",
                    "incorrect": "Incorrect",
                },
            ),
            _KEEP,
            _COMMENT,
        ],
        guidelines="Read the conversation. Rate the answer, judge its Basque, keep or discard the row.",
    ),
    "translations": ReviewSchema(
        kind="translations",
        fields=[
            FieldSpec(name="source", title="Source"),
            FieldSpec(name="target", title="Translation"),
        ],
        questions=[
            _rating("adequacy", "Adequacy: is the meaning kept? (1-5)"),
            _rating("fluency", "Fluency of the Basque (1-5)"),
            QuestionSpec(
                name="spans_broken",
                title="Are code, placeholders or markup broken?",
                type="label",
                labels={"no": "No", "yes": "Yes"},
            ),
            _KEEP,
            _COMMENT,
        ],
        guidelines="Compare the translation with its source: meaning, fluency, protected spans.",
    ),
    "corpus": ReviewSchema(
        kind="corpus",
        fields=[FieldSpec(name="text", title="Document")],
        questions=[
            _KEEP,
            QuestionSpec(
                name="reason",
                title="Why discard?",
                type="label",
                labels=DISCARD_REASONS,
                required=False,
            ),
            _COMMENT,
        ],
        guidelines="Keep the document if it is Basque prose worth training on; else say why not.",
    ),
    "pairwise": ReviewSchema(
        kind="pairwise",
        fields=[
            FieldSpec(name="prompt", title="Prompt", type="chat"),
            FieldSpec(name="response_a", title="Answer A"),
            FieldSpec(name="response_b", title="Answer B"),
        ],
        questions=[
            _pair("content", "Which answer is better on content?"),
            _pair("language", "Which answer has better Basque?"),
            _pair("overall", "Which answer is better overall?"),
        ],
        metadata=[*SOURCE_METADATA, "model_a", "model_b", "swapped"],
        hidden_metadata=["model_a", "model_b", "swapped"],
        guidelines="Two models answered the same prompt. Judge content, language and overall.",
    ),
}

_SOURCE_KEYS = ("source_text", "source", "src")
_TARGET_KEYS = ("target_text", "target", "tgt", "translation")


def detect_kind(columns: list[str], where: str) -> str:
    """The review kind the columns of a dataset suit; `InputError` when none does."""
    have = set(columns)
    if {"model_a", "model_b", "conv_a", "conv_b"} <= have:
        return "pairwise"
    if have & {"conversations", "messages"}:
        return "instructions"
    if have & set(_SOURCE_KEYS) and have & set(_TARGET_KEYS):
        return "translations"
    if "text" in have:
        return "corpus"
    raise InputError(
        f"{where}: cannot tell what to review from its columns ({', '.join(sorted(have)) or 'none'}); "
        "expected a chat (conversations/messages), source+target texts, text, or model_a/model_b/conv_a/conv_b"
    )


def _first(row: dict, keys: tuple[str, ...]) -> Any:
    return next((row[k] for k in keys if row.get(k) is not None), None)


def chat_of(row: dict) -> list[dict]:
    messages = row.get("conversations") or row.get("messages") or []
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def row_fields(kind: str, row: dict) -> dict[str, Any] | None:
    """The Argilla fields of one row, None when the row has nothing to show (it is skipped)."""
    if kind == "instructions":
        chat = [m for m in chat_of(row) if m["content"]]
        return {"conversation": chat} if chat else None
    if kind == "translations":
        source, target = _first(row, _SOURCE_KEYS), _first(row, _TARGET_KEYS)
        if not isinstance(source, str) or not isinstance(target, str) or not target.strip():
            return None
        return {"source": source, "target": target}
    if kind == "corpus":
        text = row.get("text")
        return {"text": text} if isinstance(text, str) and text.strip() else None
    raise ValueError(kind)


def row_id(row: dict, index: int) -> str:
    """The row's own id when it has one (`id`, `battle_id`), else its position in the revision."""
    for key in ("id", "battle_id"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return f"#{index}"


def stratum_of(kind: str, row: dict) -> str:
    """The group a row is sampled within: task category, source, or model pair."""
    if kind == "instructions":
        return str(row.get("control") or row.get("category") or row.get("task_category") or "all")
    if kind == "corpus":
        return str(row.get("source") or "all")
    if kind == "translations":
        return str(row.get("source_lang") or row.get("dataset") or "all")
    if kind == "pairwise":
        return " vs ".join(sorted([str(row["model_a"]), str(row["model_b"])]))
    return "all"
