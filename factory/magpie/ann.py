"""Magpie's nearest-neighbour distance over the whole set, with a faiss index in bounded memory.

Definition (magpie's `exp/gen_dis.py`): embeddings are L2-normalised; every row is searched
against an index of all rows; `min_neighbor_distance` is the squared L2 distance to the nearest
other row (faiss `IndexFlatL2` returns squared distances; for unit vectors it is 2 - 2·cos, so
Magpie's 0.05 threshold is cosine ≥ 0.975); the rows within the threshold (the row itself
included) form its neighbourhood, and `min_similar_id` is the id of the lowest-position row in
it. "Keep `min_similar_id == id`" keeps, of each group of near duplicates, the row that comes
first in the dataset, whichever shard or task looked at it: the result is deterministic.

Scale: rows are embedded in shards (one file per checkpoint chunk). `build_index` streams the
shards into one index: exact `IndexFlatL2` up to `exact_below` rows, else `IndexIVFScalarQuantizer`
(8-bit codes: 384 bytes per 384-d row, 1.4 GB at 3.64M rows; k-means trained on a fixed strided
sample with a fixed seed) and a float16 memmap of the vectors in row order. Queries run in
several tasks, each on its own rows (`neighbours`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factory.errors import MissingDependency

INDEX_FILE = "index.faiss"
VECTORS_FILE = "vectors.f16.npy"
IDS_FILE = "ids.txt"


def import_faiss():
    try:
        import faiss
    except ImportError:
        raise MissingDependency(
            "faiss", "faiss-cpu>=1.8", "nearest-neighbour tagging (pip install faiss-cpu)"
        ) from None
    return faiss


@dataclass(frozen=True)
class IndexParams:
    exact_below: int = 100_000  # up to this many rows: exact search
    nlist: int | None = None  # IVF lists (default: about 4·sqrt(n))
    nprobe: int = 8  # IVF lists visited per query
    train_per_list: int = 40  # k-means trains on this many vectors per list (faiss wants >= 39)
    niter: int = 10  # k-means iterations
    seed: int = 1234
    threads: int = 0  # faiss threads (0: faiss' default)


def default_nlist(n: int) -> int:
    return int(max(1, min(65536, 4 * round(np.sqrt(n)))))


def _train_sample(shards: Sequence[np.ndarray], size: int) -> np.ndarray:
    """A fixed strided sample over all shards, in row order (no randomness to seed)."""
    total = sum(len(s) for s in shards)
    step = max(1, total // size)
    picks, offset = [], 0
    for shard in shards:
        first = (-offset) % step
        picks.append(np.asarray(shard[first::step], dtype=np.float32))
        offset += len(shard)
    return np.concatenate(picks)[:size]


def build_index(
    shards: Sequence[np.ndarray], ids: Iterable[str], out: Path, params: IndexParams = IndexParams()
) -> dict:
    """Index every shard (row order = shard order), write the index, vectors and ids to `out`.

    `shards` may be memmaps: only the training sample and one shard at a time are in memory.
    Returns what was built (for the card).
    """
    faiss = import_faiss()
    if params.threads:
        faiss.omp_set_num_threads(params.threads)
    out.mkdir(parents=True, exist_ok=True)
    n = sum(len(s) for s in shards)
    dim = shards[0].shape[1] if shards else 0
    vectors = np.lib.format.open_memmap(
        out / f".{VECTORS_FILE}", mode="w+", dtype=np.float16, shape=(n, dim)
    )
    if n <= params.exact_below:
        index = faiss.IndexFlatL2(dim)
        kind = {"index": "IndexFlatL2 (exact)"}
    else:
        nlist = params.nlist or default_nlist(n)
        quantizer = faiss.IndexFlatL2(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_L2
        )
        index.cp.seed = params.seed
        index.cp.niter = params.niter
        index.train(_train_sample(shards, min(n, params.train_per_list * nlist)))
        index.nprobe = params.nprobe
        kind = {"index": "IndexIVFScalarQuantizer (8-bit)", "nlist": nlist, "nprobe": params.nprobe}
    row = 0
    for shard in shards:
        chunk = np.ascontiguousarray(shard, dtype=np.float32)
        index.add(chunk)
        vectors[row : row + len(chunk)] = chunk
        row += len(chunk)
    vectors.flush()
    del vectors
    faiss.write_index(index, str(out / f".{INDEX_FILE}"))
    (out / f".{IDS_FILE}").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    # the three files appear together: the index last, after the files it pairs with
    for name in (VECTORS_FILE, IDS_FILE, INDEX_FILE):
        (out / f".{name}").replace(out / name)
    return {"rows": n, "dim": dim, **kind}


@dataclass(frozen=True)
class Neighbourhood:
    min_neighbor_distance: float | None  # squared L2 to the nearest other row; None when alone
    min_similar_position: int  # lowest row position within the threshold (itself included)
    repeat_count: int  # other rows within the threshold


class NeighbourIndex:
    """A built index opened for queries by position."""

    def __init__(self, folder: Path, nprobe: int | None = None):
        faiss = import_faiss()
        self.index = faiss.read_index(str(folder / INDEX_FILE))
        if nprobe is not None and hasattr(self.index, "nprobe"):
            self.index.nprobe = nprobe
        self.vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        self.ids = (folder / IDS_FILE).read_text(encoding="utf-8").splitlines()

    def query(self, positions: Sequence[int], k: int, threshold: float) -> list[Neighbourhood]:
        queries = np.asarray(self.vectors[np.asarray(positions, dtype=np.int64)], dtype=np.float32)
        distances, found = self.index.search(queries, min(k, self.index.ntotal))
        return [
            neighbourhood(pos, d, f, threshold) for pos, d, f in zip(positions, distances, found)
        ]


def neighbourhood(
    position: int, distances: np.ndarray, found: np.ndarray, threshold: float
) -> Neighbourhood:
    others = [(float(d), int(f)) for d, f in zip(distances, found) if f >= 0 and f != position]
    close = [f for d, f in others if d < threshold]
    return Neighbourhood(
        min_neighbor_distance=round(max(0.0, min(d for d, _ in others)), 6) if others else None,
        min_similar_position=min([position, *close]),
        repeat_count=len(close),
    )
