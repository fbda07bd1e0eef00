"""The bundle objective's parameters and the arithmetic every search shares: ``J = sum c + sum f + lambda *
MST``, ``c = -log p``, sums of c over subsets of needs."""

from __future__ import annotations

import math

import numpy as np

FIXED_COST = 0.5
LAMBDA = 0.5
EPS = 1e-9


def neg_log(p: np.ndarray) -> np.ndarray:
    """c = -log p, with p clipped to [1e-9, 1]; inf where p is 0 (the member cannot take the need)."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore"):
        return np.where(p > 0, -np.log(np.clip(p, 1e-9, 1.0)), np.inf)


def success_chance(J_assignment: float) -> float:
    """The bundle's chance that every need is met, needs taken as independent (product of the assigned p)."""
    return math.exp(-J_assignment)


def subset_sums(cost: np.ndarray) -> np.ndarray:
    """(P, 2^N): for each member, the sum of its costs over each subset of needs (inf if it lacks one)."""
    P, N = cost.shape
    sums = np.zeros((P, 1 << N))
    for mask in range(1, 1 << N):
        low = (mask & -mask).bit_length() - 1
        sums[:, mask] = sums[:, mask ^ (1 << low)] + cost[:, low]
    return sums
