"""A quality scorer for the kill-and-resume test: the shipped heuristic, made slow on purpose.

Loaded by a `factory build` subprocess through `quality.scorer=slow_scorer:score` (this folder
is put on its PYTHONPATH), so that the filter stage lasts long enough for a SIGKILL to land
between its tasks.
"""

import time

from factory.corpus.quality import heuristic_v1

DELAY_S = 0.01


def score(text: str) -> float:
    time.sleep(DELAY_S)
    return heuristic_v1(text)
