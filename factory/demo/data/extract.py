"""Rebuild `chat_eu.jsonl` and `chat_en.jsonl` from the CC BY-SA sources in /work/shared/data (see ATTRIBUTION.md).

Run once by hand: `python factory/demo/data/extract.py /work/shared/data`. The output is
bundled, so building the demo model never needs the shared data folder.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_ASSISTANT_CHARS = 400  # the demo model's context is short; long answers only cost training time


def _clip(text: str) -> str:
    """Whole sentences up to MAX_ASSISTANT_CHARS (at least one)."""
    out = ""
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if out and len(out) + len(sentence) + 1 > MAX_ASSISTANT_CHARS:
            break
        out = f"{out} {sentence}".strip()
    return out


def rows(data: Path):
    # QNLIeu (CC BY-SA 4.0): a Basque question and the Wikipedia sentence that answers it
    for line in (data / "qnli-eu" / "train.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["label"] == "entailment":
            yield {
                "source": "qnli-eu",
                "id": rec["id"],
                "user": rec["question"].strip(),
                "assistant": rec["sentence"].strip(),
            }
    # FLORES-200 devtest and NTREX-128, released halves (CC BY-SA 4.0)
    yield from _flores(data, "eus")
    yield from _ntrex(data, "eus")


def _flores(data: Path, lang: str):
    """FLORES-200 devtest documents in `lang`: the first sentence -> the rest of the article."""
    for line in (data / "flores200-devtest" / "docs.jsonl").read_text().splitlines():
        rec = json.loads(line)
        sentences = _SENTENCE_END.split(" ".join(rec[lang].split()))
        if len(sentences) >= 2:
            yield {
                "source": "flores200-devtest",
                "id": rec["id"],
                "user": sentences[0],
                "assistant": _clip(" ".join(sentences[1:])),
            }


def _ntrex(data: Path, lang: str):
    """NTREX-128 documents in `lang`: the headline -> the first sentences of the article."""
    for line in (data / "ntrex128" / "docs.jsonl").read_text().splitlines():
        rec = json.loads(line)
        headline, _, body = rec[lang].partition("\n")
        if body.strip():
            yield {
                "source": "ntrex128",
                "id": rec["id"],
                "user": headline.strip(),
                "assistant": _clip(body),
            }


def rows_en(data: Path):
    """English rows from the English side of the same released halves (the demo model is bilingual)."""
    yield from _flores(data, "eng")
    yield from _ntrex(data, "eng")
    # NTREX sentences, every fourth line of a document with the two lines after it as the answer
    by_doc: dict[str, list[dict]] = {}
    for line in (data / "ntrex128" / "sentences.jsonl").read_text().splitlines():
        rec = json.loads(line)
        by_doc.setdefault(rec["doc_id"], []).append(rec)
    for doc_id in sorted(by_doc):
        lines = sorted(by_doc[doc_id], key=lambda r: r["line"])
        for i in range(1, len(lines) - 2, 4):
            yield {
                "source": "ntrex128-sentences",
                "id": lines[i]["id"],
                "user": lines[i]["eng"].strip(),
                "assistant": _clip(lines[i + 1]["eng"] + " " + lines[i + 2]["eng"]),
            }


if __name__ == "__main__":
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
    out = Path(__file__).with_name("chat_eu.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for row in rows(data):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(out, out.stat().st_size)
    out = Path(__file__).with_name("chat_en.jsonl")
    with out.open("w", encoding="utf-8") as f:
        for row in rows_en(data):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(out, out.stat().st_size)
