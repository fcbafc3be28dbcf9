"""The tiny Basque demo model: Llama 3 tokens and template, cache, determinism, Basque output."""

from __future__ import annotations

import json
import os

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from factory.demo.model import (
    DEMO_MODEL_ID,
    SPECIAL_TOKENS,
    STEPS_ENV,
    DemoModelConfig,
    demo_model_dir,
    demo_revision,
    ensure_demo_model,
)
from factory.engines import SamplingParams
from factory.langid import basque_fraction

PRE_QUERY = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
# a config that builds in a few seconds: only the builder's mechanics are tested with it
QUICK = DemoModelConfig(
    vocab_size=400,
    hidden_size=16,
    intermediate_size=32,
    num_attention_heads=2,
    num_key_value_heads=1,
    train_steps=3,
    batch_size=2,
    train_len=32,
)


def test_tokenizer_has_llama3_specials_and_chat_template(demo_model_path):
    tok = AutoTokenizer.from_pretrained(demo_model_path)
    for token in SPECIAL_TOKENS:
        ids = tok(token, add_special_tokens=False)["input_ids"]
        assert ids == [tok.convert_tokens_to_ids(token)], token
    chat = [
        {"role": "system", "content": "Laguntzailea zara."},
        {"role": "user", "content": "Kaixo!"},
    ]
    assert tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nLaguntzailea zara.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nKaixo!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert (
        tok("Kaixo")["input_ids"] == tok("Kaixo", add_special_tokens=False)["input_ids"]
    )  # no automatic BOS


def test_reloads_with_auto_classes_as_a_llama(demo_model_path):
    model = AutoModelForCausalLM.from_pretrained(demo_model_path)
    assert type(model).__name__ == "LlamaForCausalLM"
    tok = AutoTokenizer.from_pretrained(demo_model_path)
    assert set(model.generation_config.eos_token_id) == {
        tok.convert_tokens_to_ids(t) for t in ("<|eot_id|>", "<|end_of_text|>")
    }
    meta = json.loads((demo_model_path / "demo_model.json").read_text())
    assert meta["model_id"] == DEMO_MODEL_ID and meta["revision"] == demo_revision()
    assert demo_model_path.name == f"demo-tiny-eu-{demo_revision()}"


def test_revision_follows_the_config():
    assert demo_revision(QUICK) == demo_revision(QUICK.model_copy())
    assert demo_revision(QUICK) != demo_revision(QUICK.model_copy(update={"seed": 1}))
    assert demo_revision(QUICK) != demo_revision()


def test_builds_once_deterministically(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_DEMO_MODEL_CACHE", str(tmp_path / "a"))
    first = ensure_demo_model(QUICK)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert (
        ensure_demo_model(QUICK) == first
        and (first / "model.safetensors").stat().st_mtime_ns == stamp
    )
    monkeypatch.setenv("FACTORY_DEMO_MODEL_CACHE", str(tmp_path / "b"))
    second = ensure_demo_model(QUICK)
    assert second != first and second == demo_model_dir(QUICK)
    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()
    assert (first / "tokenizer.json").read_bytes() == (second / "tokenizer.json").read_bytes()
    assert not list((tmp_path / "b").glob(".building-*"))


def test_steps_knob_changes_the_config(monkeypatch):
    from factory.demo.model import default_config

    monkeypatch.setenv(STEPS_ENV, "7")
    assert default_config().train_steps == 7


@pytest.mark.skipif(
    bool(os.environ.get(STEPS_ENV)), reason="a shortened demo model is not expected to write Basque"
)
def test_what_it_writes_is_mostly_basque(demo_engine):
    params = SamplingParams(temperature=0.9, max_tokens=64, seed=2024)
    instructions = [c[0].text for c in demo_engine.generate([PRE_QUERY] * 24, params)]
    prompts = [
        demo_engine.tokenizer.apply_chat_template(
            [{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True
        )
        for q in instructions
    ]
    responses = [c[0] for c in demo_engine.generate(prompts, params)]
    basque = lambda texts: sum(basque_fraction(t, "cld2") >= 0.5 for t in texts) / len(texts)  # noqa: E731
    # measured: about 0.8 of instructions and 0.9 of responses (CLD2), so these bounds leave room
    assert basque(instructions) >= 0.5
    assert basque([r.text for r in responses]) >= 0.5
    assert sum(r.finish_reason == "stop" for r in responses) >= len(responses) // 3
