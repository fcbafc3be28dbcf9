"""The `translate` recipe: translate a conversation dataset message by message, structure kept."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from factory.engines.spec import EngineSpec, runtime_paths
from factory.langid import METHODS
from factory.recipe_base import RecipeBase, StrictModel

ROLES = ("system", "user", "assistant")
DEMO_MT_MODEL = (
    "demo:tiny-mt-en-eu"  # the tiny English->Basque demo model (factory/demo/mt_model.py)
)
_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class ColumnFilter(StrictModel):
    """Drop source rows whose `column` matches (e.g. ids starting with `translation_`)."""

    column: str = Field(..., description="Source column to test (a missing column never matches).")
    startswith: str | None = Field(None, description="Drop rows whose value starts with this.")
    equals: str | None = Field(None, description="Drop rows whose value equals this.")
    contains: str | None = Field(None, description="Drop rows whose value contains this.")

    @model_validator(mode="after")
    def _one_test(self) -> ColumnFilter:
        given = [k for k in ("startswith", "equals", "contains") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of startswith, equals or contains (got {', '.join(given) or 'none'})"
            )
        return self

    def matches(self, row: dict) -> bool:
        value = row.get(self.column)
        if value is None:
            return False
        value = str(value)
        if self.startswith is not None:
            return value.startswith(self.startswith)
        if self.equals is not None:
            return value == self.equals
        return self.contains in value  # type: ignore[operator]

    @property
    def label(self) -> str:
        test = next(k for k in ("startswith", "equals", "contains") if getattr(self, k) is not None)
        return f"{self.column} {test} {getattr(self, test)!r}"


class SourceSpec(StrictModel):
    """Which rows of the inputs are translated."""

    id_column: str = Field(
        "id",
        description="Column holding each row's id (`source_id` of the translation); rows without one get `<input>-<row number>`.",
    )
    exclude: list[ColumnFilter] = Field(
        default_factory=list,
        description="Rows to leave out before anything else (counted as `translate_excluded`).",
    )
    mode: Literal["all", "first", "sample"] = Field(
        "all",
        description="`all` valid rows, the `first` n in input order, or a seeded `sample` of n (kept in input order).",
    )
    n: int | None = Field(None, ge=1, description="Rows to take for modes `first` and `sample`.")

    @model_validator(mode="after")
    def _n_given(self) -> SourceSpec:
        if self.mode != "all" and self.n is None:
            raise ValueError(f"mode {self.mode!r} needs n (how many rows)")
        return self


class FewShot(StrictModel):
    source: str = Field(..., min_length=1, description="A source text.")
    target: str = Field(..., min_length=1, description="Its translation.")


class PromptSpec(StrictModel):
    """How an instruction-tuned LLM is asked to translate one piece of a message."""

    system: str | None = Field(
        "You are a professional translator. Translate the user's text from {source_name} into "
        "{target_name}. Keep every marker like ⟦0⟧ exactly as it is, in a fitting place. "
        "Answer with the translation only.",
        description="System prompt (`{source_name}`, `{target_name}` are filled in); null: none.",
    )
    instruction: str = Field(
        "{text}",
        description="The user turn; `{text}` is the text to translate (`{source_name}`, `{target_name}` too).",
    )
    few_shot: list[FewShot] = Field(
        default_factory=list,
        description="Example (source, target) pairs sent before the text as user/assistant turns.",
    )

    @field_validator("instruction")
    @classmethod
    def _has_text(cls, value: str) -> str:
        if "{text}" not in value:
            raise ValueError("needs a `{text}` slot where the text to translate goes")
        return value


class Seq2SeqSpec(StrictModel):
    """A sequence-to-sequence MT model loaded with transformers (Marian, NLLB, M2M...)."""

    model: str = Field(
        ...,
        description=f"Hugging Face id or local folder; `{DEMO_MT_MODEL}` is the tiny demo English->Basque model.",
    )
    revision: str | None = Field(None, description="Model revision (pin a commit).")
    source_code: str | None = Field(
        None, description="The tokenizer's source language code (NLLB: `eng_Latn`); Marian: none."
    )
    target_code: str | None = Field(
        None,
        description="Target language code, forced as the first generated token (NLLB: `eus_Latn`).",
    )
    device: str = Field("auto", description="`cpu`, `cuda`, `cuda:N` or `auto`.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype."
    )
    batch_size: int = Field(32, ge=1, description="Texts translated together.")
    num_beams: int = Field(1, ge=1, description="Beam search width (1: greedy).")


class Sampling(StrictModel):
    temperature: float = Field(0.0, ge=0.0, description="0: greedy (translation default).")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_tokens: int = Field(1024, ge=1, description="Most new tokens per translated piece.")


class TranslateSpec(StrictModel):
    """The translation itself."""

    source_language: str = Field(
        "en", min_length=2, max_length=3, description="ISO 639-1 code of the source."
    )
    target_language: str = Field(
        "eu", min_length=2, max_length=3, description="ISO 639-1 code of the target."
    )
    source_name: str = Field("English", description="Source language name for prompts.")
    target_name: str = Field("Basque", description="Target language name for prompts.")
    backend: Literal["llm", "seq2seq"] = Field(
        "llm",
        description="`llm`: an instruction-tuned model through `engine`; `seq2seq`: an MT model.",
    )
    engine: EngineSpec | None = Field(None, description="The LLM engine (backend llm).")
    prompt: PromptSpec = Field(
        default_factory=PromptSpec, description="The LLM prompt (backend llm)."
    )
    seq2seq: Seq2SeqSpec | None = Field(None, description="The MT model (backend seq2seq).")
    sampling: Sampling = Field(default_factory=Sampling, description="Decoding settings.")
    roles: list[Literal["system", "user", "assistant"]] = Field(
        default_factory=lambda: list(ROLES),
        description="Roles whose messages are translated; others are copied unchanged.",
    )
    max_chars: int = Field(
        1500,
        ge=50,
        description="Longest piece sent at once: longer lines are cut at sentence ends to fit the model's context.",
    )
    checkpoint_every: int = Field(
        256,
        ge=1,
        description="Rows per translate call and per checkpoint file; a rerun reuses them.",
    )

    @model_validator(mode="after")
    def _backend_configured(self) -> TranslateSpec:
        if self.backend == "llm" and self.engine is None:
            raise ValueError("backend llm needs translate.engine")
        if self.backend == "seq2seq" and self.seq2seq is None:
            raise ValueError("backend seq2seq needs translate.seq2seq")
        return self

    @property
    def model_name(self) -> str:
        return self.engine.model if self.backend == "llm" else self.seq2seq.model  # type: ignore[union-attr]


class LanguageCheck(StrictModel):
    enabled: bool = Field(True, description="Run offline language ID on every translated message.")
    method: Literal["cld2", "fasttext"] = Field("cld2", description=f"One of {', '.join(METHODS)}.")
    min_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Least share of each message's prose in the target language.",
    )
    min_chars: int = Field(
        20,
        ge=0,
        description="Messages with less prose than this are not language-checked (too short to tell).",
    )


class LengthRatio(StrictModel):
    min: float = Field(0.5, gt=0, description="Least target/source prose length ratio per message.")
    max: float = Field(2.5, gt=0, description="Largest ratio.")
    min_chars: int = Field(20, ge=0, description="Shorter source prose is not ratio-checked.")


class Scorer(StrictModel):
    """A reference-free quality-estimation scorer: `module:function(sources, targets) -> scores`."""

    function: str = Field(
        ..., description="`package.module:function`, importable where the build runs."
    )
    min_score: float | None = Field(
        None, description="Rows scoring below this are dropped (`translate_low_qe`)."
    )
    batch_size: int = Field(64, ge=1, description="Rows scored per call.")

    @field_validator("function")
    @classmethod
    def _shape(cls, value: str) -> str:
        if not _FUNCTION.match(value):
            raise ValueError(f"{value!r} is not `module:function` (e.g. mypkg.qe:score)")
        return value


class QualitySpec(StrictModel):
    """Checks on every translated row; each drop has a `translate_*` reason."""

    language: LanguageCheck = Field(default_factory=LanguageCheck, description="Output language.")
    length_ratio: LengthRatio = Field(
        default_factory=LengthRatio, description="Length ratio bounds."
    )
    max_copied_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Most share of a message's prose left identical to the source (`translate_untranslated`).",
    )
    drop_truncated: bool = Field(True, description="Drop rows where a piece hit max_tokens.")
    drop_refusals: bool = Field(
        True, description="Drop rows where the model refused instead of translating."
    )
    strip_chatter: bool = Field(
        True, description='Strip "Here is the translation:" and similar from outputs.'
    )
    scorer: Scorer | None = Field(None, description="Optional QE scorer.")


class TranslateRecipe(RecipeBase):
    """A dataset of conversations translated message by message, row-aligned with its source."""

    kind: Literal["translate"] = Field("translate", description="Recipe kind.")
    selection: SourceSpec = Field(
        default_factory=SourceSpec, description="Which source rows are translated."
    )
    translate: TranslateSpec = Field(..., description="Backend, model, prompt, languages.")
    quality: QualitySpec = Field(default_factory=QualitySpec, description="Quality checks.")

    hash_exclude: ClassVar[tuple[str, ...]] = (
        *RecipeBase.hash_exclude,
        *runtime_paths("translate.engine"),
    )

    @model_validator(mode="after")
    def _has_input(self) -> TranslateRecipe:
        if not self.inputs:
            raise ValueError(
                "a translate recipe needs at least one input (inputs: [{dataset: org/name@revision}] or a path)"
            )
        return self

    @property
    def uses_demo_model(self) -> bool:
        return self.translate.model_name.startswith("demo:")
