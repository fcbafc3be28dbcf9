"""Document features of the Latxa paper's Appendix A, computed in one pass over the text.

Words are whitespace-separated tokens with no letter or digit stripped (as Dolma's Gopher
tagger); a token made only of punctuation is not a word for the counts and lengths, but does
count in the alpha fraction's denominator (as Gopher's rule "80% of words contain a letter").
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

_PUNCT_ONLY = re.compile(r"^[^\w]+$")
_ALPHA = re.compile(r"[^\W\d_]")
_BULLETS = ("*", "-", "•", "‣", "◦", "–")
_ELLIPSES = ("...", "…")
FEATURES_KEY = "corpus_features"


@dataclass(slots=True)
class Features:
    words: int  # tokens with at least one letter or digit
    tokens: int  # all whitespace tokens
    mean_word_length: float
    alpha_word_fraction: float  # tokens with at least one letter / all tokens
    hash_ratio: float  # '#' per word
    ellipsis_ratio: float  # '...' or '…' per word
    bullet_line_fraction: float
    ellipsis_line_fraction: float
    lorem_ipsum: bool
    curly_bracket: bool

    def to_dict(self) -> dict:
        return asdict(self)


def text_features(text: str) -> Features:
    tokens = text.split()
    n_tokens = len(tokens)
    word_lengths = [len(t) for t in tokens if not _PUNCT_ONLY.match(t)]
    n_words = len(word_lengths)
    alpha = sum(1 for t in tokens if _ALPHA.search(t))
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line] or [""]
    denominator = max(n_tokens, 1)
    return Features(
        words=n_words,
        tokens=n_tokens,
        mean_word_length=sum(word_lengths) / n_words if n_words else 0.0,
        alpha_word_fraction=alpha / n_tokens if n_tokens else 0.0,
        hash_ratio=text.count("#") / denominator,
        ellipsis_ratio=(text.count("...") + text.count("…")) / denominator,
        bullet_line_fraction=sum(line.startswith(_BULLETS) for line in lines) / len(lines),
        ellipsis_line_fraction=sum(line.endswith(_ELLIPSES) for line in lines) / len(lines),
        lorem_ipsum="lorem ipsum" in text.lower(),
        curly_bracket="{" in text,
    )


def features_of(doc) -> Features:
    """The features cached on the document (recomputed if its text changed length)."""
    # kept as a plain dict so that exclusion files show the features a filter judged
    cached = doc.metadata.get(FEATURES_KEY)
    if isinstance(cached, dict) and cached.get("_text_len") == len(doc.text):
        return Features(**{k: v for k, v in cached.items() if k != "_text_len"})
    feats = text_features(doc.text)
    doc.metadata[FEATURES_KEY] = feats.to_dict() | {"_text_len": len(doc.text)}
    return feats
