"""Output cleaning, refusals and the repair path of `translate_messages`.

`Rewriter` is a rule-based model (it upper-cases prose, and can be told to lose sentinels, chat or
refuse), so each fault the quality checks must catch is injected exactly; the real models run in
test_backends.py and test_build.py.
"""

from __future__ import annotations

from factory.engines.spec import Completion
from factory.translate.messages import clean_output, is_refusal, translate_messages
from factory.translate.recipe import Sampling
from factory.translate.structure import SENTINEL_RE, missing_spans


class Rewriter:
    def __init__(self, lose_sentinels=False, prefix="", finish="stop"):
        self.lose_sentinels, self.prefix, self.finish = lose_sentinels, prefix, finish
        self.calls: list[list[str]] = []

    def translate(self, texts, sampling, seed):
        self.calls.append(list(texts))
        out = []
        for text in texts:
            body = SENTINEL_RE.sub("", text) if self.lose_sentinels else text
            body = SENTINEL_RE.sub(lambda m: m.group(), body.upper())
            out.append(
                Completion(
                    text=self.prefix + body,
                    token_ids=[1],
                    finish_reason=self.finish,
                    prompt_tokens=1,
                    completion_tokens=1,
                )
            )
        return out


ARGS = dict(roles={"system", "user", "assistant"}, max_chars=500)


def test_lost_sentinels_are_repaired_piece_by_piece_with_spans_in_source_order():
    model = Rewriter(lose_sentinels=True)
    source = [{"role": "user", "content": "Run `make` then open https://x.org now."}]
    out, facts = translate_messages(source, model, Sampling(), 1, **ARGS)
    assert out[0]["content"] == "RUN `make` THEN OPEN https://x.org NOW."
    assert facts[0].repaired == 1
    assert model.calls[1] == ["Run", "then open", "now."]  # the second call: prose pieces only
    assert missing_spans(source[0]["content"], out[0]["content"]) == []


def test_intact_sentinels_need_one_call():
    model = Rewriter()
    out, facts = translate_messages(
        [{"role": "user", "content": "Use {name} and `x` here."}], model, Sampling(), 1, **ARGS
    )
    assert out[0]["content"] == "USE {name} AND `x` HERE." and facts[0].repaired == 0
    assert len(model.calls) == 1


def test_chatter_is_stripped_and_counted():
    out, facts = translate_messages(
        [{"role": "assistant", "content": "Good morning to you all."}],
        Rewriter(prefix="Here is the Basque translation: "),
        Sampling(),
        1,
        **ARGS,
    )
    assert out[0]["content"] == "GOOD MORNING TO YOU ALL." and facts[0].chatter_stripped == 1


def test_a_translation_task_that_says_so_keeps_its_words():
    source = "Here is the translation: good morning"
    assert clean_output("Hona hemen itzulpena: egun on", source, True) == (
        "Hona hemen itzulpena: egun on",
        False,
    )
    assert clean_output("Hona hemen itzulpena: egun on", "Good morning", True) == ("egun on", True)
    assert clean_output('"Egun on"', "Good morning", True) == ("Egun on", True)
    assert clean_output('"Egun on"', '"Good morning"', True) == ('"Egun on"', False)
    assert clean_output("Egun on.\n\nNote: I kept it short.", "Good morning.", True) == (
        "Egun on.",
        True,
    )


def test_refusals_are_flagged_unless_the_source_is_one():
    _out, facts = translate_messages(
        [{"role": "assistant", "content": "The capital of France is Paris."}],
        Rewriter(prefix="I'm sorry, but I can't help. "),
        Sampling(),
        1,
        **ARGS,
    )
    assert facts[0].refusals == 1
    assert is_refusal("Sentitzen dut, ezin dut horretan lagundu.")
    _out, facts = translate_messages(
        [{"role": "assistant", "content": "I'm sorry, I cannot help with that."}],
        Rewriter(),
        Sampling(),
        1,
        **ARGS,
    )
    assert facts[0].refusals == 0  # the source itself refuses: its translation may too


def test_truncation_copies_and_untranslated_roles_are_recorded():
    source = [
        {"role": "system", "content": "Stay in English."},
        {"role": "user", "content": "Some text to translate."},
    ]
    out, facts = translate_messages(
        source, Rewriter(finish="length"), Sampling(), 1, roles={"user"}, max_chars=500
    )
    assert out[0] == source[0] and facts[0].translated is False
    assert facts[1].truncated == 1

    class Copier(Rewriter):
        def translate(self, texts, sampling, seed):
            return [
                Completion(
                    text=t, token_ids=[], finish_reason="stop", prompt_tokens=1, completion_tokens=0
                )
                for t in texts
            ]

    _out, facts = translate_messages([source[1]], Copier(), Sampling(), 1, **ARGS)
    assert facts[0].copied_chars == sum(c.isalpha() for c in source[1]["content"])


def test_markers_a_model_invents_never_reach_the_output():
    class Inventor(Rewriter):
        def translate(self, texts, sampling, seed):
            return [
                Completion(
                    text=f"⟦0⟧ {t.upper()} ⟦1⟧",
                    token_ids=[],
                    finish_reason="stop",
                    prompt_tokens=1,
                    completion_tokens=1,
                )
                for t in texts
            ]

    out, facts = translate_messages(
        [{"role": "user", "content": "No spans at all here."}], Inventor(), Sampling(), 1, **ARGS
    )
    assert "⟦" not in out[0]["content"] and "⟧" not in out[0]["content"]
    assert out[0]["content"] == "NO SPANS AT ALL HERE." and facts[0].repaired == 1
