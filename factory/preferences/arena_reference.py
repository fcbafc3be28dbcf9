"""The arena's own Bradley-Terry fit, kept as the reference `bradley_terry` is checked against.

Chatbot Arena (and Ebaluatoia after it) fit a scikit-learn LogisticRegression with no
intercept and no penalty on a pairwise design matrix: for each ordered pair (i, j), one row
with +log(base) at i and -log(base) at j, labelled 1 with weight "points of i over j" and 0
with weight "points of j over i". The test suite compares ratings with it and the
leaderboard benchmark times it as the baseline.
"""

from __future__ import annotations

import math

import numpy as np


def logistic_ratings(
    points: np.ndarray,
    *,
    scale: float = 400.0,
    base: float = 10.0,
    initial: float = 1000.0,
    tol: float = 1e-8,
    max_iter: int = 1000,
) -> np.ndarray:
    """Ratings from `points[i, j]`, the (half-)wins of model i over model j (any common multiple)."""
    from sklearn.linear_model import LogisticRegression

    points = np.asarray(points, dtype=float)
    m = len(points)
    rows, labels, weights = [], [], []
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            row = np.zeros(m)
            row[i], row[j] = math.log(base), -math.log(base)
            rows += [row, row]
            labels += [1, 0]
            weights += [points[i, j], points[j, i]]
    model = LogisticRegression(fit_intercept=False, C=np.inf, tol=tol, max_iter=max_iter)
    model.fit(np.array(rows), np.array(labels), sample_weight=np.array(weights))
    return scale * model.coef_[0] + initial
