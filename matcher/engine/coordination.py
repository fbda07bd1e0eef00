"""Coordination distances between members (shortest paths on the collaboration graph) and minimum
spanning trees over them: the coordination term of the bundle objective."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

FAR = 1.0  # coordination distance between members with no collaboration path shorter than this

class Coordination:
    """Coordination distances between members: shortest paths on the collaboration graph, edge length
    ``1 / (1 + joint referrals)``, capped at ``FAR``; a capped shortest-path distance is still a metric.

    Rows are computed lazily with scipy's Dijkstra (limit ``FAR``, O(E + V log V) per row) and kept in an
    LRU cache as sparse (column, distance) pairs, so the hot path never calls networkx.
    """

    def __init__(self, G, member_ids: list[str], *, far: float = FAR, max_rows: int = 8192):
        self.far, self.max_rows = far, max_rows
        self.index = {m: i for i, m in enumerate(member_ids)}
        n = len(member_ids)
        u, v, length, joint = [], [], [], []
        for a, b, data in G.edges(data=True):
            if a in self.index and b in self.index:
                u.append(self.index[a])
                v.append(self.index[b])
                length.append(1.0 / (1.0 + data.get("joint", 1)))
                joint.append(data.get("joint", 1))
        u, v = np.array(u, dtype=np.int64), np.array(v, dtype=np.int64)
        self.graph = sp.csr_matrix((np.array(length, float), (u, v)), shape=(n, n))
        self.joint_graph = sp.csr_matrix((np.array(joint, float), (u, v)), shape=(n, n))
        self.joint_graph = (self.joint_graph + self.joint_graph.T).tocsr()
        self._joint = {}
        for a, b, j in zip(u.tolist(), v.tolist(), joint):
            self._joint[(a, b)] = self._joint[(b, a)] = int(j)
        # Nearest collaborator of each member (a lower bound on its distance to anyone): O(E).
        sym = self.symmetric = (self.graph + self.graph.T).tocsr()
        self.nearest = np.full(n, far)
        if sym.nnz:
            mins = sym.min(axis=1, explicit=True).toarray().ravel()
            has = np.diff(sym.indptr) > 0
            self.nearest[has] = np.minimum(mins[has], far)
        self._rows: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def _ensure_rows(self, idx) -> list[tuple[np.ndarray, np.ndarray]]:
        """The sparse rows (columns, distances below FAR) of the members ``idx``, computing missing ones."""
        with self._lock:
            missing = [i for i in dict.fromkeys(idx) if i not in self._rows]
            if missing:
                dist = dijkstra(self.symmetric, directed=True, indices=missing, limit=self.far)
                for i, row in zip(missing, dist):
                    cols = np.flatnonzero(row < self.far)
                    self._rows[i] = (cols.astype(np.int32), row[cols].astype(np.float64))
            rows = []
            for i in idx:
                self._rows.move_to_end(i)
                rows.append(self._rows[i])
            while len(self._rows) > self.max_rows:
                self._rows.popitem(last=False)
            return rows

    def matrix(self, idx) -> np.ndarray:
        """Symmetric (k, k) distance matrix over the members ``idx`` (member indices), zero diagonal."""
        idx = [int(i) for i in idx]
        k = len(idx)
        D = np.full((k, k), self.far)
        if k == 0:
            return D
        rows = self._ensure_rows(idx)
        target = np.array(idx)
        order = np.argsort(target, kind="stable")
        sorted_target = target[order]
        for a, (cols, vals) in enumerate(rows):
            pos = np.searchsorted(cols, sorted_target)
            pos_ok = pos < len(cols)
            hit = np.zeros(k, bool)
            hit[pos_ok] = cols[pos[pos_ok]] == sorted_target[pos_ok]
            D[a, order[hit]] = vals[pos[hit]]
        D = np.minimum(D, D.T)
        np.fill_diagonal(D, 0.0)
        return D

    def distance(self, i: int, j: int) -> float:
        """Coordination distance between members i and j (member indices)."""
        if i == j:
            return 0.0
        row = self._rows.get(i)
        cols, vals = row if row is not None else self._ensure_rows([i])[0]
        k = int(np.searchsorted(cols, j))
        return float(vals[k]) if k < len(cols) and cols[k] == j else self.far

    def tree_weight(self, members) -> float:
        """Weight of the minimum spanning tree over the given members (member indices)."""
        members = list(members)
        if len(members) < 2:
            return 0.0
        if len(members) == 2:
            return self.distance(members[0], members[1])
        D = [[self.distance(a, b) for b in members] for a in members]
        return _mst(D, list(range(len(members))))

    def joint(self, i: int, j: int) -> int:
        """Past joint referrals of members i and j (member indices)."""
        return self._joint.get((int(i), int(j)), 0)


def mst_weight(D: np.ndarray, idx) -> float:
    """Weight of the minimum spanning tree over the vertices ``idx`` of D (Prim, O(k^2))."""
    idx = list(idx)
    if len(idx) < 2:
        return 0.0
    return _mst([list(map(float, row)) for row in np.asarray(D)[np.ix_(idx, idx)]], list(range(len(idx))))


def _mst(D: list[list[float]], verts: list[int]) -> float:
    """Prim's algorithm on a dense matrix given as lists (fast for the few vertices of a bundle)."""
    if len(verts) < 2:
        return 0.0
    first, rest = verts[0], verts[1:]
    best = {v: D[first][v] for v in rest}
    total = 0.0
    while best:
        v = min(best, key=best.__getitem__)
        total += best.pop(v)
        row = D[v]
        for w in best:
            if row[w] < best[w]:
                best[w] = row[w]
    return total


def nearest_in(D: np.ndarray) -> np.ndarray:
    """Each vertex's distance to its nearest other vertex of D (0 when D has one vertex)."""
    if len(D) < 2:
        return np.zeros(len(D))
    masked = D + np.diag(np.full(len(D), np.inf))
    return masked.min(axis=1)


def mst_weights(D: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """MST weight over each row of ``verts`` (B, k) vertex indices of D: Prim vectorised over the rows,
    O(B * k^2)."""
    B, k = verts.shape
    if k < 2:
        return np.zeros(B)
    W = D[verts[:, :, None], verts[:, None, :]]  # (B, k, k)
    in_tree = np.zeros((B, k), bool)
    in_tree[:, 0] = True
    dist = W[:, 0, :].copy()
    total = np.zeros(B)
    rows = np.arange(B)
    for _ in range(k - 1):
        masked = np.where(in_tree, np.inf, dist)
        nxt = masked.argmin(axis=1)
        total += masked[rows, nxt]
        in_tree[rows, nxt] = True
        dist = np.minimum(dist, W[rows, nxt, :])
    return total
