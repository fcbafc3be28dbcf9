"""Corpus dedup at scale: factory's bounded-memory MinHash vs datatrove's stock MinHash pipeline.

    python benchmarks/bench_dedup_scale.py [--docs 1000000] [--tasks 2] [--memory-gb 2]

Synthetic Basque-like documents (random words from a fixed syllable vocabulary, 80-200 words);
10% of them are planted near-copies of an earlier document with 5-10% of the words
substituted, deleted or inserted. Both pipelines read the same JSONL files with `--tasks`
tasks (2 processes at once), with the same shingles (word 2-grams) and LSH layout (32 bands x 4
rows, the corpus defaults):

* factory: `DedupSignatures` -> `DedupBuckets` -> `DedupClusters` -> `DedupFilter` (the four
  dedup steps of `factory/corpus/plan.py`; near-duplicate step only, as datatrove's);
* datatrove: `MinhashDedupSignature` -> `MinhashDedupBuckets` -> `MinhashDedupCluster` ->
  `MinhashDedupFilter`, as in datatrove's `examples/minhash_deduplication.py`.

Prints, for each: end-to-end time and docs/s, CPU time (user + system of this process and every
task process), peak RSS of the largest task, recall and precision on the planted copies; then the
ratio factory/datatrove of both wall-clock and CPU time (the CPU ratio does not move when
something else runs on the machine). Every stage runs under datatrove's
LocalPipelineExecutor with fork, one process per task, so the peak RSS is per task.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter

from factory.corpus.dedup import (
    DedupBuckets,
    DedupClusters,
    DedupFilter,
    DedupSignatures,
    StampShard,
    minhasher_for,
)

SYLLABLES = "ba be bi bo bu da de di do du ga ge gi go gu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu tza tze tzi txo txu ar er ir or ur ak ek ik ok uk".split()


def make_corpus(folder: Path, n_docs: int, files: int, seed: int = 0) -> dict[str, str]:
    """Writes `files` JSONL.gz files; returns {planted near-copy id: id of its original}."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(50_000)
    ]
    planted: dict[str, str] = {}
    keep: list[tuple[str, list[str]]] = []  # a pool of earlier documents to copy from (bounded)
    handles = [gzip.open(folder / f"part{i:03d}.jsonl.gz", "wt") for i in range(files)]
    for i in range(n_docs):
        if keep and rng.random() < 0.10:
            origin, words = rng.choice(keep)
            words = list(words)
            for _ in range(max(1, round(len(words) * rng.uniform(0.05, 0.10)))):
                j = rng.randrange(len(words))
                op = rng.random()
                if op < 0.6:
                    words[j] = rng.choice(vocab)
                elif op < 0.8:
                    del words[j]
                else:
                    words.insert(j, rng.choice(vocab))
            planted[f"d{i}"] = origin
        else:
            words = [rng.choice(vocab) for _ in range(rng.randint(80, 200))]
            if len(keep) < 20_000:
                keep.append((f"d{i}", words))
            else:
                keep[rng.randrange(len(keep))] = (f"d{i}", words)
        doc = {"id": f"d{i}", "text": " ".join(words)}
        handles[i % files].write(json.dumps(doc) + "\n")
    for h in handles:
        h.close()
    return planted


class PeakMemory(PipelineStep):
    """Last step of every task: records the task process's peak RSS in its stats."""

    name = "peak memory"

    def run(self, data, rank: int = 0, world_size: int = 1):
        if data:
            yield from data
        self.stat_update(
            "peak_rss_mb", value=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        )


class FactoryKey(PipelineStep):
    """The reader-level key factory's corpus reader stamps (priority, file, record)."""

    name = "key"

    def run(self, data, rank: int = 0, world_size: int = 1):
        for n, doc in enumerate(data):
            doc.metadata["key"] = [0, rank, n]
            doc.metadata["source"] = "synthetic"
            yield doc


def run_stage(pipeline, tasks, logs: Path) -> float:
    """Runs one stage; returns the largest peak RSS (MB) of its tasks."""
    LocalPipelineExecutor(
        pipeline=[*pipeline, PeakMemory()],
        tasks=tasks,
        workers=2,
        logging_dir=str(logs),
        start_method="fork",
    ).run()
    peak = 0.0
    for stats in (logs / "stats").glob("*.json"):
        for step in json.loads(stats.read_text()):
            if step["name"].endswith("peak memory"):
                value = step["stats"].get("peak_rss_mb", 0)
                peak = max(
                    peak,
                    value.get("max", value.get("total", 0)) if isinstance(value, dict) else value,
                )
    return peak


def cpu_seconds() -> float:
    """User + system time of this process and of its reaped children (the task processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def kept_ids(folder: Path) -> set[str]:
    ids = set()
    for path in folder.rglob("*.jsonl.gz"):
        with gzip.open(path, "rt") as handle:
            ids.update(json.loads(line)["id"] for line in handle)
    return ids


def bench_factory(data: Path, work: Path, tasks: int, memory_gb: float) -> tuple[float, float, set]:
    hasher = minhasher_for(0, 2, 32, 4)
    index = str(work / "index")
    start = time.perf_counter()
    peaks = [
        run_stage(
            [
                JsonlReader(str(data)),
                FactoryKey(),
                StampShard(),
                DedupSignatures(index, hasher, url=False, exact=False, memory_gb=memory_gb),
            ],
            tasks,
            work / "logs1",
        ),
        run_stage([DedupBuckets(index, 34, 0.5, [], memory_gb=memory_gb)], tasks, work / "logs2"),
        run_stage([DedupClusters(index, ["synthetic"])], 1, work / "logs3"),
        run_stage(
            [
                JsonlReader(str(data)),
                FactoryKey(),
                StampShard(),
                DedupFilter(index),
                JsonlWriter(str(work / "out")),
            ],
            tasks,
            work / "logs4",
        ),
    ]
    return time.perf_counter() - start, max(peaks), kept_ids(work / "out")


def bench_datatrove(data: Path, work: Path, tasks: int) -> tuple[float, float, set]:
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig

    config = MinhashConfig(n_grams=2, num_buckets=32, hashes_per_bucket=4)
    sigs, buckets, clusters = work / "sigs", work / "buckets", work / "clusters"
    start = time.perf_counter()
    peaks = [
        run_stage(
            [JsonlReader(str(data)), MinhashDedupSignature(str(sigs), config=config)],
            tasks,
            work / "logs1",
        ),
        # datatrove's bucket stage splits by bucket: one task per bucket (32)
        run_stage(
            [MinhashDedupBuckets(str(sigs), str(buckets), config=config)],
            config.num_buckets,
            work / "logs2",
        ),
        run_stage(
            [MinhashDedupCluster(str(buckets), str(clusters), config=config)], 1, work / "logs3"
        ),
        run_stage(
            [
                JsonlReader(str(data)),
                MinhashDedupFilter(str(clusters)),
                JsonlWriter(str(work / "out")),
            ],
            tasks,
            work / "logs4",
        ),
    ]
    return time.perf_counter() - start, max(peaks), kept_ids(work / "out")


def score(removed: set[str], planted: dict[str, str]) -> tuple[float, float]:
    """An original and its k copies form a group from which any k must go (either copy may be kept)."""
    groups: dict[str, set[str]] = {}
    for copy, origin in planted.items():
        groups.setdefault(origin, {origin}).add(copy)
    right = sum(min(len(members & removed), len(members) - 1) for members in groups.values())
    return right / max(len(planted), 1), right / max(len(removed), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--memory-gb", type=float, default=2.0)
    parser.add_argument(
        "--only", choices=["factory", "datatrove"], help="run one side (no ratio printed)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        planted = make_corpus(data, args.docs, files=args.tasks)
        all_ids = {f"d{i}" for i in range(args.docs)}
        print(
            f"documents: {args.docs:,} ({len(planted):,} planted near-copies, 5-10% of words edited)"
        )
        results, cpu = {}, {}
        for name, fn in (
            ("factory", lambda: bench_factory(data, root / "f", args.tasks, args.memory_gb)),
            ("datatrove", lambda: bench_datatrove(data, root / "d", args.tasks)),
        ):
            if args.only and name != args.only:
                continue
            cpu_before = cpu_seconds()
            elapsed, peak, kept = fn()
            cpu[name] = cpu_seconds() - cpu_before
            removed = all_ids - kept
            recall, precision = score(removed, planted)
            results[name] = elapsed
            print(
                f"{name:9s}: {elapsed:8.1f} s, {args.docs / elapsed:9,.0f} docs/s, CPU {cpu[name]:,.0f} s, "
                f"peak RSS per task {peak:,.0f} MB, "
                f"recall {recall:.3f}, precision {precision:.3f}"
            )
        if len(results) == 2:
            ratio = results["datatrove"] / results["factory"]
            print(f"ratio (factory docs/s / datatrove docs/s): {ratio:.2f}x")
            print(
                f"ratio of CPU time (datatrove / factory): {cpu['datatrove'] / cpu['factory']:.2f}x"
            )


if __name__ == "__main__":
    main()
