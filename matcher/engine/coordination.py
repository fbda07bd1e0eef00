"""Past joint work between members: joint referral counts (what the bundle terms of the objective read)
and coordination distances (shortest paths on the collaboration graph; used by the pool's partner rule
and by the RarestFirst baseline of the engine's evaluation)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

FAR = 1.0  # default coordination distance between members with no closer collaboration path


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
        self.joint_total = np.asarray(self.joint_graph.sum(axis=1)).ravel()  # each member's joint referrals
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

    def joint(self, i: int, j: int) -> int:
        """Past joint referrals of members i and j (member indices)."""
        return self._joint.get((int(i), int(j)), 0)

    def joint_matrix(self, idx) -> np.ndarray:
        """(k, k) past joint referrals between the members ``idx`` (member indices), zero diagonal."""
        idx = np.asarray(idx, dtype=np.int64)
        block = self.joint_graph[idx][:, idx].toarray()
        np.fill_diagonal(block, 0.0)
        return block
