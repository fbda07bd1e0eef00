"""Past joint work between members: joint referral counts (what the bundle terms of the objective read)
and coordination distances (shortest paths on the collaboration graph; used by the pool's partner rule
and by the RarestFirst baseline of the engine's evaluation)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from matcher.engine.derived import declare

FAR = 1.0  # default coordination distance between members with no closer collaboration path
COORDINATION = declare("coordination", "collaboration")  # a snapshot's Coordination (updated, not rebuilt)


class Pairs(NamedTuple):
    """Symmetric (M, M) sparse counts between members: referrals they shared (neither leg declined) and leg
    pairs both completed."""
    joint: sp.csr_matrix
    completed: sp.csr_matrix


class Coordination:
    """Coordination distances between members: shortest paths on the collaboration graph, edge length
    ``1 / (1 + joint referrals)``, capped at ``FAR``; a capped shortest-path distance is still a metric.

    Rows are computed lazily with scipy's Dijkstra (limit ``FAR``, O(E + V log V) per row) and kept in an
    LRU cache as sparse (column, distance) pairs, so the hot path never calls networkx.
    """

    def __init__(self, joint_graph: sp.csr_matrix, *, far: float = FAR, max_rows: int = 8192, _from=None):
        """``joint_graph``: the symmetric (M, M) matrix of joint referrals between members (``pair_counts``).
        ``_from``: (previous coordination, the rows whose pairs changed): the rest is taken from it."""
        self.far, self.max_rows = far, max_rows
        self.joint_graph = joint_graph
        if _from is not None:
            self._follow(*_from)
        else:
            self.joint_total = np.asarray(joint_graph.sum(axis=1)).ravel()  # each member's joint referrals
            sym = self.symmetric = joint_graph.copy()
            sym.data = 1.0 / (1.0 + sym.data)
            # Nearest collaborator of each member (a lower bound on its distance to anyone): O(E).
            n = joint_graph.shape[0]
            self.nearest = np.full(n, far)
            if sym.nnz:
                mins = sym.min(axis=1, explicit=True).toarray().ravel()
                has = np.diff(sym.indptr) > 0
                self.nearest[has] = np.minimum(mins[has], far)
        self.graph = self.symmetric
        self._rows: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def _follow(self, previous: Coordination, rows) -> None:
        """Totals, lengths and nearest collaborators from ``previous``, recomputed only for ``rows`` (the only
        rows of the joint graph that changed): O(changed rows) plus one vector pass over the pairs."""
        g, old = self.joint_graph, previous.symmetric
        self.joint_total, self.nearest = previous.joint_total.copy(), previous.nearest.copy()
        same_pairs = g.indices is previous.joint_graph.indices and g.indptr is previous.joint_graph.indptr
        data = old.data.copy() if same_pairs else 1.0 / (1.0 + g.data)
        for r in rows:
            lo, hi = g.indptr[r], g.indptr[r + 1]
            data[lo:hi] = 1.0 / (1.0 + g.data[lo:hi])
            self.joint_total[r] = g.data[lo:hi].sum()
            self.nearest[r] = min(float(data[lo:hi].min()), self.far) if hi > lo else self.far
        self.symmetric = sp.csr_matrix((data, g.indices, g.indptr), shape=g.shape, copy=False)

    def updated(self, joint_graph: sp.csr_matrix, endpoints) -> Coordination:
        """The coordination over a new joint-referral matrix that differs from this one only in pairs between
        the members ``endpoints``; the cached distance rows that stay exact are carried over.

        A shortest path changes only if it can run through a changed pair, so the rows that may change are
        those of members within ``far`` of a changed pair's member, before or after the change."""
        ends = sorted({int(e) for e in endpoints})
        out = Coordination(joint_graph, far=self.far, max_rows=self.max_rows, _from=(self, ends))
        if not ends or not self._rows:
            return out
        touched = set(ends)
        for graph in (self.symmetric, out.symmetric):
            reach = dijkstra(graph, directed=True, indices=ends, limit=self.far)
            touched.update(np.flatnonzero((reach < self.far).any(axis=0)).tolist())
        with self._lock:
            out._rows = OrderedDict((i, row) for i, row in self._rows.items() if i not in touched)
        return out

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
        g = self.joint_graph
        lo, hi = g.indptr[int(i)], g.indptr[int(i) + 1]
        k = lo + int(np.searchsorted(g.indices[lo:hi], int(j)))
        return int(g.data[k]) if k < hi and g.indices[k] == int(j) else 0

    def joint_matrix(self, idx) -> np.ndarray:
        """(k, k) past joint referrals between the members ``idx`` (member indices), zero diagonal."""
        idx = np.asarray(idx, dtype=np.int64)
        block = self.joint_graph[idx][:, idx].toarray()
        np.fill_diagonal(block, 0.0)
        return block


def pair_counts(count: int, u, v, joint, completed) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Symmetric (count, count) matrices of joint referrals and jointly completed legs from pair rows
    (member indices ``u`` != ``v``), with sorted indices and no stored zeros."""
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    out = []
    for values in (joint, completed):
        values = np.asarray(values, float)
        m = sp.coo_matrix((np.concatenate([values, values]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                          shape=(count, count)).tocsr()
        out.append(tidy(m))
    return out[0], out[1]


def moved(m: sp.csr_matrix, u, v, delta) -> sp.csr_matrix | None:
    """``m`` with ``delta`` added at (u, v) and (v, u), sharing ``m``'s pairs (indices and row pointers) when
    every such pair is already there and none falls to zero; else None (the caller adds sparse matrices)."""
    data = m.data.copy()
    for a, b, d in zip(u, v, delta):
        for r, c in ((a, b), (b, a)):
            lo, hi = m.indptr[r], m.indptr[r + 1]
            k = lo + int(np.searchsorted(m.indices[lo:hi], c))
            if k >= hi or m.indices[k] != c:
                return None
            data[k] += d
            if data[k] == 0:
                return None
    out = sp.csr_matrix((data, m.indices, m.indptr), shape=m.shape, copy=False)
    out.indices, out.indptr = m.indices, m.indptr  # the very same arrays: ``Coordination.updated`` checks
    out.has_sorted_indices = True
    return out


def tidy(m: sp.csr_matrix) -> sp.csr_matrix:
    """``m`` with duplicates summed, zeros dropped and indices sorted (what ``joint`` looks up)."""
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    return m


def graph_pairs(G, member_index: dict) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The pair matrices of a networkx collaboration graph (edge attributes ``joint``, ``completed``)."""
    rows = [(member_index[a], member_index[b], d.get("joint", 1), d.get("completed", 0))
            for a, b, d in G.edges(data=True) if a in member_index and b in member_index]
    u, v, joint, completed = zip(*rows) if rows else ((), (), (), ())
    return pair_counts(len(member_index), u, v, joint, completed)
