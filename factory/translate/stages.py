"""The translate stage's steps: the translator (chunked, checkpointed), quality filters, rows.

Chunks: the selected rows are cut into chunks of `checkpoint_every` in input order; task `rank`
of `world_size` takes a contiguous run of chunks (rank order = input order), and chunk `k` is
translated with `derive_seed(seed, "translate", k)`. Seeds hang on chunks, not ranks, so the
number of tasks does not change a translation; a finished chunk is checkpointed whole, so a
rerun after a SIGKILL translates only the chunk that was in flight, with the same seed.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from factory.builds.progress import TaskProgress
from factory.builds.seeds import derive_seed
from factory.errors import RecipeError
from factory.langid import language_fraction
from factory.magpie.checkpoints import ChunkCheckpoints
from factory.translate.messages import translate_messages
from factory.translate.recipe import LanguageCheck, LengthRatio, Scorer, TranslateSpec
from factory.translate.structure import check


def _read_selected(path: Path) -> Iterator[Document]:
    """The select stage's rows, in input order (one JSONL file written by a single task)."""
    from datatrove.pipeline.readers import JsonlReader

    yield from JsonlReader(str(path.parent), glob_pattern=path.name).run()


class Translator(PipelineStep):
    """Translates each row's messages; chunk `k` = rows [k*n, (k+1)*n) of the selected rows.

    Input: none (reads the select stage's output file itself, so each task can take its chunks).
    Output columns: `metadata.translation` = {`conversations`, `messages` (per-message facts),
    `seed`, `model`, `model_revision`}; `metadata.source`, `metadata.conversations` kept.
    """

    type = "🧠 - GENERATE"
    name = "🌐 Translator"
    _requires_dependencies = ["transformers"]

    def __init__(
        self,
        spec: TranslateSpec,
        selected: str,
        checkpoint_dir: str,
        seed: int,
        strip_chatter: bool = True,
    ):
        super().__init__()
        self.spec = spec
        self.strip_chatter = strip_chatter
        self.selected = selected
        self.checkpoint_dir = checkpoint_dir
        self.seed = seed
        self._backend = None

    @property
    def backend(self):
        if self._backend is None:
            from factory.translate.backends import make_backend

            self._backend = make_backend(self.spec)
        return self._backend

    def _documents(self) -> Iterator[Document]:
        for path in sorted(Path(self.selected).glob("*.jsonl.gz")):
            yield from _read_selected(path)

    def _my_chunks(self, rank: int, world_size: int) -> Iterator[tuple[int, list[Document]]]:
        """(k, rows of chunk k) for the contiguous run of chunks this task owns, streamed."""
        size = self.spec.checkpoint_every
        first, stop = 0, None  # a single task owns every chunk: no counting pass over the rows
        if world_size > 1:
            total = sum(1 for _ in self._documents())
            n_chunks = -(-total // size)
            first, stop = n_chunks * rank // world_size, n_chunks * (rank + 1) // world_size
        batch: list[Document] = []
        i = 0
        for i, doc in enumerate(self._documents()):
            if i < first * size:
                continue
            if stop is not None and i >= stop * size:
                break
            batch.append(doc)
            if len(batch) == size:
                yield i // size, batch
                batch = []
        if batch:  # the input's last chunk, shorter than `size`, ends this task's run
            yield i // size, batch

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        if data:
            yield from data
        checkpoints = ChunkCheckpoints(self.checkpoint_dir, rank)
        progress = TaskProgress("translated chunks", rank)
        try:
            for k, batch in self._my_chunks(rank, world_size):
                ids = [d.id for d in batch]
                records = checkpoints.load(k)
                if records is None or [r["id"] for r in records] != ids:
                    records = self._translate_chunk(k, batch)
                    checkpoints.save(k, records)
                    self.stat_update("chunks_translated")
                else:
                    self.stat_update("chunks_resumed")
                progress.advance()
                for doc, record in zip(batch, records):
                    self.stat_update("documents")
                    doc.metadata["translation"] = record
                    yield doc
        finally:
            self._backend = None

    def _translate_chunk(self, k: int, batch: list[Document]) -> list[dict]:
        seed = derive_seed(self.seed, "translate", k)
        # one backend call for the whole chunk: flatten every message, then split back
        flat = [m for doc in batch for m in doc.metadata["conversations"]]
        with self.track_time("translate"):
            translated, facts = translate_messages(
                flat,
                self.backend,
                self.spec.sampling,
                seed,
                roles=set(self.spec.roles),
                max_chars=self.spec.max_chars,
                strip_chatter=self.strip_chatter,
            )
        engine = getattr(self.backend, "engine", None)
        records, start = [], 0
        for doc in batch:
            n = len(doc.metadata["conversations"])
            records.append(
                {
                    "id": doc.id,
                    "conversations": translated[start : start + n],
                    "messages": [f.to_dict() for f in facts[start : start + n]],
                    "seed": seed,
                    "model": getattr(engine, "model_id", self.spec.model_name),
                    "model_revision": getattr(engine, "model_revision", None),
                }
            )
            start += n
        for fact in facts:
            self.stat_update("completion_tokens", value=fact.completion_tokens)
            self.stat_update("units", value=fact.units)
            self.stat_update("units_repaired", value=fact.repaired)
        return records


def _pairs(doc: Document) -> list[tuple[dict, dict, dict]]:
    t = doc.metadata["translation"]
    return list(zip(doc.metadata["conversations"], t["conversations"], t["messages"]))


def _signals(doc: Document) -> dict:
    return doc.metadata.setdefault("quality", {})


def _markers(message: dict) -> int:
    """Sentinel characters in a message: more in the target than the source means a leak."""
    return sum(message["content"].count(c) for c in "⟦⟧")


class TruncationCheck(BaseFilter):
    name = "✂️ Truncated translations"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if any(f["truncated"] for _s, _t, f in _pairs(doc)):
            return False, "translate_truncated"
        return True


class RefusalCheck(BaseFilter):
    name = "🙅 Refusals"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if any(f["refusals"] for _s, _t, f in _pairs(doc)):
            return False, "translate_refusal"
        return True


class StructureCheck(BaseFilter):
    """Code blocks unchanged and every protected span verbatim, checked on the assembled text."""

    name = "🧱 Protected spans"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        checked = 0
        pairs = _pairs(doc)
        for source, target, _f in pairs:
            code_kept, missing, n_spans = check(source["content"], target["content"])
            if not code_kept:
                return False, "translate_code_changed"
            if missing or _markers(target) > _markers(source):
                return False, "translate_spans_broken"
            checked += n_spans
        signals = _signals(doc)
        signals["spans_checked"] = checked
        signals["units_repaired"] = sum(f["repaired"] for _s, _t, f in pairs)
        signals["chatter_stripped"] = sum(f["chatter_stripped"] for _s, _t, f in pairs)
        return True


class CopyCheck(BaseFilter):
    name = "📋 Untranslated copies"

    def __init__(self, max_fraction: float, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.max_fraction = max_fraction

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        worst = 0.0
        for _s, _t, f in _pairs(doc):
            # nothing copied: a fraction of 0, which cannot raise `worst`; no letters to count
            if f["translated"] and f["copied_chars"]:
                letters = sum(c.isalpha() for c in f["source_prose"])
                if letters:
                    worst = max(worst, f["copied_chars"] / letters)
        _signals(doc)["copied_fraction"] = round(worst, 4)
        if worst > self.max_fraction:
            return False, "translate_untranslated"
        return True


class LengthRatioCheck(BaseFilter):
    name = "📏 Length ratio"

    def __init__(self, spec: LengthRatio, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.spec = spec

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        facts = [f for _s, _t, f in _pairs(doc)]
        ratios = [
            len(f["target_prose"]) / len(f["source_prose"])
            for f in facts
            if f["translated"] and len(f["source_prose"]) >= max(1, self.spec.min_chars)
        ]
        signals = _signals(doc)
        source = sum(len(f["source_prose"]) for f in facts)
        target = sum(len(f["target_prose"]) for f in facts)
        signals["length_ratio"] = round(target / source, 4) if source else None
        if any(r < self.spec.min for r in ratios):
            return False, "translate_too_short"
        if any(r > self.spec.max for r in ratios):
            return False, "translate_too_long"
        return True


class LanguageCheckFilter(BaseFilter):
    name = "🌍 Output language"

    def __init__(self, language: str, spec: LanguageCheck, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.language = language
        self.spec = spec

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = [
            language_fraction(f["target_prose"], self.language, self.spec.method)
            for _s, _t, f in _pairs(doc)
            if f["translated"] and len(f["source_prose"]) >= self.spec.min_chars
        ]
        _signals(doc)["language_score"] = round(min(scores), 4) if scores else None
        if scores and min(scores) < self.spec.min_fraction:
            return False, f"translate_not_{self.language}"
        return True


def load_scorer(function: str):
    module, _, name = function.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise RecipeError(
            f"quality.scorer.function: cannot import {function!r} ({error})"
        ) from None


class QualityEstimation(BaseFilter):
    """A pluggable reference-free QE scorer over (source, target) of whole conversations."""

    name = "🎯 Quality estimation"

    def __init__(self, spec: Scorer, exclusion_writer=None):
        super().__init__(exclusion_writer, batch_size=spec.batch_size)
        self.spec = spec

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        scorer = load_scorer(self.spec.function)
        sources = ["\n\n".join(m["content"] for m in d.metadata["conversations"]) for d in batch]
        targets = [
            "\n\n".join(m["content"] for m in d.metadata["translation"]["conversations"])
            for d in batch
        ]
        scores = [float(s) for s in scorer(sources, targets)]
        if len(scores) != len(batch):
            raise RecipeError(
                f"quality.scorer.function {self.spec.function}: returned {len(scores)} scores for {len(batch)} rows"
            )
        results: list[bool | tuple[bool, str]] = []
        for doc, score in zip(batch, scores):
            _signals(doc)["qe_score"] = round(score, 6)
            low = self.spec.min_score is not None and score < self.spec.min_score
            results.append((False, "translate_low_qe") if low else True)
        return results


class TranslationRows(PipelineStep):
    """One `default` row per translated conversation and one `parallel` row per message pair."""

    type = "📦 - FORMAT"
    name = "🌐 Translation rows"

    def __init__(self, source_language: str, target_language: str):
        super().__init__()
        self.languages = (source_language, target_language)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            source, t = doc.metadata["source"], doc.metadata["translation"]
            quality = doc.metadata.get("quality", {})
            row = {
                "id": source["source_id"],
                "source_id": source["source_id"],
                "source_dataset": source["ref"],
                "source_revision": source["revision"],
                "source_language": self.languages[0],
                "language": self.languages[1],
                "conversations": t["conversations"],
                "model": t["model"],
                "model_revision": t["model_revision"],
                "seed": t["seed"],
                "quality": {
                    "language_score": quality.get("language_score"),
                    "length_ratio": quality.get("length_ratio"),
                    "copied_fraction": quality.get("copied_fraction"),
                    "spans_checked": quality.get("spans_checked", 0),
                    "units_repaired": quality.get("units_repaired", 0),
                    "chatter_stripped": quality.get("chatter_stripped", 0),
                    "qe_score": quality.get("qe_score"),
                },
            }
            doc.metadata["row"] = json.loads(json.dumps(row))
            doc.metadata["split"] = "train"
            doc.metadata["config"] = "default"
            self.stat_update("rows")
            yield doc
            for turn, (src, tgt, facts) in enumerate(_pairs(doc)):
                pair = {
                    "id": f"{source['source_id']}#{turn}",
                    "source_id": source["source_id"],
                    "source_revision": source["revision"],
                    "turn": turn,
                    "role": src["role"],
                    "source": src["content"],
                    "target": tgt["content"],
                    "translated": facts["translated"],
                }
                yield Document(
                    text="",
                    id=pair["id"],
                    metadata={"row": pair, "split": "train", "config": "parallel"},
                )
                self.stat_update("parallel_rows")
