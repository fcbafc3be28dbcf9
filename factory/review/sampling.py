"""Seeded, stratified samples of rows: same rows, seed and N give the same sample."""

from __future__ import annotations

import numpy as np

from factory.builds.seeds import derive_seed


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of `n` over strata (largest remainder, ties by name); each
    non-empty stratum gets at least one row when `n` allows it, so rare groups are seen."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    names = sorted(sizes)
    quota = {k: n * sizes[k] / total for k in names}
    take = {k: min(sizes[k], int(quota[k])) for k in names}
    if n >= len(names):
        for k in names:
            if take[k] == 0 and sizes[k] > 0:
                take[k] = 1
    # shrink the largest while over, then hand out the remainders
    while sum(take.values()) > n:
        biggest = max(names, key=lambda k: (take[k], k))
        take[biggest] -= 1
    for k in sorted(names, key=lambda k: (-(quota[k] - int(quota[k])), k)):
        if sum(take.values()) >= n:
            break
        if take[k] < sizes[k]:
            take[k] += 1
    while sum(take.values()) < n:  # remainders exhausted: fill where rows are left
        k = next(k for k in names if take[k] < sizes[k])
        take[k] += 1
    return take


def stratified_sample(strata: list[str], n: int, seed: int) -> list[int]:
    """Indices of a sample of `n` rows (sorted), drawn within each stratum from its own seed."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(strata):
        groups.setdefault(name, []).append(index)
    take = allocate({k: len(v) for k, v in groups.items()}, n)
    chosen: list[int] = []
    for name in sorted(groups):
        rng = np.random.default_rng(derive_seed(seed, "review", name))
        members = groups[name]
        picked = rng.choice(len(members), size=take[name], replace=False)
        chosen.extend(members[i] for i in picked)
    return sorted(chosen)
