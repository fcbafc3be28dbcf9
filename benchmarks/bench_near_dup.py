"""Near-duplicate quality: recall and precision on planted near-duplicates (5-10% of words edited).

    python benchmarks/bench_near_dup.py [--copies 300]

Originals are real Basque documents (FLORES-200 and NTREX-128, CC BY-SA, ../shared/data); each
planted copy substitutes, deletes or inserts 5-10% of the words. The four dedup steps run as a
2-task build would, with the dedup settings and seed of the shipped `recipes/corpus_eu.yaml`.
Baseline, side by side: exact-text dedup alone (what the near step adds).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from datatrove.data import Document

from factory.corpus.dedup import (
    DedupBuckets,
    DedupClusters,
    DedupFilter,
    DedupSignatures,
    exact_key,
    minhasher_for,
)
from factory.recipes import load_recipe

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "corpus_eu.yaml"


def originals() -> list[str]:
    texts = []
    for name in ("flores200-devtest", "ntrex128"):
        for line in (DATA / name / "docs.jsonl").read_text().splitlines():
            texts.append(json.loads(line)["eus"])
    return list(dict.fromkeys(texts))


def plant(text: str, rng: random.Random) -> str:
    words = text.split()
    for _ in range(max(1, round(len(words) * rng.uniform(0.05, 0.10)))):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.6:
            words[i] = rng.choice(words)
        elif op < 0.8 and len(words) > 2:
            del words[i]
        else:
            words.insert(i, rng.choice(words))
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=150)
    args = parser.parse_args()
    recipe = load_recipe(RECIPE)
    spec = recipe.dedup
    rng = random.Random(0)
    base = originals()
    docs = [
        Document(text=t, id=f"o{i}", metadata={"key": [0, 0, i], "url": None})
        for i, t in enumerate(base)
    ]
    chosen = rng.sample(range(len(base)), min(args.copies, len(base)))
    docs += [
        Document(text=plant(base[i], rng), id=f"n{i}", metadata={"key": [1, 1, j], "url": None})
        for j, i in enumerate(chosen)
    ]
    planted = {f"n{i}" for i in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        hasher = minhasher_for(recipe.seed, spec.ngram, spec.bands, spec.rows)
        shards = [docs[0::2], docs[1::2]]
        for rank, part in enumerate(shards):
            for d in part:
                d.metadata["shard"] = rank
            list(DedupSignatures(tmp, hasher).run(iter(part), rank, 2))
        for rank in range(2):
            list(DedupBuckets(tmp, 2 + spec.bands, spec.threshold, []).run(None, rank, 2))
        list(DedupClusters(tmp, ["original", "copies"]).run(None, 0, 1))
        f = DedupFilter(tmp)
        removed = {d.id for d in docs if f.filter(d) is not True}
        elapsed = time.perf_counter() - start
    exact_removed = set()
    seen = set()
    for d in docs:
        k = exact_key(d.text)
        if k in seen:
            exact_removed.add(d.id)
        seen.add(k)
    tp = len(removed & planted)
    print(
        f"documents: {len(docs)} ({len(base)} originals, {len(planted)} planted near-duplicates, 5-10% words edited)"
    )
    print(
        f"MinHash-LSH (word {spec.ngram}-grams, {spec.bands}x{spec.rows}, Jaccard >= {spec.threshold}): recall {tp / len(planted):.3f}, precision {tp / max(len(removed), 1):.3f}"
    )
    print(f"baseline exact-text dedup: recall {len(exact_removed & planted) / len(planted):.3f}")
    print(f"throughput (4 dedup steps, one process): {len(docs) / elapsed:,.0f} docs/s")


if __name__ == "__main__":
    main()
