"""Seeded per-source train/validation/test splits (the paper: shuffle each source, 98/1/1).

A seeded shuffle of a source is its documents ordered by a keyed hash (seed, source, document
key); the first `round(n * test)` go to test, the next `round(n * validation)` to validation.
`SplitKeys` writes 12 bytes per document, `SplitPlan` turns them into two hash cut-offs per
source (memory: those 12 bytes per kept document, in one task), `SplitAssign` applies them in
any number of tasks. Same recipe and seed -> same splits, whatever the executor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.builds.files import finished_npy, save_npy_atomic, write_text_atomic

KEY = np.dtype([("prio", "<u4"), ("hash", "<u8")])


def split_hash(seed: int, doc) -> int:
    prio, file, rec = doc.metadata["key"]
    return xxhash.xxh3_64_intdigest(f"{seed}:{prio}:{file}:{rec}".encode())


def split_sizes(n: int, validation: float, test: float) -> tuple[int, int]:
    """Documents for (test, validation); a source of 3 or more documents gets at least one of each."""
    n_test = int(n * test + 0.5)
    n_val = int(n * validation + 0.5)
    if n >= 3:
        n_test = max(n_test, 1 if test > 0 else 0)
        n_val = max(n_val, 1 if validation > 0 else 0)
    return n_test, n_val


class SplitKeys(PipelineStep):
    """Writes each document's (source priority, split hash) to `{folder}/{rank}.npy`; passes documents on."""

    name = "🔀 Split keys"
    type = "✂️ - FORMAT"

    def __init__(self, folder: str, seed: int):
        super().__init__()
        self.folder = Path(folder)
        self.seed = seed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        keys = []
        for doc in data:
            keys.append((doc.metadata["priority"], split_hash(self.seed, doc)))
            yield doc
        save_npy_atomic(self.folder / f"{rank:05d}.npy", np.array(keys, dtype=KEY))


class SplitPlan(PipelineStep):
    """Computes per source the hash cut-offs of test and validation; writes `plan.json`."""

    name = "🗺 Split plan"
    type = "✂️ - FORMAT"

    def __init__(self, keys_folder: str, plan_path: str, validation: float, test: float):
        super().__init__()
        self.keys_folder = Path(keys_folder)
        self.plan_path = Path(plan_path)
        self.validation, self.test = validation, test

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        files = finished_npy(self.keys_folder)
        keys = np.concatenate([np.load(p) for p in files]) if files else np.zeros(0, dtype=KEY)
        plan = {}
        for prio in np.unique(keys["prio"]):
            hashes = np.sort(keys["hash"][keys["prio"] == prio])
            n_test, n_val = split_sizes(len(hashes), self.validation, self.test)
            # a document is in test when its hash < test_below, else validation when < validation_below
            plan[str(int(prio))] = {
                "docs": len(hashes),
                "test_below": _cut(hashes, n_test),
                "validation_below": _cut(hashes, n_test + n_val),
            }
        write_text_atomic(self.plan_path, json.dumps(plan, sort_keys=True))
        return
        yield


class SplitAssign(PipelineStep):
    """Sets `metadata["split"]` from the plan."""

    name = "🔀 Split"
    type = "✂️ - FORMAT"

    def __init__(self, plan_path: str, seed: int):
        super().__init__()
        self.plan_path = Path(plan_path)
        self.seed = seed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        plan = json.loads(self.plan_path.read_text())
        for doc in data:
            cuts = plan[str(doc.metadata["priority"])]
            h = split_hash(self.seed, doc)
            split = (
                "test"
                if h < cuts["test_below"]
                else "validation"
                if h < cuts["validation_below"]
                else "train"
            )
            doc.metadata["split"] = split
            self.stat_update(split)
            yield doc


def _cut(hashes: np.ndarray, k: int) -> int:
    """The k-th smallest hash, or past every hash when k is the whole source."""
    return int(hashes[k]) if k < len(hashes) else 1 << 64
