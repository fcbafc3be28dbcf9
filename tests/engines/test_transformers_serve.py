"""The openai engine against a real `transformers serve` on loopback, serving the demo model.

What a user gets pointing a recipe at that server: the server kind detected, only fields it
accepts sent (no `stop_token_ids`, one choice per request), text prompts, stops applied, errors
as one line, and whole Magpie builds (instructions and responses) through it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from factory.engines import EngineSpec, SamplingParams, make_engine
from factory.errors import EngineError
from factory.store.git import GitStore

pytestmark = [pytest.mark.server, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FACTORY = [str(Path(sys.executable).with_name("factory"))]
PRE_QUERY = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"


def _engine(running, **extra):
    return make_engine(
        EngineSpec(type="openai", model=running.model, base_url=running.base_url, **extra)
    )


def _requests(server, route: str) -> int:
    return server.log.read_text().count(f'"POST /v1/{route} HTTP/1.1" 200')


def test_server_is_detected_and_n_choices_come_back(transformers_server):
    engine = _engine(transformers_server)
    assert engine.server == "transformers" and engine.concurrency == 1
    params = SamplingParams(max_tokens=8, n=2, seed=3, temperature=1.0, stop=["\n"])
    stop_id = engine.tokenizer.convert_tokens_to_ids("<|eot_id|>")
    params = params.model_copy(update={"stop_token_ids": [stop_id]})
    out = engine.generate([PRE_QUERY, PRE_QUERY + "Zer"], params)
    assert [len(c) for c in out] == [2, 2]  # n=2 as two requests: the server returns one choice
    for completions in out:
        for c in completions:
            assert "\n" not in c.text and "<|eot_id|>" not in c.text
            assert 1 <= c.completion_tokens == len(c.token_ids) <= 8
    # seeded per prompt and per choice: a rerun repeats every text
    assert engine.generate([PRE_QUERY, PRE_QUERY + "Zer"], params) == out


def test_a_field_the_server_refuses_is_one_line_with_its_answer(transformers_server):
    # told it is vLLM, the engine sends vLLM's extensions, which transformers serve refuses
    engine = _engine(transformers_server, server="vllm")
    with pytest.raises(EngineError) as caught:
        engine.generate([PRE_QUERY], SamplingParams(max_tokens=4, stop_token_ids=[1]))
    message = str(caught.value)
    assert "\n" not in message
    assert f"{transformers_server.base_url}/completions answered 422" in message
    assert "Unexpected fields" in message and "stop_token_ids" in message


def _build(server, home: Path, *overrides: str) -> subprocess.CompletedProcess:
    args = [
        "--set",
        "engine.type=openai",
        "--set",
        f"engine.base_url={server.base_url}",
        "--set",
        "magpie.n_instructions=12",
        "--set",
        "magpie.checkpoint_every=6",
        "--set",
        "executor.tasks=1",
        *overrides,
    ]
    return subprocess.run(
        [*FACTORY, "build", str(REPO / "recipes" / "magpie_eu.yaml"), "--demo", *args],
        env={**os.environ, "FACTORY_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=400,
    )


def test_magpie_build_through_the_server(transformers_server, tmp_path):
    """Instructions and responses through /v1/completions (a local model folder: its template)."""
    before = _requests(transformers_server, "completions")
    done = _build(
        transformers_server, tmp_path, "--set", f"engine.model={transformers_server.model}"
    )
    assert done.returncode == 0, done.stderr
    rows = GitStore(tmp_path / "store").load("local/magpie-eu-demo")["train"].to_list()
    assert rows
    for row in rows:
        assert [m["role"] for m in row["conversations"]] == ["user", "assistant"]
        assert all(m["content"].strip() for m in row["conversations"])
        assert row["model"] == transformers_server.model
    # 12 instructions, then one answer per kept instruction: all through the server
    assert _requests(transformers_server, "completions") - before >= 12 + len(rows)
    assert re.search(r"content hash: [0-9a-f]{64}", done.stdout)


def test_responses_without_a_local_tokenizer_go_through_the_chat_endpoint(
    transformers_server, tmp_path
):
    """A hub model id leaves the engine no tokenizer: the response step asks /v1/chat/completions."""
    from datatrove.data import Document

    from factory.magpie.conversation import add_turn
    from factory.magpie.recipe import Sampling
    from factory.magpie.stages import ResponseGenerator
    from factory.magpie.templates import resolve_template

    engine = _engine(transformers_server)
    engine.tokenizer = None  # as for a hub id (transformers serve only answers for its own model)
    step = ResponseGenerator(
        response=Sampling(max_tokens=12),
        instruction=Sampling(max_tokens=12),
        engine=engine.spec,
        template=resolve_template("llama3.1", system_prompt="Euskaraz erantzun."),
        seed=1,
        checkpoint_dir=str(tmp_path / "ck"),
        checkpoint_every=4,
    )
    step._engine = engine
    docs = []
    for i, question in enumerate(["Kaixo, zer moduz?", "Zer da Euskal Herria?"]):
        doc = Document(text="", id=f"d{i}")
        add_turn(doc, "user", question, {})
        docs.append(doc)
    before = _requests(transformers_server, "chat/completions")
    out = list(step.run(iter(docs)))
    assert [m["role"] for m in out[0].metadata["conversations"]] == ["user", "assistant"]
    assert all(d.metadata["conversations"][1]["content"].strip() for d in out)
    assert _requests(transformers_server, "chat/completions") - before == 2


def test_server_down_is_one_line_exit_2_before_any_work(tmp_path):
    done = _build(
        type("Down", (), {"base_url": "http://127.0.0.1:9/v1"})(),
        tmp_path,
        "--set",
        "engine.model=m",
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot reach http://127.0.0.1:9/v1/models" in lines[0]
    assert not list(tmp_path.rglob("HEAD")), "no repository was created in the store"
    assert not list(tmp_path.glob("builds/*/stages")), "no stage ran"
