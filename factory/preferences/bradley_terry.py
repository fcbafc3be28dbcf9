"""Bradley-Terry maximum likelihood on aggregated win counts, batched over bootstrap rounds.

Model: P(i beats j) = 1 / (1 + base ** ((R_j - R_i) / scale)), ratings on the Elo scale
(scale 400, base 10, mean `initial` = 1000). A tie counts as half a win for each side, as in
the Chatbot Arena method. The arena refits a scikit-learn LogisticRegression on a pairwise
design matrix for every bootstrap round; here every round is reduced to an M x M matrix of
win counts and all rounds are solved at once by Newton's method:

* a battle is one of K "cells" (model a, model b, outcome); resampling N battles with
  replacement is exactly a multinomial draw of N over the cells with the observed frequencies,
  so a round costs one row of a (rounds x K) multinomial sample, not N random battles;
* the log-likelihood is concave, its Hessian is a weighted graph Laplacian: one batched
  `numpy.linalg.solve` of (rounds, M, M) per iteration, with step halving where a step
  would lower the likelihood.

A tiny ridge term (`ridge`, in natural-log units) fixes the free constant (mean rating =
`initial`, as the unpenalised reference converges to) and keeps a resample finite when it
happens to separate a model (all wins or all losses); on identifiable data it moves ratings
by far less than 0.01 points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

SCALE = 400.0
BASE = 10.0
INITIAL = 1000.0
RIDGE = 1e-6


@dataclass(frozen=True)
class Cells:
    """Battles grouped by (model a, model b, score of a): the sufficient statistic of the fit."""

    a: np.ndarray  # (K,) int
    b: np.ndarray  # (K,) int
    score: np.ndarray  # (K,) float in {0, 0.5, 1}
    count: np.ndarray  # (K,) int
    n_models: int

    @classmethod
    def from_battles(cls, a: np.ndarray, b: np.ndarray, score: np.ndarray, n_models: int) -> Cells:
        codes = np.stack([a, b, (np.asarray(score) * 2).astype(np.int64)], axis=1)
        unique, count = np.unique(codes, axis=0, return_counts=True)
        return cls(unique[:, 0], unique[:, 1], unique[:, 2] / 2.0, count, n_models)

    @property
    def n_battles(self) -> int:
        return int(self.count.sum())

    def design(self) -> csr_matrix:
        """Sparse (K, M*M): row k adds the cell's (half-)wins to W[a, b] and W[b, a]."""
        m, k = self.n_models, len(self.count)
        rows = np.concatenate([np.arange(k), np.arange(k)])
        cols = np.concatenate([self.a * m + self.b, self.b * m + self.a])
        values = np.concatenate([self.score, 1.0 - self.score])
        return csr_matrix((values, (rows, cols)), shape=(k, m * m))

    def wins(self, counts: np.ndarray | None = None) -> np.ndarray:
        """W[..., i, j]: (half-)wins of i over j, for the observed counts or a batch of resampled ones."""
        counts = self.count[None, :] if counts is None else np.atleast_2d(counts)
        w = np.asarray((self.design().T @ counts.T.astype(float)).T)
        return w.reshape(-1, self.n_models, self.n_models)

    def resample(self, rounds: int, rng: np.random.Generator) -> np.ndarray:
        """(rounds, K) cell counts of `rounds` bootstrap resamples of the battles."""
        return rng.multinomial(self.n_battles, self.count / self.n_battles, size=rounds)


def _log_likelihood(theta: np.ndarray, wins: np.ndarray, ridge: float) -> np.ndarray:
    diff = theta[:, :, None] - theta[:, None, :]
    # log sigmoid(d) = -log(1 + exp(-d)), written stably
    return (wins * -np.logaddexp(0.0, -diff)).sum(axis=(1, 2)) - 0.5 * ridge * (theta**2).sum(
        axis=1
    )


def solve(
    wins: np.ndarray, *, ridge: float = RIDGE, tol: float = 1e-9, max_iter: int = 200
) -> np.ndarray:
    """Natural-log strengths theta (rounds, M) maximising the penalised likelihood for each W."""
    wins = np.asarray(wins, dtype=float)
    rounds, m, _ = wins.shape
    games = wins + wins.transpose(0, 2, 1)
    theta = np.zeros((rounds, m))
    eye = np.eye(m)
    current = _log_likelihood(theta, wins, ridge)
    active = np.ones(rounds, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        t, w, g = theta[idx], wins[idx], games[idx]
        p = 1.0 / (1.0 + np.exp(-(t[:, :, None] - t[:, None, :])))
        grad = (w - g * p).sum(axis=2) - ridge * t
        weight = g * p * (1.0 - p)
        hess = weight.sum(axis=2)[:, :, None] * eye - weight + ridge * eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        # step halving: accept the largest step 2^-k that does not lower the likelihood
        scale = np.ones(idx.size)
        base = current[idx]
        for _halving in range(40):
            trial = t + scale[:, None] * step
            value = _log_likelihood(trial, w, ridge)
            bad = value < base - 1e-12 * np.abs(base)
            if not bad.any():
                break
            scale[bad] *= 0.5
        theta[idx] = trial
        current[idx] = value
        done = np.abs(scale[:, None] * step).max(axis=1) < tol
        active[idx[done]] = False
    return theta


def to_elo(
    theta: np.ndarray, *, scale: float = SCALE, base: float = BASE, initial: float = INITIAL
) -> np.ndarray:
    return initial + scale * theta / math.log(base)


@dataclass(frozen=True)
class Fit:
    """Ratings of one fit and, when bootstrapped, of every round."""

    ratings: np.ndarray  # (M,)
    rounds: np.ndarray  # (R, M), empty when no bootstrap

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Percentile bootstrap interval at confidence `level` (e.g. 0.95)."""
        if self.rounds.size == 0:
            return self.ratings.copy(), self.ratings.copy()
        tail = (1.0 - level) / 2.0 * 100.0
        low, high = np.percentile(self.rounds, [tail, 100.0 - tail], axis=0)
        return low, high


def fit(
    cells: Cells,
    *,
    bootstrap: int = 0,
    seed: int = 0,
    scale: float = SCALE,
    base: float = BASE,
    initial: float = INITIAL,
    chunk: int = 250,
) -> Fit:
    """MLE ratings on the observed battles, plus `bootstrap` resampled fits (seeded)."""
    point = to_elo(solve(cells.wins()), scale=scale, base=base, initial=initial)[0]
    rng = np.random.default_rng(seed)
    rounds = []
    for start in range(0, bootstrap, chunk):
        counts = cells.resample(min(chunk, bootstrap - start), rng)
        rounds.append(to_elo(solve(cells.wins(counts)), scale=scale, base=base, initial=initial))
    stacked = np.concatenate(rounds) if rounds else np.empty((0, cells.n_models))
    return Fit(point, stacked)
