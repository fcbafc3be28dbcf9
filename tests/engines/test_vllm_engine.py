"""The vllm engine without a GPU: a stand-in `vllm` module whose `LLM` records what it is asked.

What is pinned: the revision recorded is the snapshot actually loaded (not the recipe's None);
one `LLM` per process shared by both stages; one seed per call through the workers, so requests
carry no seed of their own (vLLM's batched sampler); text prompts tokenized without a BOS.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from factory.engines import EngineSpec, SamplingParams, make_engine
from factory.engines import vllm_engine as ve

SHA = "0123456789abcdef0123456789abcdef01234567"
PRE_QUERY = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
EOS = 2


class FakeTokenizer:
    def encode(self, text, add_special_tokens=True):
        ids = [ord(c) % 256 for c in text]
        return ([1] if add_special_tokens else []) + ids

    def decode(self, ids, skip_special_tokens=False):
        return "".join(f"<{i}>" for i in ids if not (skip_special_tokens and i == EOS))


class FakeLLM:
    built: list[FakeLLM] = []

    def __init__(self, **kwargs):
        self.kwargs, self.calls, self.rpcs = kwargs, [], []
        self.llm_engine = SimpleNamespace(
            model_config=SimpleNamespace(model=kwargs["model"], revision=kwargs["revision"])
        )
        FakeLLM.built.append(self)

    def get_tokenizer(self):
        return FakeTokenizer()

    def collective_rpc(self, method, args=()):
        self.rpcs.append(args)
        method(None, *args)  # (seeds this process's generators: harmless)

    def generate(self, requests, sampling, use_tqdm=True):
        self.calls.append((requests, sampling))
        params = sampling if isinstance(sampling, list) else [sampling] * len(requests)
        return [
            SimpleNamespace(
                prompt_token_ids=r["prompt_token_ids"],
                outputs=[
                    SimpleNamespace(index=j, text=f"t{j}", token_ids=[5, 6], finish_reason="stop")
                    for j in range(p.n)
                ],
            )
            for r, p in zip(requests, params)
        ]


@pytest.fixture
def fake_vllm(monkeypatch, tmp_path):
    module = SimpleNamespace(LLM=FakeLLM, SamplingParams=lambda **kw: SimpleNamespace(**kw))
    monkeypatch.setattr(ve, "import_vllm", lambda: module)
    monkeypatch.setattr(ve, "_LOADED", {})
    FakeLLM.built = []
    # a hub cache where `main` of the model points at SHA, as vLLM's download leaves it
    import huggingface_hub.constants as hub_constants

    refs = tmp_path / "hub" / "models--meta-llama--Llama-3.1-8B-Instruct" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(SHA)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return module


def _spec(**extra) -> EngineSpec:
    return EngineSpec(type="vllm", model="meta-llama/Llama-3.1-8B-Instruct", **extra)


def test_lineage_is_the_loaded_snapshot_not_the_recipes_none(fake_vllm):
    engine = make_engine(_spec())
    assert engine.spec.revision is None
    assert engine.model_revision == SHA


def test_loaded_revision_of_a_commit_a_snapshot_folder_and_a_plain_folder(tmp_path):
    other = "f" * 40
    assert ve.loaded_revision("org/name", other) == other
    snapshot = tmp_path / "models--org--name" / "snapshots" / other
    snapshot.mkdir(parents=True)
    assert ve.loaded_revision(str(snapshot), None) == other
    assert ve.loaded_revision(str(tmp_path), None) is None


def test_one_llm_per_process_shared_by_both_stages(fake_vllm):
    first, second = make_engine(_spec()), make_engine(_spec())
    first.close()  # the instruction stage ends: the model stays loaded for the responses
    assert len(FakeLLM.built) == 1 and first.llm is second.llm
    make_engine(_spec(max_model_len=2048))  # another configuration replaces it
    assert len(FakeLLM.built) == 2


def test_one_seed_per_call_keeps_the_batched_sampler(fake_vllm):
    engine = make_engine(_spec())
    out = engine.generate([PRE_QUERY] * 3, SamplingParams(n=2, seed=77, stop_token_ids=[9]))
    assert [[c.text for c in cs] for cs in out] == [["t0", "t1"]] * 3
    requests, sampling = engine.llm.calls[0]
    assert engine.llm.rpcs == [(77,)]  # the workers are seeded once for the call
    assert not isinstance(sampling, list) and sampling.seed is None and sampling.n == 2
    assert sampling.stop_token_ids == [9]
    # the template's BOS is the only one: text is tokenized without special tokens
    assert requests[0]["prompt_token_ids"] == FakeTokenizer().encode(PRE_QUERY, False)


def test_without_collective_rpc_each_request_is_seeded(fake_vllm, monkeypatch):
    engine = make_engine(_spec())
    monkeypatch.delattr(FakeLLM, "collective_rpc")
    engine.generate([PRE_QUERY] * 3, SamplingParams(seed=5))
    _requests, sampling = engine.llm.calls[0]
    assert isinstance(sampling, list) and len({p.seed for p in sampling}) == 3


class BiasAwareLLM(FakeLLM):
    """Greedy over a tiny vocabulary: the first generated token is 10 unless `logit_bias` pushes
    it down (then 11, or EOS when a prompt ends in 99); later tokens are 20, 21, ... up to
    max_tokens, then EOS."""

    def generate(self, requests, sampling, use_tqdm=True):
        self.calls.append((requests, sampling))
        params = sampling if isinstance(sampling, list) else [sampling] * len(requests)
        outs = []
        for r, p in zip(requests, params):
            bias = getattr(p, "logit_bias", None) or {}
            prompt = r["prompt_token_ids"]
            choices = []
            for j in range(p.n):
                if prompt[-1] in (10, 11):  # a continuation: the first token is already there
                    ids = [20 + k for k in range(min(p.max_tokens, 3))]
                    ids, reason = (
                        (ids + [EOS], "stop") if len(ids) < p.max_tokens else (ids, "length")
                    )
                else:
                    first = 10 if bias.get(10, 0) >= 0 else (EOS if prompt[-1] == 99 else 11)
                    ids, reason = [first], "stop" if first == EOS else "length"
                text = FakeTokenizer().decode(ids, skip_special_tokens=True)
                choices.append(
                    SimpleNamespace(index=j, text=text, token_ids=ids, finish_reason=reason)
                )
            outs.append(SimpleNamespace(prompt_token_ids=prompt, outputs=choices))
        return outs


def test_first_token_bias_moves_the_first_token_only_in_two_passes(fake_vllm, monkeypatch):
    monkeypatch.setattr(fake_vllm, "LLM", BiasAwareLLM)
    engine = make_engine(_spec())
    plain = engine.generate([[1, 5]], SamplingParams(temperature=0.0, max_tokens=8))
    assert plain[0][0].token_ids[0] == 10 and len(engine.llm.calls) == 1

    biased = SamplingParams(
        temperature=0.0, max_tokens=8, n=2, seed=3, first_token_logit_bias={10: -100.0}
    )
    out = engine.generate([[1, 5], [1, 99]], biased)
    first_call, second_call = engine.llm.calls[1:]
    # pass 1: one token, with vLLM's logit_bias; pass 2: unbiased, from prompt + that token
    assert first_call[1].max_tokens == 1 and first_call[1].logit_bias == {10: -100.0}
    assert not getattr(second_call[1], "logit_bias", None) and second_call[1].max_tokens == 7
    assert [r["prompt_token_ids"] for r in second_call[0]] == [[1, 5, 11]] * 2
    assert second_call[1].n == 1 and engine.llm.rpcs[-1] != engine.llm.rpcs[-2]  # own seed
    # the first token is moved, the rest continues as the unbiased model would
    assert [c.token_ids for c in out[0]] == [[11, 20, 21, 22, EOS]] * 2
    assert out[0][0].text == "<11><20><21><22>" and out[0][0].finish_reason == "stop"
    assert out[0][0].prompt_tokens == 2 and out[0][0].completion_tokens == 5
    # a first token that ends the completion (EOS here) is not continued
    assert [c.token_ids for c in out[1]] == [[EOS]] * 2 and out[1][0].text == ""


def test_first_token_bias_respects_max_tokens_and_stop_strings(fake_vllm, monkeypatch):
    monkeypatch.setattr(fake_vllm, "LLM", BiasAwareLLM)
    engine = make_engine(_spec())
    one = SamplingParams(max_tokens=1, first_token_logit_bias={10: -5.0})
    out = engine.generate([[1, 5]], one)
    assert len(engine.llm.calls) == 1 and out[0][0].token_ids == [11]
    assert out[0][0].finish_reason == "length"
    cut = SamplingParams(max_tokens=8, stop=["<21>"], first_token_logit_bias={10: -5.0})
    assert engine.generate([[1, 5]], cut)[0][0].text == "<11><20>"
