"""The generation steps on the demo model: task-count independence and chunk checkpoints."""

from __future__ import annotations

import pytest
from magpie_fixtures import demo_model_path  # noqa: F401  (fixture)

from factory.engines import EngineSpec
from factory.magpie.recipe import Sampling
from factory.magpie.stages import (
    InstructionGenerator,
    ResponseGenerator,
    chunk_bounds,
    rank_chunks,
    stop_token_ids,
)
from factory.magpie.templates import resolve_template

TEMPLATE = resolve_template(
    "llama3.1", system_prompt="Euskaraz erantzuten duen laguntzaile adimenduna zara."
)
ENGINE = EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=8)


def instructions(tmp_path, name, *, n=12, every=4):
    return InstructionGenerator(
        engine=ENGINE,
        template=TEMPLATE,
        seed=7,
        checkpoint_dir=str(tmp_path / name),
        checkpoint_every=every,
        n_instructions=n,
        sampling=Sampling(temperature=1.0, max_tokens=16, stop=["\n"]),
    )


def test_prompt_space_split():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    owned = [list(rank_chunks(5, r, 3)) for r in range(3)]
    assert sum(owned, []) == [0, 1, 2, 3, 4]  # every chunk once, in rank order


def test_stop_ids_follow_the_tokenizer(demo_model_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(demo_model_path)
    ids = stop_token_ids(tok, TEMPLATE)
    assert tok.convert_tokens_to_ids("<|eot_id|>") in ids
    assert stop_token_ids(None, TEMPLATE) == [128009, 128001, 128006, 128007]


def test_same_instructions_whatever_the_task_count(tmp_path, demo_model_path):
    one = list(instructions(tmp_path, "one").run(None, 0, 1))
    two = [d for r in range(2) for d in instructions(tmp_path, "two").run(None, r, 2)]
    assert [d.id for d in one] == [f"general_{i:08d}" for i in range(12)]
    assert [(d.id, d.text) for d in one] == [(d.id, d.text) for d in two]
    assert len({d.text for d in one}) > 1
    assert one[0].metadata["model"] == "latxa-factory/demo-tiny-eu"


def test_checkpointed_chunks_are_read_back_not_regenerated(tmp_path, demo_model_path):
    step = instructions(tmp_path, "ck")
    first = [(d.id, d.text) for d in step.run(None, 0, 1)]
    assert step.stats["chunks_generated"].total == 3
    # lose the last chunk (as a kill during its generate call would), keep the others
    (tmp_path / "ck" / "00000" / "000002.jsonl").unlink()
    again = instructions(tmp_path, "ck")
    assert [(d.id, d.text) for d in again.run(None, 0, 1)] == first
    assert again.stats["chunks_resumed"].total == 2 and again.stats["chunks_generated"].total == 1


@pytest.mark.parametrize("n_turns", [1, 2])
def test_responses_alternate_roles(tmp_path, demo_model_path, n_turns):
    docs = list(instructions(tmp_path, "i", n=4).run(None, 0, 1))
    step = ResponseGenerator(
        engine=ENGINE,
        template=TEMPLATE,
        seed=7,
        checkpoint_dir=str(tmp_path / f"r{n_turns}"),
        checkpoint_every=4,
        response=Sampling(temperature=0.0, max_tokens=16),
        instruction=Sampling(max_tokens=16, stop=["\n"]),
        n_turns=n_turns,
    )
    out = list(step.run(iter(docs), 0, 1))
    assert len(out) == 4
    for doc in out:
        roles = [m["role"] for m in doc.metadata["conversations"]]
        assert roles == ["user", "assistant"] * n_turns
        assert len(doc.metadata["turns"]) == 2 * n_turns
        assert doc.text == doc.metadata["conversations"][-1]["content"]
