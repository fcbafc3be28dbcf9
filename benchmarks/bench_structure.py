"""Throughput of the structure protection alone, on the bundled sample's messages, one core.

Measured ("protection"): everything the translate kind does to a message besides the model call:
`parse` (blocks, lines, units, masking), unmasking every unit, reassembly, and the independent
verification (`missing_spans`, `code_blocks` on source and output). Baseline ("bare inline scan"):
one pass of the inline-span regex over each message, the least any span-aware tool must do.
Goal: at least 2,000 messages/s, so protection can never be the bottleneck of a GPU run.

    python benchmarks/bench_structure.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from factory.translate.source import normalize_conversation
from factory.translate.structure import _INLINE, check, parse

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "factory"
    / "translate"
    / "sample"
    / "conversations_en.jsonl"
)


def messages() -> list[str]:
    out = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        conv, problem = normalize_conversation(json.loads(line).get("conversations"))
        if problem is None:
            out.extend(m["content"] for m in conv)
    return out


def protect(text: str) -> bool:
    layout = parse(text)
    out = layout.assemble([u.unmask(u.text) for u in layout.units])
    code_kept, missing, _n = check(text, out)
    return code_kept and not missing


def scan(text: str) -> bool:
    return sum(1 for _ in _INLINE.finditer(text)) >= 0


def rate(fn, texts: list[str], seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for text in texts:
            assert fn(text)
        done += len(texts)
    return done / (time.perf_counter() - started)


def calibration(seconds: float = 0.5) -> float:
    """Millions of pure-Python loop steps per second: tells a loaded machine from a slow tool."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        sum(range(100_000))
        done += 100_000
    return done / (time.perf_counter() - started) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    texts = messages()
    chars = sum(map(len, texts)) / len(texts)
    base = rate(scan, texts, args.seconds)
    measured = rate(protect, texts, args.seconds)
    print(
        f"CPU calibration: {calibration():.1f} M loop steps/s (an idle modern core: about 50-100)"
    )
    print(f"{len(texts)} sample messages, {chars:.0f} characters on average, one core")
    print(f"bare inline scan: {base:10.0f} messages/s")
    print(f"protection:       {measured:10.0f} messages/s (goal >= 2,000)")
    print(f"ratio protection/scan throughput: {measured / base:.3f}")


if __name__ == "__main__":
    main()
