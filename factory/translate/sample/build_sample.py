"""Rebuild `conversations_en.jsonl`, the English input of `factory build recipes/magpie_translate_eu.yaml --demo`.

Magpie-style rows (`id`, `conversations`) whose prose is English sentences of the demo MT model's
training pairs (FLORES-200 / NTREX-128, CC BY-SA 4.0; see factory/demo/data/MT_ATTRIBUTION.md),
so the tiny demo model writes something Basque-looking, wrapped in structure written for this
project: code fences, inline code, math, URLs, placeholders, tables, lists, system turns,
`{from, value}` rows, and broken rows the build must drop with a reason.

    python factory/translate/sample/build_sample.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAIRS = HERE.parents[1] / "demo" / "data" / "mt_en_eu.jsonl"


def main() -> None:
    english = [json.loads(line)["en"] for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    s = iter(e for e in english if 30 <= len(e) <= 110 and "`" not in e and "$" not in e)
    rows: list[dict] = []

    def add(row_id, conversations):
        rows.append({"id": row_id, "conversations": conversations})

    def u(text):
        return {"role": "user", "content": text}

    def a(text):
        return {"role": "assistant", "content": text}

    for i in range(24):
        add(f"general_{i:08d}", [u(next(s)), a(f"{next(s)} {next(s)}")])
    add(
        "general_00000100",
        [
            {"role": "system", "content": next(s)},
            u(f'{next(s)}\n\n```python\nprint("{{name}}")\n```'),
            a(
                f"{next(s)} Run `python app.py` first.\n\n1. {next(s)}\n2. {next(s)}\n   - See https://example.com/docs.\n"
            ),
        ],
    )
    add(
        "general_00000101",
        [
            u(f"# {next(s)}\n\n{next(s)} Write to me@example.org, please."),
            a(
                f"| {next(s)} | `x|y` |\n| --- | --- |\n| {next(s)} | {{0}} |\n\n{next(s)} $x^2$ costs $12 and $7."
            ),
        ],
    )
    add(
        "general_00000102",
        [
            u(f"{next(s)} Use %s and %(user)s and <FILE_NAME> and {{{{var}}}}."),
            a(
                f"````markdown\n```js\nlet a = 1;\n```\n````\n\n{next(s)}\n\n$$\nE = mc^2\n$$\n\n~~~\nraw\n~~~\n{next(s)} \\(a+b\\)."
            ),
        ],
    )
    add("general_00000103", [u("```bash\nls -la\n```"), a(f"{next(s)} {next(s)}")])
    # multi-turn, ShareGPT-style keys
    rows.append(
        {
            "id": "general_00000104",
            "conversations": [
                {"from": "human", "value": next(s)},
                {"from": "gpt", "value": next(s)},
                {"from": "human", "value": next(s)},
                {"from": "gpt", "value": next(s)},
            ],
        }
    )
    # the release notes call Magpie's translation control task poor quality: excluded by the recipe
    add("translation_00000000", [u(next(s)), a(next(s))])
    add("translation_00000001", [u(next(s)), a(next(s))])
    # broken rows: each must be dropped with its own reason
    rows.append({"id": "bad_no_conversations", "text": next(s)})
    add("bad_null", None)
    add("bad_empty", [])
    add("bad_whitespace", [u("  \u00a0\n\t"), a(next(s))])
    add("bad_int", [u(42), a(next(s))])
    add("bad_none_content", [u(None), a(next(s))])
    add("bad_parts", [u([{"type": "text", "text": next(s)}]), a(next(s))])
    add("general_00000000", [u(next(s)), a(next(s))])  # a repeated id
    out = HERE / "conversations_en.jsonl"
    out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"{len(rows)} rows -> {out}")


if __name__ == "__main__":
    main()
