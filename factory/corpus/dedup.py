"""Priority-aware deduplication: URL exact, document exact, MinHash-LSH near duplicates, paragraphs.

Four datatrove steps, each unaware of the executor that runs it:

1. `DedupSignatures` (any number of tasks): per document, 64-bit keys (normalized URL, normalized
   text, one per LSH band) and, for paragraph dedup, one key per paragraph. Each task writes its
   records sorted, one `.npy` file per key kind, plus its documents' MinHash signatures.
2. `DedupBuckets` (any number of tasks; key kind `k` goes to task `k % world_size`): finds the
   groups of equal keys across all tasks' files and pairs every member with the group's
   preferred copy (lowest `[priority, file, record]`). Near-duplicate pairs are verified on the
   full signatures (estimated Jaccard >= threshold), so LSH false positives are dropped.
3. `DedupClusters` (one task): union-find over the pairs only; the kept copy of each cluster is
   its preferred member, so the higher-priority source always wins.
4. `DedupFilter` (any number of tasks): drops the removed documents with the reason and the
   document they duplicated, and cuts repeated paragraphs out of low-quality sources.

Memory bounds: a signature task holds its own documents' records (about 32 bytes per key, i.e.
(2 + bands) keys per document, plus 4 bytes per permutation), so more tasks means less memory
per task. A bucket task never loads a whole key file: it walks the 64-bit key space in ranges
holding about `chunk_records` records, slicing every task's sorted, memory-mapped file with a
binary search. Signatures are read through memory maps. The cluster task holds only duplicate
pairs and removed paragraphs, and a filter task loads only the removals of the shard it reads.
No step holds all documents.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from factory.builds.files import finished_npy, save_npy_atomic, write_text_atomic
from factory.builds.seeds import derive_seed

KIND_URL, KIND_EXACT = 0, 1  # LSH bands are kinds 2 .. 2 + bands - 1
REASONS = {KIND_URL: "dedup_url", KIND_EXACT: "dedup_exact"}
NEAR_REASON = "dedup_near"
SHARD_KEY = "shard"
_MERSENNE = np.uint64((1 << 61) - 1)
_WORD = re.compile(r"\w+")

RECORD = np.dtype(
    [
        ("hash", "<u8"),
        ("prio", "<u4"),
        ("file", "<u4"),
        ("rec", "<u8"),
        ("shard", "<u4"),
        ("srank", "<u4"),
        ("pos", "<u8"),
    ]
)
PARA_RECORD = np.dtype(RECORD.descr + [("para", "<u4")])
PAIR = np.dtype(
    [
        ("prio", "<u4"),
        ("file", "<u4"),
        ("rec", "<u8"),
        ("shard", "<u4"),
        ("oprio", "<u4"),
        ("ofile", "<u4"),
        ("orec", "<u8"),
        ("kind", "<u4"),
    ]
)
_ORDER = ["hash", "prio", "file", "rec"]


# -- keys -------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """Scheme-less, lowercase host without `www.`, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}" if host else url.strip().lower()


def _h64(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))


def exact_key(text: str) -> int:
    """Equal for texts that differ only in case, accents' composition and whitespace."""
    return _h64(" ".join(unicodedata.normalize("NFC", text).lower().split()))


def paragraphs(text: str) -> list[str]:
    """Non-empty lines: the unit paragraph dedup counts and cuts."""
    return [line.strip() for line in text.split("\n") if line.strip()]


class MinHasher:
    """MinHash over word n-gram shingles with `bands * rows` seeded universal hash functions."""

    def __init__(self, seed: int, ngram: int, bands: int, rows: int):
        self.ngram, self.bands, self.rows = ngram, bands, rows
        rng = np.random.default_rng(seed)
        n = bands * rows
        # full-range coefficients: with small ones, (a*x + b) mod p barely wraps and every
        # permutation picks the same minimum shingle
        self.a = rng.integers(1, (1 << 61) - 1, size=n, dtype=np.uint64)
        self.b = rng.integers(0, (1 << 61) - 1, size=n, dtype=np.uint64)

    def shingles(self, text: str) -> np.ndarray:
        words = _WORD.findall(text.lower())
        n = self.ngram
        grams = (
            {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}
            if words
            else {""}
        )
        return np.fromiter(
            (xxhash.xxh32_intdigest(g) for g in grams), dtype=np.uint64, count=len(grams)
        )

    def signature(self, text: str) -> np.ndarray:
        x = self.shingles(text)
        # a*x + b wraps modulo 2**64 before the mod p, as datasketch and datatrove do
        values = (np.outer(x, self.a) + self.b) % _MERSENNE
        return (values.min(axis=0) & np.uint64(0xFFFFFFFF)).astype(np.uint32)

    def band_keys(self, signature: np.ndarray) -> list[int]:
        rows = signature.reshape(self.bands, self.rows)
        return [xxhash.xxh3_64_intdigest(row.tobytes()) for row in rows]


def minhasher_for(recipe_seed: int, ngram: int, bands: int, rows: int) -> MinHasher:
    return MinHasher(derive_seed(recipe_seed, "corpus", "minhash") % (1 << 32), ngram, bands, rows)


# -- step 1: signatures ---------------------------------------------------------------------


class StampShard(PipelineStep):
    """Records which task wrote a document (`metadata["shard"]`), to route dedup decisions back."""

    name = "🏷 Shard"
    type = "✂️ - FORMAT"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            doc.metadata[SHARD_KEY] = rank
            yield doc


class DedupSignatures(PipelineStep):
    """Writes dedup keys and MinHash signatures of every document.

    Input columns: text, metadata.{key, url, shard, source}. Output: files under `folder`.
    """

    name = "🔑 Dedup signatures"
    type = "🫂 - DEDUP"

    def __init__(
        self,
        folder: str,
        hasher: MinHasher,
        *,
        url: bool = True,
        exact: bool = True,
        near: bool = True,
        paragraph_min_chars: int | None = None,
    ):
        super().__init__()
        self.folder = Path(folder)
        self.hasher = hasher
        self.url, self.exact, self.near = url, exact, near
        self.paragraph_min_chars = paragraph_min_chars

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        n_kinds = 2 + self.hasher.bands
        records: list[list[tuple]] = [[] for _ in range(n_kinds)]
        para_records: list[tuple] = []
        signatures: list[np.ndarray] = []
        for pos, doc in enumerate(data):
            with self.track_time():
                prio, file, rec = doc.metadata["key"]
                head = (prio, file, rec, doc.metadata.get(SHARD_KEY, 0), rank, pos)
                if self.url and doc.metadata.get("url"):
                    records[KIND_URL].append((_h64(normalize_url(doc.metadata["url"])), *head))
                if self.exact:
                    records[KIND_EXACT].append((exact_key(doc.text), *head))
                if self.near:
                    sig = self.hasher.signature(doc.text)
                    signatures.append(sig)
                    for band, key in enumerate(self.hasher.band_keys(sig)):
                        records[2 + band].append((key, *head))
                if self.paragraph_min_chars is not None:
                    for index, para in enumerate(paragraphs(doc.text)):
                        if len(para) >= self.paragraph_min_chars:
                            para_records.append((exact_key(para), *head, index))
                self.stat_update("documents")
        for kind, rows in enumerate(records):
            _save_sorted(self.folder / f"kind{kind:03d}" / f"{rank:05d}.npy", rows, RECORD)
        if self.paragraph_min_chars is not None:
            _save_sorted(self.folder / "paragraphs" / f"{rank:05d}.npy", para_records, PARA_RECORD)
        width = self.hasher.bands * self.hasher.rows
        sigs = np.stack(signatures) if signatures else np.zeros((0, width), dtype=np.uint32)
        save_npy_atomic(self.folder / "minhash" / f"{rank:05d}.npy", sigs)
        return
        yield  # a generator that yields nothing: the last step of its stage


def _save_sorted(path: Path, rows: list[tuple], dtype: np.dtype) -> None:
    array = np.array(rows, dtype=dtype) if rows else np.zeros(0, dtype=dtype)
    array.sort(order=_ORDER + (["para"] if "para" in dtype.names else []))
    save_npy_atomic(path, array)


# -- step 2: buckets --------------------------------------------------------------------------


def _ranges(arrays: list[np.ndarray], chunk_records: int):
    """Split the 64-bit key space so each range holds about `chunk_records` records in all."""
    total = sum(len(a) for a in arrays)
    parts = max(1, -(-total // chunk_records))
    edges = [(i << 64) // parts for i in range(parts + 1)]
    for low, high in zip(edges[:-1], edges[1:]):
        chunk = []
        for array in arrays:
            start = (
                np.searchsorted(array["hash"], np.uint64(low), side="left")
                if low < (1 << 64)
                else len(array)
            )
            stop = (
                np.searchsorted(array["hash"], np.uint64(high), side="left")
                if high < (1 << 64)
                else len(array)
            )
            if stop > start:
                chunk.append(np.asarray(array[start:stop]))
        if chunk:
            yield np.concatenate(chunk)


class DedupBuckets(PipelineStep):
    """Pairs every duplicate with the preferred copy of its key group (verified for LSH bands).

    Output: `pairs/{rank}.npy` (document pairs) and `para/{rank}.npy` (repeated paragraphs to cut).
    """

    name = "🪣 Dedup buckets"
    type = "🫂 - DEDUP"

    def __init__(
        self,
        folder: str,
        n_kinds: int,
        threshold: float,
        low_quality_priorities: list[int],
        chunk_records: int = 2_000_000,
    ):
        super().__init__()
        self.folder = Path(folder)
        self.n_kinds = n_kinds
        self.threshold = threshold
        self.low_quality = np.array(sorted(low_quality_priorities), dtype=np.uint32)
        self.chunk_records = chunk_records
        self._sigs: dict[int, np.ndarray] = {}

    def _signature_rows(self, srank: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = None
        for r in np.unique(srank):
            if int(r) not in self._sigs:
                self._sigs[int(r)] = np.load(
                    self.folder / "minhash" / f"{int(r):05d}.npy", mmap_mode="r"
                )
            sel = srank == r
            rows = self._sigs[int(r)][pos[sel].astype(np.int64)]
            if out is None:
                out = np.zeros((len(srank), rows.shape[1]), dtype=np.uint32)
            out[sel] = rows
        return out

    def _pairs(self, chunk: np.ndarray, kind: int) -> np.ndarray:
        chunk.sort(order=_ORDER)
        starts = np.r_[True, chunk["hash"][1:] != chunk["hash"][:-1]]
        group = np.cumsum(starts) - 1
        heads = chunk[np.flatnonzero(starts)][group]
        dup = ~starts
        if not dup.any():
            return np.zeros(0, dtype=PAIR)
        members, origs = chunk[dup], heads[dup]
        if kind >= 2:  # LSH candidate: keep only pairs whose full signatures agree enough
            a = self._signature_rows(members["srank"], members["pos"])
            b = self._signature_rows(origs["srank"], origs["pos"])
            keep = (a == b).mean(axis=1) >= self.threshold
            self.stat_update("near_candidates", value=int(len(keep)))
            self.stat_update("near_rejected", value=int((~keep).sum()))
            members, origs = members[keep], origs[keep]
        pairs = np.zeros(len(members), dtype=PAIR)
        for name in ("prio", "file", "rec", "shard"):
            pairs[name] = members[name]
        pairs["oprio"], pairs["ofile"], pairs["orec"] = origs["prio"], origs["file"], origs["rec"]
        pairs["kind"] = kind
        return pairs

    def _paragraph_cuts(self, chunk: np.ndarray) -> np.ndarray:
        chunk.sort(order=_ORDER + ["para"])
        starts = np.r_[True, chunk["hash"][1:] != chunk["hash"][:-1]]
        repeated = chunk[~starts]
        # every copy after the preferred one goes, but only from low-quality sources
        return repeated[np.isin(repeated["prio"], self.low_quality)]

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        pairs, cuts = [], []
        for kind in range(rank, self.n_kinds, world_size):
            arrays = [
                np.load(f, mmap_mode="r") for f in finished_npy(self.folder / f"kind{kind:03d}")
            ]
            for chunk in _ranges(arrays, self.chunk_records):
                pairs.append(self._pairs(chunk, kind))
        if rank == 0 and len(self.low_quality) and (self.folder / "paragraphs").is_dir():
            arrays = [np.load(f, mmap_mode="r") for f in finished_npy(self.folder / "paragraphs")]
            for chunk in _ranges(arrays, self.chunk_records):
                cuts.append(self._paragraph_cuts(chunk))
        out = np.concatenate(pairs) if pairs else np.zeros(0, dtype=PAIR)
        self.stat_update("pairs", value=int(len(out)))
        save_npy_atomic(self.folder / "pairs" / f"{rank:05d}.npy", out)
        para = np.concatenate(cuts) if cuts else np.zeros(0, dtype=PARA_RECORD)
        self.stat_update("paragraph_cuts", value=int(len(para)))
        save_npy_atomic(self.folder / "para" / f"{rank:05d}.npy", para)
        return
        yield


# -- step 3: clusters ----------------------------------------------------------------------------


class DedupClusters(PipelineStep):
    """Union-find over duplicate pairs; writes `removals/{shard}.json` (what goes, what it duplicated).

    A removed document's reason is the most direct match that links it into its cluster
    (URL, then exact text, then near), and `duplicate_of` is the cluster's kept copy.
    """

    name = "🧩 Dedup clusters"
    type = "🫂 - DEDUP"

    def __init__(self, folder: str, sources: list[str]):
        super().__init__()
        self.folder = Path(folder)
        self.sources = sources

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        parent: dict[tuple, tuple] = {}

        def find(x):
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:  # path compression
                parent[x], x = root, parent[x]
            return root

        shards: dict[tuple, int] = {}
        kinds: dict[tuple, int] = {}
        files = finished_npy(self.folder / "pairs")
        for path in files:
            for p in np.load(path):
                a = (int(p["prio"]), int(p["file"]), int(p["rec"]))
                b = (int(p["oprio"]), int(p["ofile"]), int(p["orec"]))
                shards[a] = int(p["shard"])
                kind = min(int(p["kind"]), 2)
                kinds[a] = min(kinds.get(a, kind), kind)
                ra, rb = find(a), find(b)
                if ra != rb:  # the preferred key becomes the root: priority wins
                    lo, hi = (ra, rb) if ra < rb else (rb, ra)
                    parent[hi] = lo
        removals: dict[int, dict[str, dict]] = {}
        for key, shard in shards.items():
            root = find(key)
            if root == key:
                continue
            entry = {
                "reason": REASONS.get(kinds[key], NEAR_REASON),
                "duplicate_of": {"source": self.sources[root[0]], "key": list(root)},
            }
            removals.setdefault(shard, {})[json.dumps(list(key))] = entry
            self.stat_update(entry["reason"])
        cuts: dict[int, dict[str, list[int]]] = {}
        for path in finished_npy(self.folder / "para"):
            for c in np.load(path):
                key = json.dumps([int(c["prio"]), int(c["file"]), int(c["rec"])])
                cuts.setdefault(int(c["shard"]), {}).setdefault(key, []).append(int(c["para"]))
        out = self.folder / "removals"
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob("*.json"):
            stale.unlink()
        for shard in sorted(set(removals) | set(cuts)):
            payload = {"documents": removals.get(shard, {}), "paragraphs": cuts.get(shard, {})}
            write_text_atomic(out / f"{shard:05d}.json", json.dumps(payload, sort_keys=True))
        return
        yield


# -- step 4: filter ----------------------------------------------------------------------------------


class DedupFilter(BaseFilter):
    """Drops duplicates (recording `metadata["duplicate_of"]`) and cuts repeated paragraphs.

    Drops (reasons): `dedup_url`, `dedup_exact`, `dedup_near`, `dedup_paragraphs_empty`
    (a low-quality document with nothing left after its repeated paragraphs were cut).
    """

    name = "🫂 Dedup filter"

    def __init__(self, folder: str, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.folder = Path(folder)
        self._loaded: dict[int, dict] = {}

    def _removals(self, shard: int) -> dict:
        if shard not in self._loaded:
            path = self.folder / "removals" / f"{shard:05d}.json"
            self._loaded[shard] = (
                json.loads(path.read_text())
                if path.exists()
                else {"documents": {}, "paragraphs": {}}
            )
        return self._loaded[shard]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        table = self._removals(int(doc.metadata.get(SHARD_KEY, 0)))
        key = json.dumps(list(doc.metadata["key"]))
        entry = table["documents"].get(key)
        if entry:
            doc.metadata["duplicate_of"] = entry["duplicate_of"]
            return False, entry["reason"]
        cut = table["paragraphs"].get(key)
        if cut:
            drop = set(cut)
            kept, index = [], 0
            for line in doc.text.split("\n"):
                if line.strip():
                    if index in drop:
                        index += 1
                        continue
                    index += 1
                kept.append(line)
            doc.text = "\n".join(kept).strip()
            self.stat_update("paragraphs_cut", value=len(drop))
            if not doc.text:
                return False, "dedup_paragraphs_empty"
        return True
