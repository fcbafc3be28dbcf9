"""Translating messages with their structure kept, and the facts the quality checks read.

`translate_messages(texts, backend, ...)` parses each message (`structure.parse`), sends every
unit that needs a model in one backend call, checks each output's sentinels, repairs the units
whose sentinels did not survive by translating their prose pieces one by one (a second call), and
reassembles the messages. Each message gets a `MessageFacts` record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from factory.builds.seeds import derive_seed
from factory.translate.structure import SENTINEL_RE, Layout, Unit, parse

# "Here is the translation:" and kin, at the start of an output (English and Basque)
_CHATTER = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok)[!,.]?\s*)?"
    r"(?:here(?:'s| is) (?:the |a |your |my )?(?:\w+ )?translation(?: \w+){0,6}\s*:"
    r"|(?:the )?(?:\w+ )?translation(?: is)?\s*:"
    r"|hona hemen (?:\w+ )?itzulpena(?: \w+){0,6}\s*:"
    r"|(?:\w+ )?itzulpena\s*:)\s*",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"^\s*(?:i'?m sorry|i am sorry|sorry, (?:but )?i|i cannot|i can'?t|i won'?t|as an ai\b"
    r"|i'?m (?:not able|unable)|i am (?:not able|unable)"
    r"|sentitzen dut|barkatu,? baina ezin|ezin dut (?:itzuli|lagundu))",
    re.IGNORECASE,
)
_QUOTES = (('"', '"'), ("“", "”"), ("«", "»"), ("'", "'"))
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass
class MessageFacts:
    """What happened to one message (read by the filters, published as quality signals)."""

    role: str
    translated: bool  # False: a role left untranslated, or nothing to translate (only code)
    units: int = 0
    repaired: int = 0
    truncated: int = 0
    chatter_stripped: int = 0
    refusals: int = 0
    copied_chars: int = 0
    source_prose: str = ""
    target_prose: str = ""
    completion_tokens: int = 0

    def to_dict(self) -> dict:
        # the fields in order, as `dataclasses.asdict` gives them, without its deep copies (every
        # value is a str, int or bool)
        return {name: getattr(self, name) for name in _FACT_FIELDS}


_FACT_FIELDS = tuple(f.name for f in fields(MessageFacts))


@dataclass
class _Job:
    message: int
    unit: int
    text: str
    piece: int | None = None  # prose part of the unit (repair), None: the whole masked unit
    prose: str = ""  # `text` without its sentinels (what the refusal and copy checks compare)


@dataclass
class _Message:
    layout: Layout
    results: list[str | None] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)  # unmasked prose of the units sent to a model


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.match(text))


def clean_output(output: str, source: str, strip_chatter: bool) -> tuple[str, bool]:
    """The model's output without chatter the source did not have; (text, whether stripped)."""
    text = output.strip()
    if not strip_chatter:
        return text, False
    stripped = False
    # a legitimate translation task ("Here is the translation: ...") keeps its own words
    if not _CHATTER.match(source):
        match = _CHATTER.match(text)
        if match and match.end() < len(text):
            text, stripped = text[match.end() :].strip(), True
    if "\n" not in source and "\n\n" in text:
        # a one-line piece came back with a paragraph of notes after it
        text, stripped = text.split("\n\n", 1)[0].strip(), True
    for left, right in _QUOTES:
        if (
            len(text) > 2
            and text.startswith(left)
            and text.endswith(right)
            and not source.strip().startswith(left)
        ):
            text, stripped = text[len(left) : -len(right)].strip(), True
    return text, stripped


def translate_messages(
    messages: list[dict],
    backend,
    sampling,
    seed: int,
    *,
    roles: set[str],
    max_chars: int,
    strip_chatter: bool = True,
) -> tuple[list[dict], list[MessageFacts]]:
    """Every message of `messages` (`{role, content}`) translated; roles not in `roles` copied."""
    parsed: list[_Message | None] = []
    facts: list[MessageFacts] = []
    jobs: list[_Job] = []
    for i, message in enumerate(messages):
        if message["role"] not in roles:
            parsed.append(None)
            facts.append(MessageFacts(role=message["role"], translated=False))
            continue
        layout = parse(message["content"], max_chars=max_chars)
        state = _Message(layout, [None] * len(layout.units), [""] * len(layout.units))
        parsed.append(state)
        work = [u for u in layout.units if u.needs_model]
        facts.append(MessageFacts(role=message["role"], translated=bool(work), units=len(work)))
        for k, unit in enumerate(layout.units):
            if not unit.needs_model:
                state.results[k] = unit.unmask(unit.text)
                continue
            masked = unit.text
            prose = _unmasked_prose(masked)
            state.source.append(prose)
            if unit.safe:
                jobs.append(_Job(i, k, masked, prose=prose))
            else:
                jobs.extend(_piece_jobs(i, k, unit))

    outputs = backend.translate([j.text for j in jobs], sampling, seed)
    repairs: list[_Job] = []
    pieces: dict[tuple[int, int], dict[int, str]] = {}
    for job, completion in zip(jobs, outputs):
        state, fact = parsed[job.message], facts[job.message]
        unit = state.layout.units[job.unit]
        text, stripped = clean_output(completion.text, job.prose, strip_chatter)
        target = _unmasked_prose(text)
        _record(fact, completion, stripped, job.prose, target)
        if job.piece is not None:
            pieces.setdefault((job.message, job.unit), {})[job.piece] = _no_sentinels(text)
        elif unit.sentinels_intact(text):
            state.results[job.unit] = unit.unmask(text)
            state.prose[job.unit] = target
        elif not unit.spans:
            # plain prose with markers the model invented: dropping them is the whole repair
            fact.repaired += 1
            state.results[job.unit] = state.prose[job.unit] = _no_sentinels(text)
        else:
            fact.repaired += 1
            repairs.extend(_piece_jobs(job.message, job.unit, unit))
    if repairs:
        outputs = backend.translate(
            [j.text for j in repairs], sampling, derive_seed(seed, "repair")
        )
        for job, completion in zip(repairs, outputs):
            text, stripped = clean_output(completion.text, job.text, strip_chatter)
            _record(facts[job.message], completion, stripped, job.prose, _unmasked_prose(text))
            pieces.setdefault((job.message, job.unit), {})[job.piece] = _no_sentinels(text)  # type: ignore[index]
    for (m, k), done in pieces.items():
        state = parsed[m]
        unit = state.layout.units[k]
        state.results[k] = unit.reassemble(_keep_spacing(unit, done))
        state.prose[k] = " ".join(done.values())

    translated = []
    for message, state, fact in zip(messages, parsed, facts):
        if state is None:
            translated.append(dict(message))
            continue
        fact.source_prose = " ".join(state.source).strip()
        fact.target_prose = " ".join(p for p in state.prose if p).strip()
        translated.append(
            {"role": message["role"], "content": state.layout.assemble(state.results)}
        )
    return translated, facts


def _no_sentinels(text: str) -> str:
    """A prose piece holds no span: any marker in its translation was invented by the model."""
    return " ".join(SENTINEL_RE.sub(" ", text).replace("⟦", " ").replace("⟧", " ").split())


def _unmasked_prose(masked: str) -> str:
    return SENTINEL_RE.sub(" ", masked)


def _piece_jobs(message: int, k: int, unit: Unit) -> list[_Job]:
    jobs = []
    for i, part in enumerate(unit.parts):
        if isinstance(part, str) and _LETTERS.search(part):
            text = part.strip()
            jobs.append(_Job(message, k, text, piece=i, prose=_unmasked_prose(text)))
    return jobs


def _keep_spacing(unit: Unit, done: dict[int, str]) -> dict[int, str]:
    """Translated pieces with the source piece's leading/trailing whitespace around them."""
    out = {}
    for i, text in done.items():
        source = unit.parts[i]
        lead = source[: len(source) - len(source.lstrip())]  # type: ignore[union-attr]
        trail = source[len(source.rstrip()) :]  # type: ignore[union-attr]
        out[i] = f"{lead}{text}{trail}"
    return out


def _record(
    fact: MessageFacts, completion, stripped: bool, source_prose: str, target_prose: str
) -> None:
    """Counts one output; both texts without sentinels (`_unmasked_prose`)."""
    fact.completion_tokens += completion.completion_tokens
    fact.truncated += completion.finish_reason == "length"
    fact.chatter_stripped += stripped
    if is_refusal(target_prose) and not is_refusal(source_prose):
        fact.refusals += 1
    if " ".join(source_prose.split()).casefold() == " ".join(target_prose.split()).casefold():
        fact.copied_chars += len(_LETTERS.findall(source_prose))
