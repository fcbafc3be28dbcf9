"""Drop lists: the rows reviewers discarded, which the next build of their dataset excludes.

A drop list is JSONL, one `DropEntry` per row: the source repo, the commit the reviewers saw,
the row id and the reason (`review_discard`). A recipe names the published review dataset
(`org/name@revision`, immutable like any input) under `review_drops`; the build drops each
listed row with the reason `review_discard` through `ReviewDropFilter`, so the card counts it.
"""

from __future__ import annotations

import json

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import BaseModel, Field

from factory.errors import InputError

DROP_REASON = "review_discard"
DROPS_FILE = "drops.jsonl"


class DropEntry(BaseModel):
    source_repo: str = Field(..., description="Dataset the row was published in.")
    revision: str = Field(..., description="Commit sha the reviewers saw.")
    row_id: str = Field(..., description="The row's id in that dataset.")
    reason: str = Field(DROP_REASON, description="Why the row goes: `review_discard`.")
    detail: str | None = Field(None, description="Votes and the reviewers' reason label.")


def dumps(entries: list[DropEntry]) -> bytes:
    ordered = sorted(entries, key=lambda e: (e.source_repo, e.revision, e.row_id))
    return "".join(
        json.dumps(e.model_dump(), sort_keys=True, ensure_ascii=False) + "\n" for e in ordered
    ).encode()


def loads(data: bytes, where: str) -> list[DropEntry]:
    entries = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(DropEntry.model_validate_json(line))
        except ValueError:
            raise InputError(
                f"{where}: line {number} is not a drop entry (source_repo, revision, row_id)"
            ) from None
    return entries


def read_published(ref_text: str) -> list[DropEntry]:
    """The drop list of a published review dataset (`org/name@revision`)."""
    from factory import hub
    from factory.review.source import parse_ref

    ref = parse_ref(ref_text)
    store = hub.store_for(ref.repo_id)
    data = store.read_file(ref.repo_id, DROPS_FILE, store.resolve(ref.repo_id, ref.revision))
    if data is None:
        raise InputError(
            f"{ref_text}: no {DROPS_FILE} in it: not a review dataset from `factory review pull`"
        )
    return loads(data, f"{ref_text}:{DROPS_FILE}")


def drop_ids(refs: list[str], source_repo: str | None = None) -> dict[str, str]:
    """Row id -> detail, for the rows of `source_repo` (any repo when None) the lists drop."""
    ids: dict[str, str] = {}
    for ref in refs:
        for entry in read_published(ref):
            if source_repo is None or entry.source_repo == source_repo:
                ids[entry.row_id] = entry.detail or ""
    return ids


class ReviewDropFilter(BaseFilter):
    """Drop the documents whose id reviewers discarded; reason `review_discard`.

    Input: any documents (their `id` is the published row id). Drops: review_discard.
    """

    name = "🧑‍⚖️ Review discards"

    def __init__(self, row_ids: dict[str, str], exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.row_ids = row_ids

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.id in self.row_ids:
            doc.metadata["filter_detail"] = self.row_ids[doc.id]
            return False, DROP_REASON
        return True
