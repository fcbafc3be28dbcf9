"""How a conversation travels between Magpie stages inside a datatrove `Document`.

`doc.metadata["conversations"]` holds the turns (`{role, content}`), `doc.text` mirrors the newest
turn, and `doc.metadata["turns"]` holds per-turn generation facts (finish reason, token counts,
seed) in the same order. Filters read turns through these helpers only.
"""

from __future__ import annotations

from collections.abc import Iterable

from datatrove.data import Document

ROLES = ("user", "assistant")


def conversation(doc: Document) -> list[dict]:
    return doc.metadata.setdefault("conversations", [])


def turns(doc: Document, roles: Iterable[str] = ROLES) -> list[dict]:
    """The messages of `roles`, oldest first."""
    wanted = set(roles)
    return [m for m in conversation(doc) if m["role"] in wanted]


def add_turn(doc: Document, role: str, content: str, facts: dict) -> None:
    conversation(doc).append({"role": role, "content": content})
    doc.metadata.setdefault("turns", []).append(facts)
    doc.text = content


def tags(doc: Document) -> dict:
    """Scores filters record on the document (published as the row's `filter_tags`)."""
    return doc.metadata.setdefault("filter_tags", {})
