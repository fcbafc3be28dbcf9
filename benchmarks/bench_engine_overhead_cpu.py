"""The transformers engine's own overhead on CPU: `TransformersEngine.generate` vs bare `model.generate`.

Same demo model, same prompts (Magpie's Llama 3 pre-query template, and chat prompts of mixed
lengths), same batches of `--batch`, same seeds and sampling; EOS is honoured on both sides so the
work per batch is identical. Baseline ("bare generate"): left-padded `model.generate` calls and
nothing else. Measured ("engine"): encoding, padding, stop handling, decoding and `Completion`
objects included. The two are run alternately (ABBA order) `--repeats` times and the medians compared.
On a busy machine the two medians wander by 10-20% either way; the engine's time outside
`model.generate` (timed inside the same runs) is the figure that noise does not swamp.
The Magpie steps' overhead on top of the engine is `bench_magpie_overhead.py`.

    python benchmarks/bench_engine_overhead_cpu.py [--n 256] [--batch 32] [--repeats 5]

Runs with one torch thread: on a shared 2-core machine that is the least noisy setting.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from factory.builds.seeds import derive_seed
from factory.engines import EngineSpec, SamplingParams, make_engine

PRE_QUERY = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
QUESTIONS = [
    "Zer da euskara?",
    "Nor izan zen Bernardo Atxaga?",
    "Noiz sortu zen Bilboko Guggenheim museoa?",
    "Kaixo!",
]


def prompts(engine, n: int) -> list[list[int]]:
    tok = engine.tokenizer
    chats = [
        tok.apply_chat_template(
            [{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True
        )
        for q in QUESTIONS
    ]
    texts = [PRE_QUERY if i % 2 == 0 else chats[i // 2 % len(chats)] for i in range(n)]
    return [tok(t, add_special_tokens=False)["input_ids"] for t in texts]


def bare(engine, batches: list[list[list[int]]], params: SamplingParams) -> int:
    """Padded `model.generate` per batch, seeded as the engine seeds its batches."""
    model, pad, produced = engine.model, engine._pad_id, 0
    for index, batch in enumerate(batches):
        torch.manual_seed(derive_seed(params.seed, "batch", index))
        width = max(map(len, batch))
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in batch])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch])
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=params.max_tokens,
                do_sample=True,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=None,
                pad_token_id=pad,
            )
        produced += int((out[:, width:] != pad).sum())
    return produced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="prompts per run")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)

    engine = make_engine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=args.batch))
    rows = prompts(engine, args.n)
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
    params = SamplingParams(temperature=1.0, max_tokens=args.max_tokens, seed=3)
    bare(engine, batches[:1], params)  # warm up
    times = {"bare": [], "engine": [], "outside": []}
    tokens = {}

    def run_bare() -> None:
        start = time.perf_counter()
        tokens["bare"] = bare(engine, batches, params)
        times["bare"].append(time.perf_counter() - start)

    # time spent inside model.generate during engine runs: what is left is the engine's own work
    inner = [0.0]
    original = engine.model.generate

    def timed_generate(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inner[0] += time.perf_counter() - start

    def run_engine() -> None:
        inner[0] = 0.0
        engine.model.generate = timed_generate
        start = time.perf_counter()
        out = engine.generate(rows, params)
        times["engine"].append(time.perf_counter() - start)
        del engine.model.generate
        times["outside"].append(times["engine"][-1] - inner[0])
        tokens["engine"] = sum(c.completion_tokens for cs in out for c in cs)

    for repeat in range(args.repeats):
        # alternate which side goes first, so drift on a shared machine hits both alike
        for run in (run_bare, run_engine) if repeat % 2 == 0 else (run_engine, run_bare):
            run()
    base, measured = statistics.median(times["bare"]), statistics.median(times["engine"])
    print(
        f"demo model {engine.model_revision}, {args.n} prompts, batch {args.batch}, max_tokens {args.max_tokens}, {args.repeats} alternating runs"
    )
    print(
        f"bare generate: median {base:.2f} s ({tokens['bare'] / base:.0f} tok/s, {tokens['bare']} new tokens)"
    )
    print(
        f"engine:        median {measured:.2f} s ({tokens['engine'] / measured:.0f} tok/s, {tokens['engine']} tokens incl. stop tokens)"
    )
    outside = statistics.median(times["outside"])
    print(
        f"engine work outside model.generate: median {outside * 1000:.0f} ms = {100 * outside / base:.1f}% of bare (the noise-free overhead figure)"
    )
    print(
        f"RESULT engine/bare time ratio {measured / base:.3f} (overhead {100 * (measured / base - 1):+.1f}%)"
    )


if __name__ == "__main__":
    main()
