"""Magpie's instruction sanitizer (`--sanitize` in its Llama-3.x and Gemma-2 scripts).

Without the newline stop, a model often writes its question and then starts answering it, or
wraps it in a "Task:"/"**Question**" header. The sanitizer keeps the question only. The rules
follow the behaviour of `instruction_post_process` in magpie's `exp/str_utils.py` (commit
b734a36), re-implemented here: strip a leading enumerator and header word, then cut at the first
of: an answer marker ("Answer:", "Solution:" ...), a "# Step 1" marker (Llama), the first "?"
or the first line. Each path has a class number, recorded on the row as Magpie does.
"""

from __future__ import annotations

import re

_HEADER_WORDS = (
    "Task", "Prompt", "Original Prompt", "Question", "The Problem", "Problem", "Scenario",
    "The senario", "Situation", "The situation", "Context", "Challenge", "Query", "Request",
    "Instructions", "Instruction", "Descriptions", "Description",
)  # fmt: skip
_HEADERS = [
    variant for word in _HEADER_WORDS for variant in (f"{word}:", f"**{word}**", f"## {word}:")
]
_HEADER = re.compile(
    r"^(?:"
    + "|".join([*(re.escape(h) for h in _HEADERS), r"Question \d+[:.]", r"Part \d+:", r"Q\d+[:.]"])
    + r")\s*",
    re.IGNORECASE,
)
_ENUMERATOR = re.compile(r"^(?:\d+\.|\w+\))\s*")
_ANSWER_MARKERS = (
    "Answer:", "Answers:", "The answer is", "Correct answer", "The correct answer", "Answer is",
    "Explanation:", "Here are some", "Solution Approach:", "Solution:",
)  # fmt: skip
_ANSWER = re.compile("(?:" + "|".join(_ANSWER_MARKERS) + ")s?:")
_STEP = re.compile(r"(?:# Step 1|## Step 1|### Step 1):?")

SANITIZE_FAMILIES = ("llama3", "llama3.1", "llama3.3", "gemma2")


def strip_header(text: str) -> str:
    text = _ENUMERATOR.sub("", text, count=1).strip()
    match = _HEADER.match(text)
    return text[match.end() :].strip() if match else text


def _unbold(text: str) -> str:
    # a question wrapped as "**...**": the bold marks go, other markdown stays
    return text.replace("**", "").strip() if text.find("**") == 1 else text.strip()


def _upto_question(text: str) -> str:
    return text.split("?")[0].strip() + "?"


def _first_line(text: str) -> str:
    return text.split("\n")[0].strip().replace("*", "").strip()


def sanitize_instruction(text: str, family: str) -> tuple[str, float]:
    """The sanitized instruction and Magpie's class number (0: left as it was)."""
    if family not in SANITIZE_FAMILIES:
        return text, 0
    llama = family.startswith("llama")
    text = strip_header(text)
    if text.startswith("*") and "?" in text:
        return strip_header(_upto_question(text).replace("*", "")), 1
    text = strip_header(text)
    answer = _ANSWER.search(text)
    step = _STEP.search(text) if llama else None
    colon_header = text.split("\n")[0].strip().endswith(":")
    if text.startswith('"'):
        if "?" in text:
            text, cls = _upto_question(text).replace('"', ""), 2.1
        else:
            text, cls = _first_line(text.replace('"', "")), 2.2
    elif text.startswith("<b>"):
        text, cls = text.replace("*", "").strip(), 3
    elif answer:
        text, cls = _unbold(text[: answer.start()]), 4
    elif step:
        text, cls = _unbold(text[: step.start()]), 5
    elif colon_header:
        base = 6 if llama else 5
        if "#" in text:
            text, cls = _unbold(text.split("#")[0]), base + 0.1
        elif "?" in text:
            text, cls = _unbold(_upto_question(text)), base + 0.2
        else:
            text, cls = _first_line(text), base + 0.3
    elif "?" in text:
        text, cls = _unbold(_upto_question(text)), 99.1 if llama else 6.1
    else:
        text, cls = _first_line(text), 99.2 if llama else 6.2
    return strip_header(text), cls


def sanitizer_step(family: str):
    """A `PipelineStep` sanitizing the first user turn; records `turns[0].sanitize_class`."""
    from datatrove.pipeline.base import PipelineStep

    from factory.magpie.conversation import conversation

    class _Sanitizer(PipelineStep):
        type = "✂️ - FORMAT"
        name = "🧽 Magpie sanitizer"

        def run(self, data, rank: int = 0, world_size: int = 1):
            for doc in data:
                with self.track_time():
                    turns = conversation(doc)
                    if turns and turns[0]["role"] == "user":
                        text, cls = sanitize_instruction(turns[0]["content"], family)
                        self.stat_update(f"sanitize_class_{cls}")
                        turns[0]["content"] = text
                        doc.metadata["turns"][0]["sanitize_class"] = cls
                        doc.text = turns[-1]["content"]
                yield doc

    return _Sanitizer()
