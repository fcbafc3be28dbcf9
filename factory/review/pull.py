"""`factory review pull`: submitted answers -> a published review dataset, a report, a drop list.

Published files (one commit, like any dataset):

* `data/train-00000-of-00001.parquet`: one row per (record, annotator) submitted answer, with
  the source repo, commit and row id; annotators as salted hashes of their Argilla user id;
* `report.json`: counts per answer and, where several annotators answered a record, their
  agreement (share of agreeing annotator pairs) per question;
* `drops.jsonl`: rows a majority discarded (reason `review_discard`), for `review_drops`;
* pairwise reviews: `battles/history_<id>.json`, Ebaluatoia battle records (config `battles`).

Same answers give the same bytes: rows are sorted, times are the server's, nothing is random.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import yaml

from factory.errors import InputError
from factory.preferences.privacy import annotator_hash, annotator_salt
from factory.review import drops
from factory.review.arena import battle_record
from factory.review.connection import ArgillaTarget, connect
from factory.review.schemas import REVIEW_KINDS, SCHEMAS, SOURCE_METADATA

PAGE = 500


def fetch_records(client, dataset_id) -> list[dict]:
    """Every record with its responses (and their times), straight from the REST API."""
    records, offset = [], 0
    while True:
        response = client.http_client.get(
            f"/api/v1/datasets/{dataset_id}/records",
            params={"offset": offset, "limit": PAGE, "include": ["responses"]},
        )
        response.raise_for_status()
        items = response.json()["items"]
        records.extend(items)
        if len(items) < PAGE:
            return records
        offset += PAGE


def review_kind(dataset) -> str:
    names = {f.name for f in dataset.settings.fields}
    for kind in REVIEW_KINDS:
        if {f.name for f in SCHEMAS[kind].fields} == names:
            return kind
    raise InputError(
        f"Argilla dataset {dataset.name!r} was not made by `factory review push` (fields {sorted(names)})"
    )


@dataclass
class Answer:
    record: dict
    annotator: str
    submitted_at: str
    values: dict


def submitted_answers(records: list[dict], salt: bytes) -> list[Answer]:
    answers = []
    for record in records:
        for response in record.get("responses") or []:
            if response.get("status") != "submitted":
                continue
            values = {q: v.get("value") for q, v in (response.get("values") or {}).items()}
            answers.append(
                Answer(
                    record,
                    annotator_hash(str(response["user_id"]), salt),
                    response.get("updated_at") or response.get("inserted_at") or "",
                    values,
                )
            )
    return sorted(answers, key=lambda a: (a.record["external_id"] or "", a.annotator))


def review_rows(kind: str, answers: list[Answer]) -> list[dict]:
    questions = [q.name for q in SCHEMAS[kind].questions]
    # pairwise: which model was shown as A and B, and whether the sides were swapped
    shown = [m for m in SCHEMAS[kind].metadata if m not in SOURCE_METADATA]
    rows = []
    for a in answers:
        meta = a.record.get("metadata") or {}
        rows.append(
            {
                "record_id": a.record["external_id"],
                "source_repo": meta.get("source_repo"),
                "revision": meta.get("revision"),
                "row_id": meta.get("row_id"),
                "stratum": meta.get("stratum"),
                "annotator": a.annotator,
                "submitted_at": a.submitted_at,
                **{m: meta.get(m) for m in shown},
                **{q: a.values.get(q) for q in questions},
            }
        )
    return rows


def report(kind: str, answers: list[Answer]) -> dict:
    """Counts per answer, and per question the agreement on records answered more than once."""
    schema = SCHEMAS[kind]
    by_record: dict[str, list[Answer]] = defaultdict(list)
    for a in answers:
        by_record[a.record["external_id"]].append(a)
    questions = {}
    for q in schema.questions:
        if q.type == "text":
            questions[q.name] = {"answered": sum(1 for a in answers if a.values.get(q.name))}
            continue
        counts = Counter(str(a.values[q.name]) for a in answers if a.values.get(q.name) is not None)
        pairs = agree = multi = 0
        for group in by_record.values():
            values = [a.values.get(q.name) for a in group if a.values.get(q.name) is not None]
            if len(values) < 2:
                continue
            multi += 1
            for left, right in combinations(values, 2):
                pairs += 1
                agree += left == right
        questions[q.name] = {
            "counts": dict(sorted(counts.items())),
            "records_with_several_annotators": multi,
            "pairwise_agreement": round(agree / pairs, 4) if pairs else None,
        }
    return {
        "kind": kind,
        "records": len(by_record),
        "answers": len(answers),
        "annotators": len({a.annotator for a in answers}),
        "questions": questions,
    }


def drop_entries(answers: list[Answer]) -> list[drops.DropEntry]:
    """Rows a strict majority of their annotators discarded."""
    by_record: dict[str, list[Answer]] = defaultdict(list)
    for a in answers:
        if a.values.get("keep") in ("keep", "discard"):
            by_record[a.record["external_id"]].append(a)
    entries = []
    for group in by_record.values():
        votes = Counter(a.values["keep"] for a in group)
        if votes["discard"] * 2 <= len(group):
            continue
        meta = group[0].record.get("metadata") or {}
        reasons = sorted({str(a.values["reason"]) for a in group if a.values.get("reason")})
        detail = f"{votes['discard']}/{len(group)} reviewers discarded" + (
            f" ({', '.join(reasons)})" if reasons else ""
        )
        entries.append(
            drops.DropEntry(
                source_repo=meta["source_repo"],
                revision=meta["revision"],
                row_id=meta["row_id"],
                detail=detail,
            )
        )
    return entries


def battles(answers: list[Answer]) -> dict[str, dict]:
    """File name -> Ebaluatoia battle record, one per submitted pairwise answer."""
    out = {}
    for a in answers:
        record = battle_record(a.record, a.values, a.annotator, a.submitted_at)
        if record is not None:
            out[f"history_{a.record['external_id']}_{a.annotator}.json"] = record
    return out


def _parquet(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def _card(name: str, kind: str, summary: dict, n_drops: int, n_battles: int, license: str) -> bytes:
    configs = [
        {
            "config_name": "default",
            "default": True,
            "data_files": [{"split": "train", "path": "data/train-*"}],
        }
    ]
    if n_battles:
        configs.append(
            {"config_name": "battles", "data_files": [{"split": "train", "path": "battles/*.json"}]}
        )
    header = {
        "license": license,
        "language": ["eu"],
        "configs": configs,
        "tags": ["latxa-factory", "review"],
    }
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False).strip(),
        "---",
        "",
        f"# Review of `{name}` ({kind})",
        "",
        f"{summary['answers']} submitted answers on {summary['records']} records by "
        f"{summary['annotators']} annotators (salted hashes of their Argilla user ids).",
        "",
        f"Rows discarded by a majority: {n_drops} (`drops.jsonl`, reason `review_discard`).",
    ]
    if n_battles:
        lines += [
            "",
            f"Battle records in Ebaluatoia's format: {n_battles} (`battles/`, config `battles`).",
        ]
    lines += [
        "",
        "| question | answers | agreement (records with 2+ annotators) |",
        "| --- | --- | --- |",
    ]
    for q, stats in summary["questions"].items():
        counts = ", ".join(f"{k}: {v}" for k, v in stats.get("counts", {}).items()) or str(
            stats.get("answered", 0)
        )
        agreement = stats.get("pairwise_agreement")
        lines.append(
            f"| {q} | {counts} | {'n/a' if agreement is None else agreement} "
            f"({stats.get('records_with_several_annotators', 0)}) |"
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass
class PullResult:
    kind: str
    answers: int
    drops: int
    battles: int
    revision: object
    files: dict


def pull(
    name: str,
    target: ArgillaTarget,
    *,
    output: str,
    backend: str = "local",
    branch: str = "main",
    tag: str | None = None,
    out_dir: Path | None = None,
    license: str = "cc-by-sa-4.0",
) -> PullResult:
    from factory.hub import open_store
    from factory.refs import DatasetRef

    try:
        repo_id = DatasetRef.parse(output).repo_id
    except ValueError as error:
        raise InputError(f"--output {output}: {error}") from None
    salt = annotator_salt()  # before any request: no salt, no pull
    store = open_store(backend)  # type: ignore[arg-type]
    store.check_writable(repo_id)
    client = connect(target)
    space = client.workspaces(target.workspace)
    dataset = client.datasets(name=name, workspace=space) if space is not None else None
    if dataset is None:
        raise InputError(f"no Argilla dataset {name!r} in workspace {target.workspace!r}")
    kind = review_kind(dataset)
    answers = submitted_answers(fetch_records(client, dataset.id), salt)
    if not answers:
        raise InputError(f"Argilla dataset {name!r} has no submitted answers yet")
    summary = report(kind, answers)
    entries = drop_entries(answers)
    battle_files = battles(answers) if kind == "pairwise" else {}
    files: dict[str, bytes] = {
        "data/train-00000-of-00001.parquet": _parquet(review_rows(kind, answers)),
        "report.json": (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode(),
        drops.DROPS_FILE: drops.dumps(entries),
    }
    for file_name, record in sorted(battle_files.items()):
        files[f"battles/{file_name}"] = (
            json.dumps(record, ensure_ascii=False, indent=1) + "\n"
        ).encode()
    files["README.md"] = _card(name, kind, summary, len(entries), len(battle_files), license)
    revision = store.publish(
        repo_id, files, message=f"review pull of {name}", branch=branch, tag=tag
    )
    if out_dir is not None:
        for path, data in files.items():
            if path.startswith("data/"):
                continue
            target_path = Path(out_dir) / path
            target_path.parent.mkdir(parents=True, exist_ok=True)
            target_path.write_bytes(data)
    return PullResult(kind, len(answers), len(entries), len(battle_files), revision, files)
