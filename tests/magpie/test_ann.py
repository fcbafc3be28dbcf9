"""Magpie's nearest-neighbour tags: definition on a hand-made set, and the approximate index against exact search."""

from __future__ import annotations

import numpy as np
import pytest

from factory.magpie.ann import IndexParams, NeighbourIndex, build_index, neighbourhood

pytest.importorskip("faiss")


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_definition_on_a_hand_made_set(tmp_path):
    rng = np.random.default_rng(0)
    base = unit(rng.standard_normal((4, 16)))
    # rows: a, b, a', c, b', d  (a' and b' are near copies of a and b)
    near = lambda v: unit(v + 0.01 * rng.standard_normal(16))  # noqa: E731
    vectors = np.stack([base[0], base[1], near(base[0]), base[2], near(base[1]), base[3]])
    ids = [f"r{i}" for i in range(6)]
    build_index([vectors[:3], vectors[3:]], ids, tmp_path)  # two shards, row order kept
    index = NeighbourIndex(tmp_path)
    hoods = index.query(range(6), k=6, threshold=0.05)
    assert [ids[h.min_similar_position] for h in hoods] == ["r0", "r1", "r0", "r3", "r1", "r5"]
    assert [h.repeat_count for h in hoods] == [1, 1, 1, 0, 1, 0]
    exact = 2 - 2 * float(vectors[0] @ vectors[2])
    assert hoods[0].min_neighbor_distance == pytest.approx(exact, abs=1e-4)


def test_a_row_alone_has_no_neighbour_distance():
    hood = neighbourhood(0, np.array([0.0]), np.array([0]), 0.05)
    assert hood.min_neighbor_distance is None and hood.min_similar_position == 0


def planted(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((50, 64)))
    x = unit(centres[rng.integers(0, 50, n)] + 0.15 * rng.standard_normal((n, 64)))
    copies = rng.choice(np.arange(n // 2, n), n // 20, replace=False)
    for c in copies:
        x[c] = unit(x[rng.integers(0, n // 2)] + 0.02 * rng.standard_normal(64))
    return x


def exact_keep(x: np.ndarray, threshold: float) -> list[int]:
    d2 = 2 - 2 * x @ x.T
    return [int(np.flatnonzero(d2[i] < threshold).min(initial=i)) for i in range(len(x))]


def test_ivf_index_agrees_with_exact_search_and_is_deterministic(tmp_path):
    x = planted(6000)
    params = IndexParams(exact_below=0, nlist=32, nprobe=4, threads=1)
    hoods = []
    for run in ("a", "b"):
        build_index([x[:2500], x[2500:]], [str(i) for i in range(len(x))], tmp_path / run, params)
        hoods.append(NeighbourIndex(tmp_path / run).query(range(len(x)), k=20, threshold=0.05))
    assert hoods[0] == hoods[1]
    truth = exact_keep(x, 0.05)
    got = [h.min_similar_position for h in hoods[0]]
    dropped_truth = {i for i, m in enumerate(truth) if m != i}
    dropped_got = {i for i, m in enumerate(got) if m != i}
    assert len(dropped_truth) >= 250
    assert len(dropped_got & dropped_truth) / len(dropped_truth) >= 0.95  # recall
    assert len(dropped_got & dropped_truth) / len(dropped_got) >= 0.95  # precision
