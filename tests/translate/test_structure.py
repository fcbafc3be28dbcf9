"""Structure protection on hand-written messages: every case of issue 12 item 3.

`rewrite` plays a model that changes every piece of prose (upper-cases it) and keeps sentinels; so a
byte that survives came through protection, and a byte that changed went through "translation".
"""

from __future__ import annotations

import pytest

from factory.translate.structure import (
    code_blocks,
    inline_spans,
    mask,
    missing_spans,
    parse,
    protected_spans,
)


def rewrite(text: str, max_chars: int = 2000) -> str:
    layout = parse(text, max_chars=max_chars)
    out = []
    for unit in layout.units:
        translated = "".join(p.upper() if isinstance(p, str) else f"⟦{p}⟧" for p in unit.parts)
        assert unit.sentinels_intact(translated)
        out.append(unit.unmask(translated))
    return layout.assemble(out)


def spans(text: str) -> list[str]:
    return [text[s:e] for s, e in inline_spans(text)]


FENCED = [
    "Intro line.\n\n```python\ndef f(x):\n    return x  # add one\n```\n\nOutro line.",
    "Intro.\n~~~\nplain tilde code with words\n~~~\nOutro.",
    "Show this:\n````markdown\n```python\nprint('hi')\n```\nmore words inside\n````\nDone here.",
    "1. Install it:\n   ```bash\n   pip install thing words\n   ```\n2. Run it now.",
]


@pytest.mark.parametrize("text", FENCED)
def test_fenced_code_comes_out_byte_identical(text):
    out = rewrite(text)
    assert code_blocks(out) == code_blocks(text) and code_blocks(text)
    assert not missing_spans(text, out)
    assert out != text  # the prose around it was rewritten


def test_four_backtick_fence_holds_the_triple_backtick_one():
    text = FENCED[2]
    (block,) = code_blocks(text)
    assert block.startswith("````markdown") and block.endswith("````")
    assert "more words inside" in rewrite(text)  # not translated: still inside the fence


def test_unclosed_fence_runs_to_the_end():
    text = "Text here.\n```\ncode words\nmore code"
    assert rewrite(text).endswith("```\ncode words\nmore code")


def test_message_only_code_has_nothing_to_translate():
    assert parse("```bash\nls -la\n```").units == []
    assert parse("  `x = 1`  ").units == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Use `print(x)` here", ["`print(x)`"]),
        ("Use ``a ` b`` here", ["``a ` b``"]),
        ("Math $x^2 + y$ inline", ["$x^2 + y$"]),
        ("Display $$a+b$$ inline", ["$$a+b$$"]),
        ("Paren \\(a+b\\) math", ["\\(a+b\\)"]),
        ("Bracket \\[a+b\\] math", ["\\[a+b\\]"]),
        ("It costs $12 and then $7 more", []),
        ("From $5-$10 each", []),
        ("See https://example.com/a?b=1.", ["https://example.com/a?b=1"]),
        ("See https://example.com/x, then", ["https://example.com/x"]),
        (
            "Wiki (https://en.wikipedia.org/wiki/Foo_(bar)) here",
            ["https://en.wikipedia.org/wiki/Foo_(bar)"],
        ),
        ("A [link](https://example.com) here", ["https://example.com"]),
        ("Write to ane.etxeberria@example.eus.", ["ane.etxeberria@example.eus"]),
        ("Hello {name}, item {0} and {}", ["{name}", "{0}", "{}"]),
        ("Jinja {{var}} here", ["{{var}}"]),
        ("C %s and %d and %5.2f", ["%s", "%d", "%5.2f"]),
        ("Python %(name)s here", ["%(name)s"]),
        ("Replace <FILE_NAME> and <API_KEY_2>", ["<FILE_NAME>", "<API_KEY_2>"]),
        ("A 50% discount and <br> tags", []),
    ],
)
def test_inline_spans(text, expected):
    assert spans(text) == expected
    out = rewrite(text)
    for span in expected:
        assert out.count(span) == text.count(span)


def test_masked_text_hides_every_span_behind_a_sentinel():
    unit = mask("Run `ls` then open https://x.org/a. Or {0}.")
    assert unit.text == "Run ⟦0⟧ then open ⟦1⟧. Or ⟦2⟧."
    assert unit.spans == {0: "`ls`", 1: "https://x.org/a", 2: "{0}"}
    assert (
        unit.unmask("⟦1⟧ ireki ⟦0⟧ ondoren. Edo ⟦2⟧.")
        == "https://x.org/a ireki `ls` ondoren. Edo {0}."
    )


def test_sentinel_check_catches_lost_duplicated_and_invented_markers():
    unit = mask("Run `ls` and `pwd` now")
    assert unit.sentinels_intact("⟦1⟧ eta ⟦0⟧ orain")  # reordered is fine
    assert not unit.sentinels_intact("⟦0⟧ orain")
    assert not unit.sentinels_intact("⟦0⟧ ⟦0⟧ ⟦1⟧")
    assert not unit.sentinels_intact("⟦0⟧ ⟦1⟧ ⟦2⟧")
    assert not unit.sentinels_intact("⟦0⟧ ⟦1⟧ ⟦")


def test_source_holding_sentinel_characters_is_never_masked():
    unit = mask("Literal ⟦0⟧ in text with `code`")
    assert not unit.safe and not unit.sentinels_intact(unit.text)


def test_display_math_blocks_are_kept():
    text = "Energy:\n\n$$\nE = mc^2\n$$\n\nand\n\\[\n\\int_0^1 x\\,dx\n\\]\nend of it."
    out = rewrite(text)
    assert "$$\nE = mc^2\n$$" in out and "\\[\n\\int_0^1 x\\,dx\n\\]" in out
    assert "END OF IT." in out


def test_headings_lists_and_numbering_keep_their_shape():
    text = "## Setup steps ##\n\n1. First step\n2) Second step\n   - nested item\n     * deeper item\n- [x] done task\n> quoted words\n---"
    out = rewrite(text)
    assert out == (
        "## SETUP STEPS ##\n\n1. FIRST STEP\n2) SECOND STEP\n   - NESTED ITEM\n     * DEEPER ITEM\n"
        "- [x] DONE TASK\n> QUOTED WORDS\n---"
    )


def test_tables_keep_rows_and_columns_and_translate_cells_one_by_one():
    text = "| Name | Use |\n|:---|---:|\n| width `w|x` | the `w` value |\n| height | plain text |"
    layout = parse(text)
    assert [u.text for u in layout.units] == [
        "Name",
        "Use",
        "width ⟦0⟧",
        "the ⟦0⟧ value",
        "height",
        "plain text",
    ]
    out = rewrite(text)
    assert (
        out
        == "| NAME | USE |\n|:---|---:|\n| WIDTH `w|x` | THE `w` VALUE |\n| HEIGHT | PLAIN TEXT |"
    )
    assert [line.count("|") for line in out.split("\n")] == [
        line.count("|") for line in text.split("\n")
    ]


def test_whitespace_and_line_breaks_are_kept():
    text = "  Indented line.  \r\n\n\nTrailing spaces   \n"
    out = rewrite(text)
    assert out == "  INDENTED LINE.  \r\n\n\nTRAILING SPACES   \n"


def test_long_lines_are_cut_at_sentence_ends_outside_spans_and_rejoined_in_order():
    sentences = [
        f"Sentence number {i} mentions `code {i}. here` and more words." for i in range(12)
    ]
    text = " ".join(sentences)
    layout = parse(text, max_chars=120)
    assert len(layout.units) > 1
    assert all(len(u.text) <= 120 for u in layout.units)
    assert rewrite(text, max_chars=120) == text.upper().replace("`CODE", "`code").replace(
        ". HERE`", ". here`"
    )


def test_verification_reports_a_lost_span():
    source = "Call `f()` at https://x.org with {name}"
    assert missing_spans(source, "Deitu `f()` https://x.org helbidean {name} erabiliz") == []
    assert missing_spans(source, "Deitu f() https://x.org helbidean {name}") == ["`f()`"]
    assert set(protected_spans(source)) == {"`f()`", "https://x.org", "{name}"}
