"""Translation backends on real models: the seq2seq demo MT model in process, and the LLM backend
through the engine interface, in process (transformers) and over HTTP (the loopback
OpenAI-compatible completions server wrapping the demo chat model).

`llm_backend` is parametrised over engines so a `transformers serve` case can be added beside.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from translate_fixtures import demo_chat_path, demo_mt_engine, demo_mt_path  # noqa: F401

from factory.engines.spec import SamplingParams
from factory.translate.backends import LLMBackend, Seq2SeqBackend
from factory.translate.messages import translate_messages
from factory.translate.recipe import FewShot, PromptSpec, Sampling, TranslateSpec
from factory.translate.structure import code_blocks, missing_spans

CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "How do I list files? Use `ls` please.\n\n```bash\nls -la\n```"},
    {
        "role": "assistant",
        "content": "Run `ls -la` in a terminal.\n\n1. Open the terminal\n2. Type the command",
    },
    {"role": "user", "content": "```python\nprint('only code')\n```"},
]


@contextmanager
def _transformers(chat_path):
    from factory.engines import EngineSpec, make_engine

    engine = make_engine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=8))
    yield engine, None


@contextmanager
def _openai(chat_path):
    from completions_server import serve

    from factory.engines import EngineSpec, make_engine

    served = make_engine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=8))
    with serve(served) as (url, seen):
        # a local model folder: the client loads its tokenizer (chat template) but not its weights
        engine = make_engine(
            EngineSpec(type="openai", model=str(chat_path), base_url=url, concurrency=2)
        )
        yield engine, seen
        engine.close()


@contextmanager
def _transformers_serve(chat_path, server):
    from factory.engines import EngineSpec, make_engine

    # a real OpenAI-compatible server (`transformers serve`, tests/support/openai_servers.py)
    engine = make_engine(EngineSpec(type="openai", model=server.model, base_url=server.base_url))
    yield engine, None
    engine.close()


ENGINES = {
    "transformers": _transformers,
    "openai": _openai,
    "transformers-serve": _transformers_serve,
}


def _spec(**prompt) -> TranslateSpec:
    return TranslateSpec(
        backend="llm",
        engine={"model": "demo:tiny-eu"},
        prompt=PromptSpec(**prompt),
        sampling=Sampling(max_tokens=24),
    )


@pytest.mark.parametrize("engine_name", list(ENGINES))
def test_llm_backend_translates_message_by_message_with_roles_order_and_code_kept(
    engine_name, demo_chat_path, request
):
    spec = _spec(few_shot=[FewShot(source="Good morning.", target="Egun on.")])
    server = (
        (request.getfixturevalue("transformers_server"),) if engine_name.endswith("serve") else ()
    )
    with ENGINES[engine_name](demo_chat_path, *server) as (engine, seen):
        backend = LLMBackend(engine, spec.prompt, spec)
        args = dict(roles={"system", "user", "assistant"}, max_chars=500)
        first, facts = translate_messages(CONVERSATION, backend, spec.sampling, 7, **args)
        again, _ = translate_messages(CONVERSATION, backend, spec.sampling, 7, **args)
    assert [m["role"] for m in first] == [m["role"] for m in CONVERSATION]
    assert first == again, "same seed, same translations"
    for source, target in zip(CONVERSATION, first):
        assert code_blocks(target["content"]) == code_blocks(source["content"])
        assert missing_spans(source["content"], target["content"]) == []
    assert first[3] == CONVERSATION[3] and facts[3].translated is False  # only code: not sent
    assert all(f.translated and f.units for f in facts[:3])
    assert first[2]["content"].split("\n")[2].startswith("1. ")  # list numbering kept
    if seen is not None:
        prompts = [r["body"]["prompt"] for r in seen]
        assert prompts and all(
            isinstance(p, list) for p in prompts
        )  # token ids, chat template applied


def test_llm_prompt_holds_system_few_shot_and_the_text_unformatted(demo_chat_path):
    from factory.engines import EngineSpec, make_engine

    spec = _spec(
        system="Translate from {source_name} to {target_name}.",
        instruction="{target_name}: {text}",
        few_shot=[FewShot(source="Hello.", target="Kaixo.")],
    )
    engine = make_engine(EngineSpec(model="demo:tiny-eu", device="cpu"))
    prompt = LLMBackend(engine, spec.prompt, spec).prompt_for("Print {name} with %s ⟦0⟧")
    assert "Translate from English to Basque." in prompt
    assert (
        prompt.index("Hello.")
        < prompt.index("Kaixo.")
        < prompt.index("Basque: Print {name} with %s ⟦0⟧")
    )
    assert prompt.rstrip().endswith("assistant<|end_header_id|>")


def test_seq2seq_demo_model_is_deterministic_and_reports_truncation(demo_mt_engine):
    texts = ["The weather is nice today.", "He said that the results will be published."]
    params = SamplingParams(temperature=0.0, max_tokens=48, seed=3)
    first = [c[0] for c in demo_mt_engine.generate(texts, params)]
    again = [c[0] for c in demo_mt_engine.generate(texts, params)]
    assert [c.text for c in first] == [c.text for c in again]
    assert all(c.text and c.prompt_tokens > 0 for c in first)
    short = demo_mt_engine.generate(texts, SamplingParams(temperature=0.0, max_tokens=2, seed=3))
    assert all(c[0].finish_reason == "length" and c[0].completion_tokens == 2 for c in short)


def test_seq2seq_backend_keeps_every_protected_span(demo_mt_engine):
    messages = [
        {
            "role": "user",
            "content": "Visit https://example.com/docs. Then run `make test` with {name} and %s.",
        },
        {
            "role": "assistant",
            "content": "| Name | Value |\n| --- | --- |\n| width | `w` |\n\n$$\nx^2\n$$",
        },
    ]
    out, facts = translate_messages(
        messages,
        Seq2SeqBackend(demo_mt_engine),
        Sampling(max_tokens=48),
        11,
        roles={"user", "assistant"},
        max_chars=500,
    )
    for source, target in zip(messages, out):
        assert missing_spans(source["content"], target["content"]) == []
    assert out[1]["content"].split("\n")[1] == "| --- | --- |"
    assert out[1]["content"].endswith("$$\nx^2\n$$")
    assert out[0]["content"] != messages[0]["content"]
