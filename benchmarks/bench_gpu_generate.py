"""Output tokens/s of the transformers engine vs HF `generate` on a padded batch, same run.

A Llama-3.1-8B-shaped model with random bf16 weights is built from its config (no download;
throughput does not depend on the weights). EOS is suppressed, so every request decodes exactly
`--new-tokens` tokens. Prompts are random token ids of `--prompt-len` tokens.

    python benchmarks/bench_gpu_generate.py                 # one GPU (H100: issue 6 asks >= 10,000 tok/s)
    python benchmarks/bench_gpu_generate.py --tiny          # CPU smoke check, a tiny model
    python benchmarks/bench_gpu_generate.py --vllm          # also the vllm engine (the [vllm] extra)

Baseline ("naive"): `model.generate(input_ids, attention_mask, max_new_tokens)` with the default
dynamic cache, at each of `--naive-batches`. Engine: `TransformersEngine.generate` (on CUDA: static
KV cache with the decode step compiled by `generate`, full fixed-shape batches) at each of
`--engine-batches`; its first call (compilation) is timed apart as warmup. The last line prints
the best engine figure, the naive figure at the same batch size and the ratio. With `--vllm` the
same weights are saved to a temporary folder and `VllmEngine` (one `generate` call per batch, one
seed per call) is timed at each engine batch too, with its own RESULT line against the same naive
figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from factory.engines import EngineSpec, SamplingParams
from factory.engines.transformers_engine import TransformersEngine

LLAMA31_8B = dict(
    vocab_size=128256,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    rope_theta=500000.0,
    rope_scaling={
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    },
    max_position_embeddings=8192,  # the real model allows 131072; 8192 is plenty here and keeps buffers small
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)
TINY = dict(
    vocab_size=1024,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
)


def build(shape: dict, device: str, dtype: torch.dtype):
    config = LlamaConfig(**shape, bos_token_id=0, eos_token_id=None, pad_token_id=0)
    torch.manual_seed(0)
    with torch.device(device):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            model = LlamaForCausalLM(config)
        finally:
            torch.set_default_dtype(previous)
    model.generation_config.eos_token_id = None  # EOS suppressed: every row decodes the full length
    model.generation_config.pad_token_id = 0
    return model.eval()


def word_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A tokenizer over the random model's ids ("t0" .. "tN"), only needed to decode."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token="t1"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="t0")


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def naive(model, prompts: list[list[int]], new_tokens: int, device: str) -> float:
    ids = torch.tensor(prompts, device=device)  # equal lengths: no padding needed
    mask = torch.ones_like(ids)
    sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=new_tokens,
            do_sample=True,
            temperature=1.0,
            top_k=None,
            top_p=None,
        )
    sync(device)
    elapsed = time.perf_counter() - start
    assert out.shape[1] - ids.shape[1] == new_tokens
    return len(prompts) * new_tokens / elapsed


def engine_rate(engine, prompts: list[list[int]], new_tokens: int, device: str) -> float:
    params = SamplingParams(temperature=1.0, max_tokens=new_tokens, seed=0)
    sync(device)
    start = time.perf_counter()
    out = engine.generate(prompts, params)
    sync(device)
    elapsed = time.perf_counter() - start
    produced = sum(c.completion_tokens for cs in out for c in cs)
    assert produced == len(prompts) * new_tokens, produced
    return produced / elapsed


def vllm_rates(model, tokenizer, prompts, batches, new_tokens, args) -> tuple[float, int]:
    """Best output tok/s of `VllmEngine` over `batches` (the same random weights, saved to disk)."""
    import tempfile

    from factory.engines.vllm_engine import VllmEngine

    folder = tempfile.mkdtemp(prefix="bench-vllm-")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    engine = VllmEngine(EngineSpec(type="vllm", model=folder, dtype="bfloat16", max_model_len=1024))
    params = SamplingParams(temperature=1.0, max_tokens=new_tokens, seed=0)
    best = (0.0, 0)
    for batch in batches:
        engine.generate(prompts[:batch], params)  # warmup (CUDA graphs are captured at load)
        rate = 0.0
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = engine.generate(prompts[:batch], params)
            elapsed = time.perf_counter() - start
            rate = max(rate, sum(c[0].completion_tokens for c in out) / elapsed)
        print(f"vllm engine     batch {batch:5d}: {rate:10.1f} output tok/s")
        best = max(best, (rate, batch))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (smoke check)")
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--naive-batches", type=int, nargs="+", default=None)
    parser.add_argument("--engine-batches", type=int, nargs="+", default=None)
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="timed runs per setting; the best is kept (both sides)",
    )
    parser.add_argument("--vllm", action="store_true", help="also time the vllm engine (GPU)")
    args = parser.parse_args()

    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run with --tiny for a CPU smoke check")
    shape, dtype = (TINY, torch.float32) if args.tiny else (LLAMA31_8B, torch.bfloat16)
    new_tokens = args.new_tokens or (16 if args.tiny else 256)
    naive_batches = args.naive_batches or ([1, 8] if args.tiny else [1, 64, 256])
    engine_batches = args.engine_batches or ([8] if args.tiny else [256, 512, 1024])

    started = time.perf_counter()
    model = build(shape, device, dtype)
    print(
        f"device {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; model {'tiny' if args.tiny else 'Llama-3.1-8B-shaped'} "
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f}B params {dtype}; built in {time.perf_counter() - started:.1f} s; "
        f"{args.prompt_len} prompt + {new_tokens} new tokens per request"
    )
    generator = torch.Generator().manual_seed(0)
    prompt_pool = torch.randint(
        1,
        shape["vocab_size"],
        (max(naive_batches + engine_batches), args.prompt_len),
        generator=generator,
    ).tolist()

    naive_rates = {}
    for batch in naive_batches:
        naive(model, prompt_pool[:1], 4, device)  # warm the kernels
        naive_rates[batch] = max(
            naive(model, prompt_pool[:batch], new_tokens, device) for _ in range(args.repeats)
        )
        print(f"naive generate  batch {batch:5d}: {naive_rates[batch]:10.1f} output tok/s")

    tokenizer = word_tokenizer(shape["vocab_size"])
    best = (0.0, 0)
    for batch in engine_batches:
        spec = EngineSpec(
            model="random-llama",
            device=device,
            batch_size=batch,
            dtype="bfloat16" if device == "cuda" else "float32",
        )
        engine = TransformersEngine.from_model(spec, model, tokenizer, model_id="random-llama")
        start = time.perf_counter()
        engine_rate(engine, prompt_pool[:batch], new_tokens, device)  # compiles on CUDA
        warmup = time.perf_counter() - start
        rate = max(
            engine_rate(engine, prompt_pool[:batch], new_tokens, device)
            for _ in range(args.repeats)
        )
        print(
            f"engine          batch {batch:5d}: {rate:10.1f} output tok/s (first call, with compilation: {warmup:.1f} s)"
        )
        best = max(best, (rate, batch))
        if device == "cuda":
            torch.cuda.empty_cache()

    if args.vllm:
        vllm_best = vllm_rates(model, tokenizer, prompt_pool, engine_batches, new_tokens, args)
        for vrate, vbatch in [vllm_best]:
            same_v = naive_rates.get(vbatch) or max(
                naive(model, prompt_pool[:vbatch], new_tokens, device) for _ in range(args.repeats)
            )
            print(
                f"RESULT vllm engine {vrate:.1f} tok/s (batch {vbatch}) vs naive padded generate "
                f"{same_v:.1f} tok/s at batch {vbatch}: ratio {vrate / same_v:.2f}x"
            )

    rate, batch = best
    same = naive_rates.get(batch)
    if same is None:
        same = max(
            naive(model, prompt_pool[:batch], new_tokens, device) for _ in range(args.repeats)
        )
        print(f"naive generate  batch {batch:5d}: {same:10.1f} output tok/s")
    print(
        f"RESULT engine {rate:.1f} tok/s (batch {batch}) vs naive padded generate {same:.1f} tok/s at batch {batch}: ratio {rate / same:.2f}x"
    )


if __name__ == "__main__":
    main()
