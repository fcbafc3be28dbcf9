"""Magpie generation steps end to end vs the raw engine calls they make, on the same prompts.

Baseline ("raw engine"): the same `engine.generate` calls the steps make (same prompts, chunks,
seeds and sampling), and nothing else. Measured ("magpie steps"): `InstructionGenerator` then
`ResponseGenerator` (prompt building, chat template, checkpoint files, Documents, stats), with the
same already-loaded engine injected so model loading is left out of both. Goal: <= 5% overhead.

    python benchmarks/bench_magpie_overhead.py [--n 128] [--repeats 3]

Runs on CPU with the tiny demo model (built on first use).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from factory.builds.seeds import derive_seed
from factory.engines import EngineSpec, make_engine
from factory.magpie.recipe import Sampling
from factory.magpie.stages import (
    InstructionGenerator,
    ResponseGenerator,
    chunk_bounds,
    stop_token_ids,
)
from factory.magpie.templates import resolve_template

TEMPLATE = resolve_template(
    "llama3.1", system_prompt="Euskaraz erantzuten duen laguntzaile adimenduna zara."
)
SEED = 7
INSTRUCTION = Sampling(temperature=1.0, max_tokens=48, stop=["\n"])
RESPONSE = Sampling(temperature=0.7, top_p=0.95, max_tokens=96)


def raw(engine, n: int, every: int) -> int:
    tok = engine.tokenizer
    stops = stop_token_ids(tok, TEMPLATE)
    prompt = tok(TEMPLATE.pre_query, add_special_tokens=False)["input_ids"]
    texts = []
    for k, (start, end) in enumerate(chunk_bounds(n, every)):
        params = INSTRUCTION.params(TEMPLATE, stops, derive_seed(SEED, "magpie", "instructions", k))
        texts += [c[0].text.strip() for c in engine.generate([prompt] * (end - start), params)]
    system = [{"role": "system", "content": TEMPLATE.system_prompt}]
    tokens = 0
    for k, start in enumerate(range(0, len(texts), every)):
        chats = [system + [{"role": "user", "content": t}] for t in texts[start : start + every]]
        prompts = [
            tok(
                tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True),
                add_special_tokens=False,
            )["input_ids"]
            for c in chats
        ]
        params = RESPONSE.params(TEMPLATE, stops, derive_seed(SEED, "magpie", "responses", 0, k, 0))
        tokens += sum(c[0].completion_tokens for c in engine.generate(prompts, params))
    return tokens


def steps(engine, spec, n: int, every: int, folder: str) -> int:
    common = {"engine": spec, "template": TEMPLATE, "seed": SEED, "checkpoint_every": every}
    ins = InstructionGenerator(
        n_instructions=n, sampling=INSTRUCTION, checkpoint_dir=f"{folder}/i", **common
    )
    res = ResponseGenerator(
        response=RESPONSE, instruction=INSTRUCTION, checkpoint_dir=f"{folder}/r", **common
    )
    ins._engine = res._engine = engine
    ins.close = res.close = lambda: None  # keep the shared engine loaded
    docs = list(res.run(ins.run(None, 0, 1), 0, 1))
    return sum(d.metadata["turns"][-1]["completion_tokens"] for d in docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128, help="instructions (and responses) per run")
    parser.add_argument(
        "--every", type=int, default=32, help="checkpoint_every (prompts per generate call)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=64)
    engine = make_engine(spec)
    raw(engine, min(args.n, args.every), args.every)  # warm-up
    best_raw = best_steps = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        raw_tokens = raw(engine, args.n, args.every)
        best_raw = min(best_raw, time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            step_tokens = steps(engine, spec, args.n, args.every, folder)
            best_steps = min(best_steps, time.perf_counter() - started)
        assert step_tokens == raw_tokens, "both paths must generate the same responses"
    print(
        f"prompts: {args.n} instructions + {args.n} responses, demo model on CPU, best of {args.repeats}"
    )
    print(f"baseline raw engine calls: {best_raw:.3f} s")
    print(f"magpie steps end to end:   {best_steps:.3f} s")
    print(f"overhead ratio (steps / raw): {best_steps / best_raw:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
