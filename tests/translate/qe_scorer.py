"""A reference-free QE scorer for the tests: 1 minus the distance of the length ratio from 1.

Real use plugs a model (e.g. a CometKiwi wrapper) with the same signature.
"""

from __future__ import annotations


def score(sources: list[str], targets: list[str]) -> list[float]:
    return [max(0.0, 1.0 - abs(len(t) / max(1, len(s)) - 1.0)) for s, t in zip(sources, targets)]
