"""Synthetic arena logs with known model strengths, for tests and benchmarks.

Outcomes follow the Bradley-Terry model on the Elo scale with a fixed tie rate; content
and language votes use different strengths, and the overall vote follows the arena's rule
(the content vote when content and language agree, else a separate overall vote).
Deterministic for a given seed; timestamps count seconds from a fixed date, not the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

_EPOCH = datetime(2025, 3, 1, tzinfo=UTC)


def true_strengths(
    n_models: int, seed: int = 0, spread: float = 300.0
) -> dict[str, dict[str, float]]:
    """Per dimension, model name -> true Elo rating (content drives overall)."""
    rng = np.random.default_rng(seed)
    names = [f"model-{i:02d}" for i in range(n_models)]
    content = np.linspace(-spread, spread, n_models) + 1000.0
    rng.shuffle(content)
    language = content + rng.normal(0.0, spread / 4, n_models)
    return {
        "content": dict(zip(names, content.round(1).tolist())),
        "language": dict(zip(names, language.round(1).tolist())),
        "overall": dict(zip(names, ((2 * content + language) / 3).round(1).tolist())),
    }


def _vote(rng: np.random.Generator, ra: float, rb: float, tie_rate: float) -> str:
    if rng.random() < tie_rate:
        return "tie"
    p_a = 1.0 / (1.0 + 10 ** ((rb - ra) / 400.0))
    return "model_a" if rng.random() < p_a else "model_b"


def synthetic_battles(
    n_battles: int,
    n_models: int = 21,
    *,
    seed: int = 0,
    tie_rate: float = 0.2,
    n_annotators: int = 50,
    strengths: dict[str, dict[str, float]] | None = None,
) -> list[dict]:
    """`n_battles` arena records (dicts as the arena logs them) between distinct models."""
    strengths = strengths or true_strengths(n_models, seed)
    names = sorted(strengths["content"])
    rng = np.random.default_rng(seed + 1)
    records = []
    for i in range(n_battles):
        a, b = rng.choice(len(names), size=2, replace=False)
        model_a, model_b = names[a], names[b]
        content = _vote(rng, strengths["content"][model_a], strengths["content"][model_b], tie_rate)
        language = _vote(
            rng, strengths["language"][model_a], strengths["language"][model_b], tie_rate
        )
        overall = (
            content
            if content == language
            else _vote(rng, strengths["overall"][model_a], strengths["overall"][model_b], tie_rate)
        )
        prompt = f"Idatzi {i}. galderari buruzko azalpen labur bat."
        records.append(
            {
                "timestamp": (_EPOCH + timedelta(seconds=60 * i)).isoformat(),
                "model_a": model_a,
                "model_b": model_b,
                "conv_a": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": f"{model_a}-ren erantzuna {i}."},
                ],
                "conv_b": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": f"{model_b}-ren erantzuna {i}."},
                ],
                "winner": overall,
                "winner_content": content,
                "winner_language": language,
                "username": f"erabiltzailea{int(rng.integers(n_annotators))}",
                "hyperparameters": {"temperature": 0.9, "top_p": 0.95, "max_new_tokens": 1024},
            }
        )
    return records
