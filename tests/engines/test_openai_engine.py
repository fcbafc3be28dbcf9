"""The openai engine against a real OpenAI-compatible HTTP server on loopback (demo model inside)."""

from __future__ import annotations

import pytest
from completions_server import serve

from factory.engines import EngineSpec, SamplingParams, make_engine
from factory.errors import EngineError

PRE_QUERY = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"

pytestmark = pytest.mark.server


def _engine(base_url: str, model: str = "demo", **extra):
    return make_engine(EngineSpec(type="openai", model=model, base_url=base_url, **extra))


def test_completions_come_back_per_prompt_in_order(demo_engine):
    with serve(demo_engine) as (url, seen):
        engine = _engine(url, concurrency=3)
        prompts = [
            PRE_QUERY,
            PRE_QUERY + "Zein",
            PRE_QUERY + "Nor",
            PRE_QUERY + "Noiz",
            PRE_QUERY + "Non",
        ]
        out = engine.generate(
            prompts, SamplingParams(max_tokens=6, n=2, seed=4, temperature=0.9, top_p=0.95)
        )
    assert [len(c) for c in out] == [2] * 5
    assert len(seen) == 5
    sent = {r["body"]["prompt"]: r["body"] for r in seen}
    assert set(sent) == set(prompts)
    body = sent[PRE_QUERY]
    assert (body["model"], body["max_tokens"], body["n"], body["temperature"], body["top_p"]) == (
        "demo",
        6,
        2,
        0.9,
        0.95,
    )
    for completions in out:
        for c in completions:
            assert c.finish_reason in ("stop", "length") and 1 <= c.completion_tokens <= 6
            assert c.token_ids == []  # "demo" is no local folder: no tokenizer, counts from usage
    # the server's own engine, asked directly with the same prompt and seed, answers the same
    direct = demo_engine.generate(
        [PRE_QUERY + "Zein"],
        SamplingParams(
            max_tokens=6, n=2, seed=sent[PRE_QUERY + "Zein"]["seed"], temperature=0.9, top_p=0.95
        ),
    )
    assert [c.text for c in out[1]] == [c.text for c in direct[0]]


def test_repeated_prompts_get_their_own_seeds_and_reruns_repeat(demo_engine):
    with serve(demo_engine) as (url, seen):
        engine = _engine(url)
        params = SamplingParams(max_tokens=12, seed=11)
        first = engine.generate([PRE_QUERY] * 6, params)
        again = engine.generate([PRE_QUERY] * 6, params)
    assert first == again
    assert len({r["body"]["seed"] for r in seen}) == 6
    assert len({cs[0].text for cs in first}) > 1


def test_stop_and_token_id_prompts_reach_the_server(demo_engine, demo_model_path):
    ids = demo_engine.tokenizer(PRE_QUERY, add_special_tokens=False)["input_ids"]
    with serve(demo_engine) as (url, seen):
        # a local model folder: the engine loads its tokenizer and reports token ids
        engine = _engine(url, model=str(demo_model_path))
        (greedy,) = engine.generate([ids], SamplingParams(temperature=0, max_tokens=16))[0]
        stop = greedy.text[2:4]
        (cut,) = engine.generate(
            [ids], SamplingParams(temperature=0, max_tokens=16, stop=[stop], stop_token_ids=[7])
        )[0]
    assert seen[0]["body"]["prompt"] == ids
    assert seen[1]["body"]["stop"] == [stop] and seen[1]["body"]["stop_token_ids"] == [7]
    assert greedy.token_ids and greedy.completion_tokens == len(greedy.token_ids)
    assert (
        cut.finish_reason == "stop"
        and greedy.text.startswith(cut.text)
        and len(cut.text) < len(greedy.text)
    )


def test_api_key_is_sent_from_the_environment_and_never_kept(demo_engine, monkeypatch):
    monkeypatch.setenv("LATXA_TEST_KEY", "sk-secret-123")
    with serve(demo_engine, api_key="sk-secret-123") as (url, seen):
        engine = _engine(url, api_key_env="LATXA_TEST_KEY")
        engine.generate([PRE_QUERY], SamplingParams(max_tokens=2))
        assert seen[0]["headers"]["Authorization"] == "Bearer sk-secret-123"
        assert "sk-secret-123" not in repr(vars(engine)) + repr(engine.spec)
        monkeypatch.setenv("LATXA_TEST_KEY", "wrong")
        bad = _engine(url, api_key_env="LATXA_TEST_KEY")
        with pytest.raises(EngineError, match=r"answered 401") as caught:
            bad.generate([PRE_QUERY], SamplingParams(max_tokens=2))
    assert "wrong" not in str(caught.value)
