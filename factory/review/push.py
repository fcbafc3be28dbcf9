"""`factory review push`: a seeded sample of a published dataset becomes an Argilla dataset.

Record ids are content addresses of (repo, commit, row id), so pushing the same sample again
updates the same records instead of adding copies, and a push that died half-way is resumed
by running it again. The dataset's schema is checked before any record is sent: an existing
dataset with other fields or questions is refused (one line) and left untouched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from factory.builds.seeds import derive_seed
from factory.errors import InputError
from factory.preferences.rows import assistant_answer, shared_prompt_length
from factory.review.connection import ArgillaTarget, connect, workspace
from factory.review.sampling import stratified_sample
from factory.review.schemas import (
    SCHEMAS,
    ReviewSchema,
    detect_kind,
    row_fields,
    row_id,
    stratum_of,
)
from factory.review.source import SourceRows, load_rows


@dataclass
class PreparedRecord:
    id: str
    fields: dict
    metadata: dict


def record_id(repo_id: str, sha: str, rid: str) -> str:
    return hashlib.sha256(f"{repo_id}@{sha}#{rid}".encode()).hexdigest()[:24]


def _pairwise_fields(row: dict, rid: str) -> tuple[dict, dict] | None:
    conv_a = [{"role": m["role"], "content": m["content"]} for m in row["conv_a"]]
    conv_b = [{"role": m["role"], "content": m["content"]} for m in row["conv_b"]]
    cut = shared_prompt_length(conv_a, conv_b)
    answer_a, answer_b = assistant_answer(conv_a[cut:]), assistant_answer(conv_b[cut:])
    if not cut or not answer_a or not answer_b:
        return None
    # which model is shown on the left is decided by the record alone (not the seed), so a
    # re-push never swaps the sides of a record someone already answered
    swapped = derive_seed(0, "pairwise-side", rid) % 2 == 1
    left, right = ("b", "a") if swapped else ("a", "b")
    answers = {"a": answer_a, "b": answer_b}
    fields = {
        "prompt": conv_a[:cut],
        "response_a": "\n\n".join(m["content"] for m in answers[left]),
        "response_b": "\n\n".join(m["content"] for m in answers[right]),
    }
    metadata = {
        "model_a": str(row[f"model_{left}"]),
        "model_b": str(row[f"model_{right}"]),
        "swapped": "yes" if swapped else "no",
    }
    return fields, metadata


def prepare_records(
    source: SourceRows, kind: str, sample: int, seed: int
) -> tuple[list[PreparedRecord], int]:
    """The sampled records (in row order) and how many sampled rows had nothing to show."""
    strata = [stratum_of(kind, row) for row in source.rows]
    chosen = stratified_sample(strata, sample, seed)
    records, skipped = [], 0
    for index in chosen:
        row = source.rows[index]
        rid = row_id(row, index)
        rec_id = record_id(source.repo_id, source.sha, rid)
        extra: dict = {}
        if kind == "pairwise":
            built = _pairwise_fields(row, rec_id)
            if built is None:
                skipped += 1
                continue
            fields, extra = built
        else:
            fields = row_fields(kind, row)
            if fields is None:
                skipped += 1
                continue
        metadata = {
            "source_repo": source.repo_id,
            "revision": source.sha,
            "row_id": rid,
            "stratum": strata[index],
            **extra,
        }
        records.append(PreparedRecord(rec_id, fields, metadata))
    return records, skipped


def argilla_settings(schema: ReviewSchema, min_submitted: int):
    import argilla as rg

    fields = [
        rg.ChatField(name=f.name, title=f.title, required=True)
        if f.type == "chat"
        else rg.TextField(name=f.name, title=f.title, required=True, use_markdown=False)
        for f in schema.fields
    ]
    questions = []
    for q in schema.questions:
        if q.type == "rating":
            questions.append(
                rg.RatingQuestion(name=q.name, title=q.title, values=q.values, required=q.required)
            )
        elif q.type == "label":
            questions.append(
                rg.LabelQuestion(name=q.name, title=q.title, labels=q.labels, required=q.required)
            )
        else:
            questions.append(rg.TextQuestion(name=q.name, title=q.title, required=q.required))
    metadata = [
        rg.TermsMetadataProperty(
            name=name, visible_for_annotators=name not in schema.hidden_metadata
        )
        for name in schema.metadata
    ]
    return rg.Settings(
        fields=fields,
        questions=questions,
        metadata=metadata,
        guidelines=schema.guidelines,
        distribution=rg.TaskDistribution(min_submitted=min_submitted),
    )


def existing_signature(dataset) -> dict:
    """The `ReviewSchema.signature()` of a dataset found on the server."""
    fields, questions = [], []
    for f in dataset.settings.fields:
        fields.append((f.name, "chat" if f.type == "chat" else "text"))
    for q in dataset.settings.questions:
        kind = {"rating": "rating", "label_selection": "label", "text": "text"}.get(q.type, q.type)
        labels = tuple(sorted(q.labels)) if kind == "label" else ()
        values = tuple(q.values) if kind == "rating" else ()
        questions.append((q.name, kind, labels, values))
    return {"fields": sorted(fields), "questions": sorted(questions)}


def _existing(client, name: str, space):
    import warnings

    with warnings.catch_warnings():  # the SDK warns when a dataset is not there yet
        warnings.simplefilter("ignore")
        return client.datasets(name=name, workspace=space)


def default_name(repo_id: str, kind: str) -> str:
    return f"{repo_id.replace('/', '--')}--{kind}"


@dataclass
class PushResult:
    dataset: str
    workspace: str
    kind: str
    records: int
    skipped: int
    url: str


def push(
    ref: str,
    target: ArgillaTarget,
    *,
    sample: int,
    seed: int = 0,
    kind: str | None = None,
    pairwise: bool = False,
    name: str | None = None,
    config: str | None = None,
    split: str | None = None,
    annotators: int = 1,
) -> PushResult:
    if sample < 1:
        raise InputError(f"--sample must be at least 1 (got {sample})")
    source = load_rows(ref, config, split)
    found = detect_kind(source.columns, ref)
    if pairwise:
        if found != "pairwise":
            raise InputError(
                f"{ref}: --pairwise needs rows with model_a, model_b, conv_a and conv_b "
                f"(this dataset has {', '.join(source.columns)})"
            )
        kind = "pairwise"
    elif kind is None:
        if found == "pairwise":
            raise InputError(f"{ref}: rows are model pairs: push them with --pairwise")
        kind = found
    schema = SCHEMAS[kind]
    name = name or default_name(source.repo_id, kind)

    import argilla as rg

    client = connect(target)
    space = workspace(client, target.workspace)
    dataset = _existing(client, name, space)
    if dataset is not None:
        have, want = existing_signature(dataset), schema.signature()
        if have != want:
            raise InputError(
                f"Argilla dataset {name!r} in workspace {target.workspace!r} already exists with another "
                f"schema (fields {[f for f, _ in have['fields']]}, questions {[q[0] for q in have['questions']]}; "
                f"a {kind} review needs fields {[f for f, _ in want['fields']]}): choose another --name"
            )
    records, skipped = prepare_records(source, kind, sample, seed)
    if not records:
        raise InputError(f"{ref}: none of the {sample} sampled rows has anything to review")
    if dataset is None:
        dataset = rg.Dataset(
            name=name, workspace=space, settings=argilla_settings(schema, annotators), client=client
        ).create()
    dataset.records.log([rg.Record(id=r.id, fields=r.fields, metadata=r.metadata) for r in records])
    return PushResult(name, target.workspace, kind, len(records), skipped, target.api_url)
