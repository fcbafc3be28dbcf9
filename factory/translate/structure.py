"""Structure protection: what of a message is translated and what must come out byte-identical.

Technique: both segmentation and masking.

* Block level (segment-wise): a message is cut into lines. Fenced code (``` and ~~~, longer
  fences around shorter ones, fences indented inside list items), display math blocks
  (`$$`/`\\[` on their own lines), table delimiter rows, rules and lines without letters are
  literal; headings, list items, blockquotes and table cells keep their markup as literal text and
  only their prose becomes a translation *unit*. A message that is only code has no unit, so it is
  never sent to a model. Units are one line each (or a sentence group of a line longer than
  `max_chars`), so long messages are translated in pieces and reassembled in order.
* Inline (masking): inline code, inline math (`$..$` by Pandoc's rule, so `$12 ... $7` is
  currency), URLs (trailing `.`/`,`/`)` left to the prose), e-mail addresses and placeholders are
  replaced by sentinels `⟦0⟧`, `⟦1⟧`, ... that `unmask` puts back. A model that loses, duplicates
  or invents a sentinel is *repaired*: the prose between the spans is translated piece by piece and
  the spans are put back in their source order (`Unit.pieces`).

`verify_spans(source, target)` checks the result independently: every protected span of the
source must occur in the target at least as often.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

SENTINEL = "⟦{}⟧"
SENTINEL_RE = re.compile(r"⟦(\d+)⟧")
_SENTINEL_CHARS = ("⟦", "⟧")


def _has_sentinel_char(text: str) -> bool:
    # two `in` tests: the hot path (every unit, every model answer), cheaper than any()
    return _SENTINEL_CHARS[0] in text or _SENTINEL_CHARS[1] in text


_LETTER = re.compile(r"[^\W\d_]")

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(
    r"^(?P<pre>[ ]{0,3}#{1,6}[ \t]+)(?P<text>.*?)(?P<post>[ \t]+#+[ \t]*|[ \t]*)$"
)
_LIST = re.compile(
    r"^(?P<pre>[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?)(?P<text>.*?)(?P<post>[ \t]*)$"
)
_QUOTE = re.compile(r"^(?P<pre>[ \t]*(?:>[ \t]?)+)(?P<rest>.*)$")
_TABLE_DELIM = re.compile(r"^[ \t]*\|?[ \t]*:?-{1,}:?[ \t]*(?:\|[ \t]*:?-{1,}:?[ \t]*)*\|?[ \t]*$")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[ \t]+(?=\S)")

# Inline spans, tried left to right; at one position the first alternative wins. Every branch
# starts with a distinctive character, which lets the regex engine skip prose quickly; e-mail
# addresses (which start with any word character) are found by a second pattern, only when the
# text holds an `@`, and merged (an earlier span wins, and the main pattern wins a tie).
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?!`).*?(?<!`)(?P=ticks)(?!`))"
    r"|(?P<dmath>\$\$.+?\$\$)"
    r"|(?P<pmath>\\\(.+?\\\))"
    r"|(?P<bmath>\\\[.+?\\\])"
    # Pandoc: opening $ followed by a non-space, closing $ preceded by a non-space and not
    # followed by a digit; so "$12 and $7" is money, not math
    r"|(?P<math>\$(?=[^\s$])[^$\n]*?(?<=[^\s$\\])\$(?!\d))"
    r"|(?P<url>(?:https?|ftp)://[^\s<>\"'`]+|www\.[A-Za-z0-9-]+\.[^\s<>\"'`]+)"
    r"|(?P<ph2>\{\{[^{}\n]*\}\})"
    r"|(?P<ph>\{[A-Za-z0-9_.:!\[\]]*\})"
    r"|(?P<pyfmt>%\([A-Za-z_]\w*\)[#0+-]*\d*(?:\.\d+)?[sdifgeEoxXcr])"
    r"|(?P<cfmt>%[#0+-]*\d*(?:\.\d+)?(?:l{0,2}|h)[sdifgeEoxXcu])"
    r"|(?P<angle><[A-Z][A-Z0-9_]*>)",
    re.DOTALL,
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_TRIGGER = re.compile(r"[`$\\{%<@]|://|www\.")
_URL_TRAIL = ".,;:!?'\"*_"


@dataclass
class Unit:
    """One piece of prose to translate: prose strings and span numbers (`spans[i]` behind `⟦i⟧`).

    `safe` is False when the source itself holds sentinel characters: such a unit never goes to
    the model masked, only piece by piece.
    """

    parts: list[str | int]
    spans: dict[int, str] = field(default_factory=dict)
    safe: bool = True
    _needs_model: bool | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def text(self) -> str:
        """The masked text the model sees."""
        if len(self.parts) == 1 and isinstance(self.parts[0], str):
            return self.parts[0]  # plain prose, the common case
        return "".join(p if isinstance(p, str) else SENTINEL.format(p) for p in self.parts)

    @property
    def needs_model(self) -> bool:
        # asked by `parse` and again by its callers: computed once (`parts` is never changed)
        if self._needs_model is None:
            self._needs_model = any(isinstance(p, str) and _LETTER.search(p) for p in self.parts)
        return self._needs_model

    def sentinels_intact(self, translated: str) -> bool:
        """Each of this unit's sentinels exactly once, and no other sentinel character."""
        if not _has_sentinel_char(translated):
            return self.safe and not self.spans  # no sentinel at all: right when none was sent
        found = Counter(int(m) for m in SENTINEL_RE.findall(translated))
        rest = SENTINEL_RE.sub("", translated)
        return self.safe and found == Counter(list(self.spans)) and not _has_sentinel_char(rest)

    def unmask(self, translated: str) -> str:
        return SENTINEL_RE.sub(lambda m: self.spans[int(m.group(1))], translated)

    def reassemble(self, pieces: dict[int, str]) -> str:
        """Segment-wise result: prose part `i` replaced by `pieces[i]` (when given), spans verbatim."""
        return "".join(
            self.spans[p] if isinstance(p, int) else pieces.get(i, p)
            for i, p in enumerate(self.parts)
        )


@dataclass
class Layout:
    """A message as literal strings and units (by index), in order."""

    parts: list[str | int] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # code fences and display math, verbatim

    def literal(self, text: str) -> None:
        if text:
            if self.parts and isinstance(self.parts[-1], str):
                self.parts[-1] += text
            else:
                self.parts.append(text)

    def unit(self, unit: Unit) -> None:
        self.parts.append(len(self.units))
        self.units.append(unit)

    def assemble(self, translations: list[str]) -> str:
        """The message with unit `i` replaced by `translations[i]` (already unmasked)."""
        return "".join(p if isinstance(p, str) else translations[p] for p in self.parts)


def _trim_url(url: str) -> str:
    while url and url[-1] in _URL_TRAIL:
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


def inline_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every protected inline span of `text`, in order."""
    if not _TRIGGER.search(text):
        return []  # plain prose, the common case
    spans = []
    pos = 0
    while True:
        match = _INLINE.search(text, pos)
        if match is None:
            break
        start, end = match.span()
        if match.lastgroup == "url":
            end = start + len(_trim_url(match.group()))
        if end > start and (match.lastgroup != "url" or end - start > len("http://")):
            spans.append((start, end))
        pos = max(end, start + 1)
    if "@" in text:
        spans = _merge(spans, [m.span() for m in _EMAIL.finditer(text)])
    return spans


def _merge(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-overlapping spans of both lists, left to right; `first` wins a tie."""
    merged: list[tuple[int, int]] = []
    for start, end, _rank in sorted([(s, e, 0) for s, e in first] + [(s, e, 1) for s, e in second]):
        if not merged or start >= merged[-1][1]:
            merged.append((start, end))
    return merged


def mask(text: str) -> Unit:
    """`text` with its inline spans replaced by sentinels."""
    safe = not _has_sentinel_char(text)
    if not _TRIGGER.search(text):  # plain prose, the common case: no span, one part
        return Unit([text] if text else [], {}, safe=safe)
    spans: dict[int, str] = {}
    parts: list[str | int] = []
    last = 0
    for start, end in inline_spans(text):
        if start > last:
            parts.append(text[last:start])
        parts.append(len(spans))
        spans[len(spans)] = text[start:end]
        last = end
    if last < len(text):
        parts.append(text[last:])
    return Unit(parts, spans, safe=safe)


def _prose(layout: Layout, text: str, max_chars: int) -> None:
    """Leading/trailing whitespace literal; the rest one unit, or sentence groups when long."""
    stripped = text.strip()
    if not stripped:
        layout.literal(text)
        return
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    layout.literal(lead)
    unit = mask(stripped)
    if not unit.needs_model:
        layout.literal(stripped)
    elif len(stripped) <= max_chars:
        layout.unit(unit)
    else:
        _split_long(layout, stripped, max_chars)
    layout.literal(trail)


def _split_long(layout: Layout, text: str, max_chars: int) -> None:
    """A line longer than `max_chars`: sentence groups, cut outside inline spans."""
    protected = inline_spans(text)
    cuts = [
        m
        for m in _SENTENCE_BREAK.finditer(text)
        if not any(s < m.start() < e for s, e in protected)
    ]
    start = 0
    group_end = 0
    for m in cuts:
        if m.start() - start > max_chars and group_end > start:
            _piece(layout, text[start:group_end])
            layout.literal(text[group_end : _after_space(text, group_end)])
            start = _after_space(text, group_end)
        group_end = m.start()
    if len(text) - start > max_chars and group_end > start:
        _piece(layout, text[start:group_end])
        layout.literal(text[group_end : _after_space(text, group_end)])
        start = _after_space(text, group_end)
    _piece(layout, text[start:])


def _after_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t":
        index += 1
    return index


def _piece(layout: Layout, text: str) -> None:
    unit = mask(text)
    if unit.needs_model:
        layout.unit(unit)
    else:
        layout.literal(text)


def _table_row(layout: Layout, line: str, max_chars: int) -> None:
    """Cells split on `|` outside inline code; each cell's prose is its own unit."""
    cells: list[str] = []
    current = []
    ticks = 0
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "`":
            run = len(line[i:]) - len(line[i:].lstrip("`"))
            ticks = 0 if ticks == run else (run if ticks == 0 else ticks)
            current.append(line[i : i + run])
            i += run
            continue
        if ch == "\\" and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if ch == "|" and ticks == 0:
            cells.append("".join(current))
            cells.append("|")
            current = []
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current))
    for cell in cells:
        if cell == "|":
            layout.literal("|")
        else:
            _prose(layout, cell, max_chars)


def _is_table_row(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") and stripped.count("|") >= 2


def _line(layout: Layout, line: str, max_chars: int) -> None:
    """One line outside code fences and math blocks."""
    if not _LETTER.search(line):  # rules (`---`, `***`, `___`) and other lines without letters
        layout.literal(line)
        return
    quote = _QUOTE.match(line)
    if quote:
        layout.literal(quote.group("pre"))
        line = quote.group("rest")
    if _is_table_row(line):
        if _TABLE_DELIM.match(line):
            layout.literal(line)
        else:
            _table_row(layout, line, max_chars)
        return
    for pattern in (_HEADING, _LIST):
        match = pattern.match(line)
        if match:
            layout.literal(match.group("pre"))
            _prose(layout, match.group("text"), max_chars)
            layout.literal(match.group("post"))
            return
    _prose(layout, line, max_chars)


def _closes_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _opens_fence(line: str) -> str | None:
    if "```" not in line and "~~~" not in line:
        return None  # most lines: no regex call
    opened = _FENCE_OPEN.match(line)
    if opened is None or (opened.group("fence")[0] == "`" and "`" in opened.group("info")):
        return None
    return opened.group("fence")


def _block_math_end(line: str) -> str | None:
    """The delimiter that closes a display-math block opened on this line, if one is."""
    if "$$" not in line and "\\[" not in line:
        return None
    stripped = line.strip()
    if stripped.startswith("$$") and stripped.count("$$") == 1:
        return "$$"
    if stripped.startswith("\\[") and "\\]" not in stripped:
        return "\\]"
    return None


def parse(text: str, max_chars: int = 2000) -> Layout:
    """`text` as literal parts and translation units (see the module docstring)."""
    layout = Layout()
    lines = text.split("\n")
    block: list[str] | None = None  # lines of the open code fence or math block
    closer = ""
    is_fence = False
    for i, line in enumerate(lines):
        newline = "\n" if i < len(lines) - 1 else ""
        if block is not None:
            layout.literal(line + newline)
            block.append(line)
            if _closes_fence(line, closer) if is_fence else closer in line:
                layout.blocks.append("\n".join(block))
                block = None
            continue
        fence = _opens_fence(line)
        math_end = None if fence else _block_math_end(line)
        if fence or math_end:
            block, closer, is_fence = [line], fence or math_end, bool(fence)
            layout.literal(line + newline)
            continue
        _line(layout, line, max_chars)
        layout.literal(newline)
    if block is not None:  # an unclosed fence runs to the end of the message (CommonMark)
        layout.blocks.append("\n".join(block))
    return layout


def _nothing_protected(text: str) -> bool:
    """True when `text` can hold no block and no inline span (every block or span opener is
    either a `_TRIGGER` character or `~~~`); then parsing it would find none."""
    return "~~~" not in text and not _TRIGGER.search(text)


def protected_spans(text: str) -> list[str]:
    """Everything of `text` that must come out byte-identical: code and math blocks, inline spans."""
    if _nothing_protected(text):
        return []
    layout = parse(text, max_chars=10**9)
    spans = list(layout.blocks)
    for unit in layout.units:
        spans.extend(unit.spans.values())
    return spans


def missing_spans(source: str, target: str) -> list[str]:
    """Protected spans of `source` that `target` lost (each must occur at least as often)."""
    return _missing(protected_spans(source), target)


def _missing(spans: list[str], target: str) -> list[str]:
    need = Counter(spans)
    return [span for span, n in need.items() if target.count(span) < n]


def check(source: str, target: str) -> tuple[bool, list[str], int]:
    """(code blocks unchanged, protected spans lost, spans checked), parsing the source once."""
    if _nothing_protected(source):  # plain prose: no span to look for, no code block to keep
        return not code_blocks(target), [], 0
    layout = parse(source, max_chars=10**9)
    spans = list(layout.blocks)
    for unit in layout.units:
        spans.extend(unit.spans.values())
    fences = [b for b in layout.blocks if _opens_fence(b.split("\n")[0])]
    return fences == code_blocks(target), _missing(spans, target), len(spans)


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of `text`, fences included (for the changed-code check)."""
    if "```" not in text and "~~~" not in text:
        return []
    blocks = []
    current: list[str] | None = None
    fence = ""
    for line in text.split("\n"):
        if current is not None:
            current.append(line)
            if _closes_fence(line, fence):
                blocks.append("\n".join(current))
                current = None
            continue
        opened = _opens_fence(line)
        if opened:
            current, fence = [line], opened
    if current is not None:
        blocks.append("\n".join(current))
    return blocks
