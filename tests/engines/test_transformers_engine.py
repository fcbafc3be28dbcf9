"""The transformers engine on the demo model: batching, n, stops, seeds, token-id prompts."""

from __future__ import annotations

import pytest

from factory.demo.model import DEMO_MODEL_ID, demo_revision
from factory.engines import Completion, SamplingParams

PRE_QUERY = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"


def test_lineage_is_the_demo_model_and_its_hash(demo_engine):
    assert demo_engine.model_id == DEMO_MODEL_ID
    assert demo_engine.model_revision == demo_revision()


def test_one_list_of_n_completions_per_prompt_in_order(demo_engine):
    prompts = [PRE_QUERY, PRE_QUERY + "Zer", PRE_QUERY + "Nor da"]
    out = demo_engine.generate(prompts, SamplingParams(max_tokens=8, n=3, seed=1))
    assert [len(c) for c in out] == [3, 3, 3]
    prompt_lens = [
        len(demo_engine.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts
    ]
    for completions, prompt_len in zip(out, prompt_lens):
        for c in completions:
            assert isinstance(c, Completion)
            assert c.prompt_tokens == prompt_len
            assert 1 <= c.completion_tokens == len(c.token_ids) <= 8
            assert (c.finish_reason == "length") == (
                c.completion_tokens == 8 and c.token_ids[-1] not in demo_engine._eos_ids
            )


def test_same_seed_same_outputs_other_seed_other_outputs(demo_engine):
    params = SamplingParams(max_tokens=12, n=2, seed=5)
    first = demo_engine.generate([PRE_QUERY] * 4, params)
    again = demo_engine.generate([PRE_QUERY] * 4, params)
    other = demo_engine.generate([PRE_QUERY] * 4, params.model_copy(update={"seed": 6}))
    assert first == again
    assert first != other
    # identical prompts in one call still sample different texts
    assert len({c.text for cs in first for c in cs}) > 1


def test_greedy_ignores_the_seed(demo_engine):
    params = SamplingParams(temperature=0, max_tokens=10)
    assert demo_engine.generate(
        [PRE_QUERY], params.model_copy(update={"seed": 1})
    ) == demo_engine.generate([PRE_QUERY], params.model_copy(update={"seed": 2}))


def test_token_id_prompt_equals_its_text(demo_engine):
    ids = demo_engine.tokenizer(PRE_QUERY, add_special_tokens=False)["input_ids"]
    assert ids[0] == demo_engine.tokenizer.convert_tokens_to_ids("<|begin_of_text|>")
    params = SamplingParams(max_tokens=10, seed=3)
    assert demo_engine.generate([ids], params) == demo_engine.generate([PRE_QUERY], params)


def test_stop_string_cuts_the_text_and_says_stop(demo_engine):
    # find a continuation greedily, then stop at a piece of it
    params = SamplingParams(temperature=0, max_tokens=24)
    (free,) = demo_engine.generate([PRE_QUERY], params)[0]
    stop = free.text[3:5]
    assert stop.strip(), f"greedy text too short to test: {free.text!r}"
    (cut,) = demo_engine.generate([PRE_QUERY], params.model_copy(update={"stop": [stop]}))[0]
    assert cut.text == free.text[: free.text.find(stop)]
    assert cut.finish_reason == "stop"
    assert cut.token_ids == free.token_ids[: len(cut.token_ids)]
    assert stop in demo_engine.tokenizer.decode(cut.token_ids)
    assert stop not in demo_engine.tokenizer.decode(cut.token_ids[:-1])


def test_stop_token_id_ends_the_completion(demo_engine):
    params = SamplingParams(temperature=0, max_tokens=24)
    (free,) = demo_engine.generate([PRE_QUERY], params)[0]
    stop_id = free.token_ids[2]
    (cut,) = demo_engine.generate(
        [PRE_QUERY], params.model_copy(update={"stop_token_ids": [stop_id]})
    )[0]
    assert cut.token_ids == free.token_ids[: free.token_ids.index(stop_id) + 1]
    assert cut.finish_reason == "stop"
    assert cut.text == demo_engine.tokenizer.decode(cut.token_ids[:-1], skip_special_tokens=True)


def test_end_of_turn_is_left_out_of_the_text(demo_engine):
    eot = demo_engine.tokenizer.convert_tokens_to_ids("<|eot_id|>")
    out = demo_engine.generate([PRE_QUERY] * 8, SamplingParams(max_tokens=40, seed=0))
    stopped = [c for cs in out for c in cs if c.finish_reason == "stop"]
    assert stopped, "the demo model never ended a turn in 8 samples"
    for c in stopped:
        assert c.token_ids[-1] == eot and "<|eot_id|>" not in c.text


def test_empty_prompt_is_refused(demo_engine):
    from factory.errors import EngineError

    with pytest.raises(EngineError, match="empty prompt"):
        demo_engine.generate([""], SamplingParams(max_tokens=2))


def test_gpu_static_shape_path_matches_on_cpu(demo_model_path):
    """The GPU path (static cache, filler rows, widths rounded up) forced on CPU: same greedy text."""
    from factory.engines import EngineSpec, make_engine

    engine = make_engine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=4))
    prompts = [PRE_QUERY, PRE_QUERY + "Zein da", PRE_QUERY + "Noiz"]
    params = SamplingParams(temperature=0, max_tokens=12)
    dynamic = engine.generate(prompts, params)
    engine._static = True
    static = engine.generate(prompts, params)
    assert [[c.text for c in cs] for cs in static] == [[c.text for c in cs] for cs in dynamic]
    assert [cs[0].prompt_tokens for cs in static] == [cs[0].prompt_tokens for cs in dynamic]
