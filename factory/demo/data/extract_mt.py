"""Rebuild `mt_en_eu.jsonl` (the demo MT model's training pairs) from the shared data folder.

English-Basque sentence pairs of the released halves of FLORES-200 devtest and NTREX-128
(CC BY-SA 4.0, see MT_ATTRIBUTION.md), English side at most 160 characters, in file order.

    python factory/demo/data/extract_mt.py ../shared/data
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MAX_CHARS = 160


def main(shared: Path) -> None:
    out = Path(__file__).with_name("mt_en_eu.jsonl")
    rows = []
    for source in ("flores200-devtest", "ntrex128"):
        for line in (shared / source / "sentences.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            eng, eus = row["eng"].strip(), row["eus"].strip()
            if eng and eus and len(eng) <= MAX_CHARS:
                rows.append({"source": source, "id": row["id"], "en": eng, "eu": eus})
    out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"{len(rows)} pairs -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
