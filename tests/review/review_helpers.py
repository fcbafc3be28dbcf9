"""Helpers of the review tests: run the CLI in-process, answer records as annotators."""

from __future__ import annotations

import sys
from unittest import mock

from argilla_stack import ANNOTATORS, WORKSPACE


def factory(capsys, *args: str) -> tuple[int, str, str]:
    """`factory ARGS` through `factory.cli.main` (its one-line errors and exit codes), in-process."""
    from factory.cli import main

    capsys.readouterr()
    code = 0
    with mock.patch.object(sys, "argv", ["factory", *args]):
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def client(stack, key: str | None = None):
    import argilla as rg

    return rg.Argilla(api_url=stack.api_url, api_key=key or stack.owner_key)


def dataset(stack, name: str):
    owner = client(stack)
    return owner.datasets(name=name, workspace=owner.workspaces(WORKSPACE))


def answer(stack, name: str, answers: dict[str, dict[str, dict]]) -> None:
    """Submit `answers[annotator][record id] = {question: value}`.

    Annotators' own response endpoints answer 500 on osmem ("update with script is not
    supported"), so the owner submits each response on the annotator's behalf, under the
    annotator's user id, through the SDK: the same records and responses Argilla stores.
    """
    import argilla as rg

    owner = client(stack)
    ds = dataset(stack, name)
    ids = {n: owner.users(n).id for n, _, _ in ANNOTATORS}
    existing = {r.id: r for r in ds.records(with_responses=False)}
    # one call per annotator, as each submits on their own (each answer gets its own time)
    for annotator, records in answers.items():
        ds.records.log(
            [
                rg.Record(
                    id=rid,
                    fields=dict(existing[rid].fields),
                    metadata=dict(existing[rid].metadata),
                    responses=[
                        rg.Response(q, v, user_id=ids[annotator], status="submitted")
                        for q, v in values.items()
                    ],
                )
                for rid, values in records.items()
            ]
        )
