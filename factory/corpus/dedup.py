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

Memory bounds (`dedup.memory_gb`, whatever the input size): a signature task keeps its keys in
one preallocated array of about `memory_gb` / 2 and, when it is full, sorts it and spills it to
disk as one sorted run per key kind (`kind{k}/{rank}-{run}.npy`); MinHash signatures are appended
to a raw file (`minhash/{rank}.u32`) as they are computed. A bucket task owns whole key kinds
(kind `k` goes to task `k % world_size`) and walks each kind's 64-bit key space in hash ranges
holding about `memory_gb` / 4 worth of records, slicing every run with a binary search on its
memory map, so its memory is set by the recipe, not by how many documents a task read; its
pairs go to disk per kind. The cluster task holds only the duplicate pairs (a vectorized
union-find over their keys) and a filter task loads only the removals of the shard it reads.
No step holds all documents. Every node must see the index folder at the same path.
"""

from __future__ import annotations

import json
import os
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
ID_KEY = np.dtype([("prio", "<u4"), ("file", "<u4"), ("rec", "<u8")])


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

    def band_keys_array(self, signature: np.ndarray) -> np.ndarray:
        """One 64-bit key per band: equal exactly when the band's `rows` values are equal (up to
        64-bit collisions), computed for all bands at once (FNV-1a style, with a final mix)."""
        rows = signature.reshape(self.bands, self.rows).astype(np.uint64)
        h = np.full(self.bands, 0xCBF29CE484222325, dtype=np.uint64)
        for j in range(self.rows):
            h = (h ^ rows[:, j]) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        return h


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


RECORD_BYTES = RECORD.itemsize


def records_for(memory_gb: float, share: float) -> int:
    """How many key records fit in `share` of `memory_gb` (at least 1000)."""
    return max(1000, int(memory_gb * share * 2**30) // RECORD_BYTES)


class _SortedRuns:
    """Records of every key kind in one preallocated array; sorted and spilled per kind when full."""

    def __init__(
        self, folder: Path, rank: int, n_kinds: int, capacity: int, dtype=RECORD, subdir=None
    ):
        self.folder, self.rank, self.n_kinds = folder, rank, n_kinds
        self.subdir = subdir  # one folder for every kind (paragraphs), else kind{k}
        self.buf = np.zeros(capacity, dtype=dtype)
        self.kind = np.zeros(capacity, dtype=np.uint16)
        self.n = 0
        self.runs = 0

    def add(self, kind, hashes, head: tuple) -> None:
        """Append records: `kind` (one value or one per hash), their hashes, and a shared head."""
        hashes = np.atleast_1d(np.asarray(hashes, dtype=np.uint64))
        if self.n + len(hashes) > len(self.buf):
            self.spill()
        i, j = self.n, self.n + len(hashes)
        rows = self.buf[i:j]
        rows["hash"] = hashes
        for name, value in zip(RECORD.names[1:], head):
            rows[name] = value
        self.kind[i:j] = kind
        self.n = j

    def add_rows(self, kind: int, rows: np.ndarray) -> None:
        if self.n + len(rows) > len(self.buf):
            self.spill()
        self.buf[self.n : self.n + len(rows)] = rows
        self.kind[self.n : self.n + len(rows)] = kind
        self.n += len(rows)

    def spill(self) -> None:
        rows, kinds = self.buf[: self.n], self.kind[: self.n]
        names = list(rows.dtype.names)
        keys = [rows[name] for name in reversed(_ORDER + (["para"] if "para" in names else []))]
        order = np.lexsort([*keys, kinds])
        rows, kinds = rows[order], kinds[order]
        bounds = np.searchsorted(kinds, np.arange(self.n_kinds + 1))
        for kind in range(self.n_kinds):
            part = rows[bounds[kind] : bounds[kind + 1]]
            if len(part) or self.runs == 0:  # every kind has a run 0, so an empty task is visible
                where = self.subdir or f"kind{kind:03d}"
                save_npy_atomic(self.folder / where / f"{self.rank:05d}-{self.runs:04d}.npy", part)
        self.runs += 1
        self.n = 0


class DedupSignatures(PipelineStep):
    """Writes dedup keys and MinHash signatures of every document, in memory bounded by `memory_gb`.

    Input columns: text, id, metadata.{key, url, shard, source}. Output: files under `folder`.
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
        memory_gb: float = 2.0,
    ):
        super().__init__()
        self.folder = Path(folder)
        self.hasher = hasher
        self.url, self.exact, self.near = url, exact, near
        self.paragraph_min_chars = paragraph_min_chars
        self.memory_gb = memory_gb

    def _clear(self, rank: int) -> None:
        """A rerun task starts clean: runs of an earlier attempt would be read twice."""
        for pattern in ("kind*", "paragraphs", "minhash", "ids"):
            for old in self.folder.glob(f"{pattern}/{rank:05d}[-.]*"):
                old.unlink()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._clear(rank)
        n_kinds = 2 + self.hasher.bands
        capacity = records_for(self.memory_gb, 0.4)
        runs = _SortedRuns(self.folder, rank, n_kinds, capacity)
        paras = (
            _SortedRuns(self.folder, rank, 1, capacity // 4, PARA_RECORD, subdir="paragraphs")
            if self.paragraph_min_chars is not None
            else None
        )
        band_kinds = np.arange(2, n_kinds, dtype=np.uint16)
        width = self.hasher.bands * self.hasher.rows
        sig_path = self.folder / "minhash" / f"{rank:05d}.u32"
        sig_path.parent.mkdir(parents=True, exist_ok=True)
        ids_path = self.folder / "ids" / f"{rank:05d}.jsonl"
        ids_path.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(sig_path.with_suffix(".tmp"), "wb") as sigs,
            open(ids_path.with_suffix(".tmp"), "w", encoding="utf-8") as ids,
        ):
            for pos, doc in enumerate(data):
                with self.track_time():
                    prio, file, rec = doc.metadata["key"]
                    head = (prio, file, rec, doc.metadata.get(SHARD_KEY, 0), rank, pos)
                    if self.url and doc.metadata.get("url"):
                        runs.add(KIND_URL, _h64(normalize_url(doc.metadata["url"])), head)
                    if self.exact:
                        runs.add(KIND_EXACT, exact_key(doc.text), head)
                    if self.near:
                        sig = self.hasher.signature(doc.text)
                        sigs.write(sig.tobytes())
                        runs.add(band_kinds, self.hasher.band_keys_array(sig), head)
                    if paras is not None:
                        for index, para in enumerate(paragraphs(doc.text)):
                            if len(para) >= self.paragraph_min_chars:
                                row = np.zeros(1, dtype=PARA_RECORD)
                                row[list(RECORD.names)] = (exact_key(para), *head)
                                row["para"] = index
                                paras.add_rows(0, row)
                    # the kept copy of a cluster is named by its id and source in `duplicate_of`
                    source = json.dumps([doc.id, doc.metadata.get("source")])
                    ids.write(f"{prio}\t{file}\t{rec}\t{source}\n")
                    self.stat_update("documents")
            for handle in (sigs, ids):
                handle.flush()
                os.fsync(handle.fileno())
        runs.spill()
        if paras is not None:
            paras.spill()
        sig_path.with_suffix(".tmp").replace(sig_path)
        ids_path.with_suffix(".tmp").replace(ids_path)
        (self.folder / "minhash" / f"{rank:05d}.width").write_text(str(width))
        return
        yield  # a generator that yields nothing: the last step of its stage


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
        memory_gb: float = 2.0,
    ):
        super().__init__()
        self.folder = Path(folder)
        self.n_kinds = n_kinds
        self.threshold = threshold
        self.low_quality = np.array(sorted(low_quality_priorities), dtype=np.uint32)
        # a chunk is copied about four times (slice, concatenate, sort, group heads)
        self.chunk_records = records_for(memory_gb, 0.15)
        self._sigs: dict[int, np.ndarray] = {}

    def _signature_rows(self, srank: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = None
        for r in np.unique(srank):
            if int(r) not in self._sigs:
                width = int((self.folder / "minhash" / f"{int(r):05d}.width").read_text())
                raw = np.memmap(self.folder / "minhash" / f"{int(r):05d}.u32", np.uint32, "r")
                self._sigs[int(r)] = raw.reshape(-1, width)
            sel = srank == r
            rows = self._sigs[int(r)][pos[sel].astype(np.int64)]
            if out is None:
                out = np.zeros((len(srank), rows.shape[1]), dtype=np.uint32)
            out[sel] = rows
        return out

    def _pairs(self, chunk: np.ndarray, kind: int) -> np.ndarray:
        chunk = chunk[np.lexsort([chunk[name] for name in reversed(_ORDER)])]
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
        cuts = []
        total = 0
        for kind in range(rank, self.n_kinds, world_size):
            arrays = [
                np.load(f, mmap_mode="r") for f in finished_npy(self.folder / f"kind{kind:03d}")
            ]
            pairs = [self._pairs(chunk, kind) for chunk in _ranges(arrays, self.chunk_records)]
            out = np.concatenate(pairs) if pairs else np.zeros(0, dtype=PAIR)
            total += len(out)
            # per kind, named by the kind: the same file whatever the task count
            save_npy_atomic(self.folder / "pairs" / f"kind{kind:03d}.npy", out)
        self.stat_update("pairs", value=int(total))
        if rank == 0 and len(self.low_quality) and (self.folder / "paragraphs").is_dir():
            arrays = [np.load(f, mmap_mode="r") for f in finished_npy(self.folder / "paragraphs")]
            for chunk in _ranges(arrays, self.chunk_records):
                cuts.append(self._paragraph_cuts(chunk))
        para = np.concatenate(cuts) if cuts else np.zeros(0, dtype=PARA_RECORD)
        self.stat_update("paragraph_cuts", value=int(len(para)))
        save_npy_atomic(self.folder / "para" / f"{rank:05d}.npy", para)
        return
        yield


# -- step 3: clusters ----------------------------------------------------------------------------


class DedupClusters(PipelineStep):
    """Union-find over duplicate pairs; writes `removals/{shard}.json` (what goes, what it duplicated).

    A removed document's reason is the most direct match that links it into its cluster
    (URL, then exact text, then near), and `duplicate_of` is the cluster's kept copy: its id and
    source. Vectorized: keys become integers (`np.unique`, which sorts them in preference order),
    and labels shrink to each component's minimum by relaxation and pointer jumping.
    """

    name = "🧩 Dedup clusters"
    type = "🫂 - DEDUP"

    def __init__(self, folder: str, sources: list[str]):
        super().__init__()
        self.folder = Path(folder)
        self.sources = sources

    def _kept_names(self, roots: set[tuple]) -> dict[tuple, dict]:
        """Id and source of each kept copy, from the signature tasks' id tables (streamed)."""
        names: dict[tuple, dict] = {}
        for path in sorted((self.folder / "ids").glob("*.jsonl")):
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    prio, file, rec, rest = line.split("\t", 3)
                    key = (int(prio), int(file), int(rec))
                    if key in roots:
                        doc_id, source = json.loads(rest)
                        names[key] = {"id": doc_id, "source": source}
        return names

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        parts = [np.load(path) for path in finished_npy(self.folder / "pairs")]
        pairs = np.concatenate(parts) if parts else np.zeros(0, dtype=PAIR)
        member = np.zeros(len(pairs), dtype=ID_KEY)
        other = np.zeros(len(pairs), dtype=ID_KEY)
        for name in ID_KEY.names:
            member[name], other[name] = pairs[name], pairs["o" + name]
        keys, inverse = np.unique(np.concatenate([member, other]), return_inverse=True)
        a, b = inverse[: len(pairs)], inverse[len(pairs) :]
        label = np.arange(len(keys))
        while True:  # every key's label becomes the smallest (preferred) key of its component
            low = np.minimum(label[a], label[b])
            new = label.copy()
            np.minimum.at(new, a, low)
            np.minimum.at(new, b, low)
            new = new[new]
            if np.array_equal(new, label):
                break
            label = new
        kind = np.full(len(keys), 255, dtype=np.uint32)
        np.minimum.at(kind, a, np.minimum(pairs["kind"], 2))
        shard = np.zeros(len(keys), dtype=np.uint32)
        shard[a] = pairs["shard"]
        removed = np.flatnonzero((label != np.arange(len(keys))) & (kind != 255))
        roots = {tuple(int(v) for v in keys[i]) for i in np.unique(label[removed])}
        kept = self._kept_names(roots)
        removals: dict[int, dict[str, dict]] = {}
        for i in removed.tolist():
            root = tuple(int(v) for v in keys[label[i]])
            entry = {
                "reason": REASONS.get(int(kind[i]), NEAR_REASON),
                "duplicate_of": kept.get(root, {"id": None, "source": self.sources[root[0]]}),
            }
            removals.setdefault(int(shard[i]), {})[json.dumps([int(v) for v in keys[i]])] = entry
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
        for shard_id in sorted(set(removals) | set(cuts)):
            payload = {
                "documents": removals.get(shard_id, {}),
                "paragraphs": cuts.get(shard_id, {}),
            }
            write_text_atomic(out / f"{shard_id:05d}.json", json.dumps(payload, sort_keys=True))
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
