"""Who holds the collaboration network together: brokers, isolated members, communities.

All functions take the simple member-member collaboration graph (``graphs.network.collaboration_graph``,
edge attribute ``joint`` = joint referrals) first.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

EXACT_BETWEENNESS_MAX_NODES = 2000
BETWEENNESS_PIVOTS = 256
BATCH = 128


def betweenness(G: nx.Graph, *, pivots: int | None = None, seed: int = 0) -> tuple[dict, bool]:
    """Normalised betweenness centrality (hop counts) of every node, and whether it is exact.

    The same values as ``networkx.betweenness_centrality(G)`` (undirected, normalised by
    (n - 1)(n - 2)), computed by Brandes' algorithm with breadth-first searches from a batch of sources at
    once as sparse-matrix products (the linear-algebra form of Buluç and Gilbert's Combinatorial BLAS):
    O(V E) work done by scipy instead of Python loops. Exact up to ``EXACT_BETWEENNESS_MAX_NODES`` nodes;
    beyond that, or when ``pivots`` is given and smaller than V, estimated from that many sources sampled
    with ``seed`` (default ``BETWEENNESS_PIVOTS``) and scaled by V / pivots, as networkx does with ``k``.
    """
    n = G.number_of_nodes()
    if pivots is None and n > EXACT_BETWEENNESS_MAX_NODES:
        pivots = BETWEENNESS_PIVOTS
    exact = pivots is None or pivots >= n
    nodes = list(G)
    if n <= 2 or G.number_of_edges() == 0:
        return dict.fromkeys(nodes, 0.0), exact
    sources = np.arange(n) if exact else np.random.default_rng(seed).choice(n, size=pivots, replace=False)
    A = nx.to_scipy_sparse_array(G, nodelist=nodes, weight=None, format="csr").astype(float)
    total = np.zeros(n)
    for start in range(0, len(sources), BATCH):
        total += _dependencies(A, sources[start:start + BATCH])
    scale = 1.0 / ((n - 1) * (n - 2)) * (1.0 if exact else n / len(sources))
    return {v: float(total[i] * scale) for i, v in enumerate(nodes)}, exact


def _dependencies(A, sources: np.ndarray) -> np.ndarray:
    """Sum over the given sources s of Brandes' dependency delta_s(v), for every node v. O(E * len(sources))."""
    n, b = A.shape[0], len(sources)
    cols = np.arange(b)
    sigma = np.zeros((n, b))
    sigma[sources, cols] = 1.0
    seen = sigma > 0
    levels, frontier = [seen.copy()], sigma.copy()
    while True:  # breadth first, one level for all the sources at a time
        paths = A @ frontier
        new = (paths > 0) & ~seen
        if not new.any():
            break
        sigma[new] = paths[new]
        seen |= new
        frontier = np.where(new, paths, 0.0)
        levels.append(new)
    delta = np.zeros((n, b))
    safe = np.where(sigma > 0, sigma, 1.0)
    for depth in range(len(levels) - 1, 0, -1):  # back up the levels, accumulating dependencies
        carried = A @ np.where(levels[depth], (1.0 + delta) / safe, 0.0)
        delta += np.where(levels[depth - 1], sigma * carried, 0.0)
    delta[sources, cols] = 0.0
    return delta.sum(axis=1)


def brokers(G: nx.Graph, top: int = 10, *, scores: dict | None = None) -> list[dict]:
    """The ``top`` members by betweenness with a positive score: ``{member, betweenness, partners,
    joint}`` (partners = degree, joint = joint referrals over all partners), best first, ties by id.

    ``scores`` reuses a betweenness dict already computed. O(V E) without ``scores`` (see ``betweenness``).
    """
    scores = scores if scores is not None else betweenness(G)[0]
    ranked = sorted((n for n, s in scores.items() if s > 0), key=lambda n: (-scores[n], str(n)))[:top]
    return [{"member": n, "betweenness": round(float(scores[n]), 6), "partners": G.degree(n),
             "joint": int(G.degree(n, weight="joint"))} for n in ranked]


def isolates(G: nx.Graph) -> list:
    """Members with no joint referral (no edge), sorted. O(V)."""
    return sorted(nx.isolates(G))


def _without_isolates(G: nx.Graph) -> nx.Graph:
    H = G.copy()
    H.remove_nodes_from(list(nx.isolates(G)))
    return H


def communities(G: nx.Graph, *, weight: str = "joint", seed: int = 0) -> list[list]:
    """Communities of collaboration (Louvain, weighted by joint referrals, seeded), isolates left out.

    Each community is a sorted list of members; largest first, ties by first member. About O(E) per pass.
    """
    H = _without_isolates(G)
    if H.number_of_edges() == 0:
        return []
    found = nx.community.louvain_communities(H, weight=weight, seed=seed)
    return sorted((sorted(c) for c in found), key=lambda c: (-len(c), str(c[0])))


def modularity(G: nx.Graph, groups, *, weight: str = "joint") -> float:
    """Modularity of a partition of G's non-isolated nodes (0 for a graph with no edge). O(E)."""
    H = _without_isolates(G)
    if H.number_of_edges() == 0:
        return 0.0
    return float(nx.community.modularity(H, [set(g) for g in groups], weight=weight))
