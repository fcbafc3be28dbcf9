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
        with pytest.raises(EngineError, match=r"models answered 401") as caught:
            _engine(url, api_key_env="LATXA_TEST_KEY")  # refused at the first contact
    assert "wrong" not in str(caught.value) and "\n" not in str(caught.value)


def test_vllm_gets_its_extensions_and_one_request_per_prompt(demo_engine):
    with serve(demo_engine, owner="vllm") as (url, seen):
        engine = _engine(url)
        assert engine.server == "vllm" and engine.concurrency == 256
        engine.generate([PRE_QUERY], SamplingParams(max_tokens=3, n=3, stop_token_ids=[9], seed=1))
    (body,) = [r["body"] for r in seen]
    assert body["n"] == 3 and body["stop_token_ids"] == [9]
    # the template's BOS stays the only one: vLLM is told not to add its own
    assert body["add_special_tokens"] is False and body["prompt"] == PRE_QUERY
    assert body["skip_special_tokens"] is True


def test_servers_without_extensions_get_the_core_and_one_request_per_choice(demo_engine):
    with serve(demo_engine, owner="llamacpp") as (url, seen):
        engine = _engine(url)
        assert engine.server == "llamacpp"
        out = engine.generate(
            [PRE_QUERY], SamplingParams(max_tokens=6, n=3, stop_token_ids=[9], seed=1)
        )
    assert len(out[0]) == 3 and len(seen) == 3
    assert len({r["body"]["seed"] for r in seen}) == 3  # each choice its own seed
    for r in seen:
        assert not {"n", "stop_token_ids", "add_special_tokens", "skip_special_tokens"} & set(
            r["body"]
        )
        # no local tokenizer: the server adds the BOS itself, so the template's is left out
        assert r["body"]["prompt"] == PRE_QUERY.removeprefix("<|begin_of_text|>")


def test_openai_api_gets_at_most_four_stops_and_the_rest_is_cut_here(demo_engine):
    stops = ["\n", "zzz1", "zzz2", "zzz3", "a"]
    with serve(demo_engine, owner="openai") as (url, seen):
        engine = _engine(url)
        assert engine.server == "openai"
        out = engine.generate([PRE_QUERY], SamplingParams(max_tokens=16, stop=stops, seed=2))
    assert seen[0]["body"]["stop"] == stops[:4]
    assert "a" not in out[0][0].text


def test_transient_failures_are_retried(demo_engine):
    with serve(demo_engine, faults=[503, 429, 502]) as (url, seen):
        engine = _engine(url)
        out = engine.generate([PRE_QUERY], SamplingParams(max_tokens=4, seed=5))
    assert len(seen) == 4 and out[0][0].completion_tokens >= 1


def test_persistent_failure_stops_at_the_budget_in_one_line(demo_engine):
    with serve(demo_engine, faults=[503] * 50) as (url, _seen):
        engine = _engine(url, request_budget_s=1.5)
        with pytest.raises(EngineError, match=r"still failing after \d+ attempts") as caught:
            engine.generate([PRE_QUERY], SamplingParams(max_tokens=4))
    assert "503" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "expected"), [(400, "answered 400: .*injected 400"), ("garbage", "no JSON")]
)
def test_client_errors_and_non_json_fail_at_once(demo_engine, fault, expected):
    with serve(demo_engine, faults=[fault]) as (url, seen):
        engine = _engine(url)
        with pytest.raises(EngineError, match=expected):
            engine.generate([PRE_QUERY], SamplingParams(max_tokens=4))
    assert len(seen) == 1  # not retried
