"""Bundle search: choose members and an assignment of needs to them that minimise

``J = sum_n c(m(n), n) + sum_{m in B} f(m) + lambda * MST(B)``, with ``c = -log p``.

v1 searches exhaustively over the product of each need's pool of candidates (the pool is the best
``pool_size`` members per need by ``c``), so the answer is exact within that pool.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np

FIXED_COST = 0.5
LAMBDA = 0.5
FAR = 3.0  # coordination distance between members with no collaboration path


def coordination_distances(G: nx.Graph, members: list[str], cutoff: float = FAR) -> np.ndarray:
    """Symmetric matrix of collaboration-graph distances (edge length 1/(1+joint)), capped at ``cutoff``."""
    n = len(members)
    D = np.full((n, n), cutoff)
    np.fill_diagonal(D, 0.0)
    pos = {m: i for i, m in enumerate(members)}
    for i, m in enumerate(members):
        if m not in G:
            continue
        lengths = nx.single_source_dijkstra_path_length(G, m, cutoff=cutoff, weight="length")
        for other, d in lengths.items():
            j = pos.get(other)
            if j is not None and j != i:
                D[i, j] = D[j, i] = min(D[i, j], d)
    return D


def mst_weight(D: np.ndarray, idx) -> float:
    """Weight of the minimum spanning tree over the members ``idx`` (Prim, O(k^2))."""
    idx = list(idx)
    if len(idx) < 2:
        return 0.0
    sub = D[np.ix_(idx, idx)]
    in_tree = np.zeros(len(idx), bool)
    in_tree[0] = True
    best = sub[0].copy()
    total = 0.0
    for _ in range(len(idx) - 1):
        best_masked = np.where(in_tree, np.inf, best)
        k = int(np.argmin(best_masked))
        total += best_masked[k]
        in_tree[k] = True
        best = np.minimum(best, sub[k])
    return float(total)


def search(cost: np.ndarray, pool: list[list[int]], D: np.ndarray, *, top_k: int = 3,
           fixed_cost: float = FIXED_COST, lam: float = LAMBDA) -> list[dict]:
    """The ``top_k`` bundles with distinct member sets, best first.

    ``cost[p, n]`` is c for pool member p and need n; ``pool[n]`` the pool members allowed for need n;
    ``D`` the coordination distances between pool members. Each result: ``{"assignment": [p per need],
    "members": sorted member indices, "J": float, "terms": {...}}``.
    """
    best: dict[tuple, dict] = {}
    for choice in itertools.product(*pool):
        members = tuple(sorted(set(choice)))
        assign = float(sum(cost[p, n] for n, p in enumerate(choice)))
        fixed = fixed_cost * len(members)
        coord = lam * mst_weight(D, members)
        J = assign + fixed + coord
        if members not in best or J < best[members]["J"] - 1e-12:
            best[members] = {"assignment": list(choice), "members": list(members), "J": J,
                             "terms": {"assignment": assign, "fixed": fixed, "coordination": coord}}
    ranked = sorted(best.values(), key=lambda b: (b["J"], b["members"]))
    return ranked[:top_k]


def neg_log(p: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(p, 1e-9, 1.0))


def success_chance(J_assignment: float) -> float:
    """The bundle's chance that every leg succeeds (product of the assigned p)."""
    return math.exp(-J_assignment)
