"""Basque steering of Magpie instructions, side by side, on the bilingual demo model (CPU).

    python benchmarks/bench_basque_steering.py [--n 256]

Each method samples `--n` instructions from the demo model (`demo:tiny-eu`, trained on Basque
and English, see factory/demo/model.py) with Magpie's Llama-3.1 instruction preset (temperature
0.8, top_p 1, no newline stop) cut to 48 tokens, the same seed for every method, and the same
sanitizer. Yield: the share of instructions CLD2 calls Basque (at least half of the text).
Cost: generated instruction tokens per Basque instruction (what generate-then-filter pays).
Baseline: no steering (the plain pre-query template), whose Basque share is what
generate-then-filter keeps.

What this measures: how each method moves a small model that has seen both languages. It says
nothing about Llama-3.1-8B, whose yield must be measured on a GPU build (the card of every
magpie build reports its yield and cost per row); random-weight 8B models cannot measure it.
"""

from __future__ import annotations

import argparse
import time

from factory.engines import EngineSpec, SamplingParams
from factory.engines.transformers_engine import TransformersEngine
from factory.langid import language_fraction
from factory.magpie.recipe import ENGLISH_FIRST_WORDS, first_token_ids
from factory.magpie.sanitize import sanitize_instruction
from factory.magpie.templates import resolve_template

SYSTEM_EU = "Euskaraz erantzuten duen laguntzaile adimenduna zara."
CUE_EU = "Euskaraz: "


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seed", type=int, default=20250501)
    args = parser.parse_args()
    engine = TransformersEngine(EngineSpec(model="demo:tiny-eu", device="cpu", batch_size=64))
    tok = engine.tokenizer
    plain = resolve_template("llama3.1").pre_query
    with_system = resolve_template("llama3.1", system_prompt=SYSTEM_EU).pre_query
    bias = dict.fromkeys(first_token_ids(tok, list(ENGLISH_FIRST_WORDS)), -10.0)
    methods = [
        ("no steering = generate-then-filter (baseline)", plain, {}),
        ("Basque system prompt", with_system, {}),
        (f"language cue {CUE_EU!r} after the pre-query", plain + CUE_EU, {}),
        (f"first-token logit bias -10 on {len(bias)} English tokens", plain, bias),
        ("system prompt + logit bias", with_system, bias),
    ]
    stop_ids = [tok.convert_tokens_to_ids(t) for t in ("<|eot_id|>", "<|start_header_id|>")]
    baseline = None
    print(f"demo model {engine.model_id}@{engine.model_revision}, {args.n} instructions per method")
    for name, prompt, first_bias in methods:
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        params = SamplingParams(
            temperature=0.8,
            top_p=1.0,
            max_tokens=48,
            stop=["assistant"],
            stop_token_ids=stop_ids,
            seed=args.seed,
            first_token_logit_bias=first_bias,
        )
        started = time.perf_counter()
        out = engine.generate([ids] * args.n, params)
        seconds = time.perf_counter() - started
        texts = [sanitize_instruction(c[0].text.strip(), "llama3.1")[0] for c in out]
        tokens = sum(c[0].completion_tokens for c in out)
        basque = sum(language_fraction(t, "eu", "cld2") >= 0.5 for t in texts)
        share = basque / args.n
        baseline = share if baseline is None else baseline
        cost = tokens / basque if basque else float("inf")
        print(
            f"{name:55s} yield {share:6.1%} ({basque}/{args.n})  tokens per Basque instruction {cost:6.1f}"
            f"  ratio vs baseline yield {share / baseline if baseline else float('nan'):.2f}x  ({seconds:.1f}s)"
        )


if __name__ == "__main__":
    main()
