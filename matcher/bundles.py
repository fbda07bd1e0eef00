"""Bundle search: choose members and an assignment of needs to them that minimises

``J = sum_n c(a(n), n) + sum_{m in B} f(m) + lambda * MST(B + W)``, with ``c = -log p``,

where ``B`` is the set of members the assignment ``a`` uses, ``f`` the hand-off cost per member and ``W``
the members already working on the case (``coordinate_with``: no fixed cost, no needs, but part of the
spanning tree). Distances for the spanning tree come from the collaboration graph (``Coordination``).

``search`` finds the top k member sets exactly within a candidate pool: ``search_sets`` enumerates sets by
size with numpy, pruned by lower bounds (dynamic programming over subsets of needs plus a spanning-tree
bound; docs/ENGINE.md), and ``search_assignments`` is a branch and bound over needs for larger pools.
``outside_lower_bound`` bounds every bundle that uses a member outside the pool, so that a match can say
when its best bundle is optimal over the whole network, not only the pool.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

FIXED_COST = 0.5
LAMBDA = 0.5
FAR = 1.0  # coordination distance between members with no collaboration path shorter than this
EPS = 1e-9


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


SETS_UP_TO = 48  # pools up to this size are searched by enumerating member sets; larger ones by assignments
CHUNK = 40_000  # member sets scored per numpy batch (and the largest list of sets kept in the cache)


def search(cost: np.ndarray, D: np.ndarray, *, fixed=None, lam: float = LAMBDA, top_k: int = 3,
           coordinate: int = 0, required=(), max_members: int | None = None) -> list[dict]:
    """The ``top_k`` best bundles with distinct member sets, best first, exact within the pool.

    ``cost[p, n]`` is c for pool member p and need n (``inf`` where p cannot take n); ``fixed[p]`` the
    hand-off cost (default ``FIXED_COST``); ``D`` the coordination distances over the pool members
    followed by ``coordinate`` members already on the case; ``required`` pool members every bundle must
    contain; ``max_members`` caps the bundle size. Each result: ``{"assignment": [p per need], "members":
    sorted p, "J": float, "terms": {"assignment", "fixed", "coordination"}}``. Every need must have a
    finite cost for some pool member (else ValueError).

    Uses ``search_sets`` (vectorised enumeration of member sets by size with an exact per-size lower
    bound) for pools up to ``SETS_UP_TO`` members, else ``search_assignments`` (depth-first branch and
    bound over needs). Both are exact.
    """
    cost = np.asarray(cost, dtype=float)
    P, N = cost.shape
    fixed = np.full(P, FIXED_COST) if fixed is None else np.asarray(fixed, dtype=float)
    if N == 0:
        return []
    if not np.isfinite(cost).any(axis=0).all():
        raise ValueError("every need must have at least one candidate in the pool")
    if P <= SETS_UP_TO:
        return search_sets(cost, D, fixed=fixed, lam=lam, top_k=top_k, coordinate=coordinate,
                           required=required, max_members=max_members)
    return search_assignments(cost, D, fixed=fixed, lam=lam, top_k=top_k, coordinate=coordinate,
                              required=required, max_members=max_members)


def search_assignments(cost, D, *, fixed, lam=LAMBDA, top_k=3, coordinate=0, required=(), max_members=None):
    """Depth-first branch and bound over needs (``_SearchState``); same contract as ``search``.
    Worst case O(prod_n |candidates(n)|)."""
    state = _SearchState(np.asarray(cost, float), np.asarray(D, dtype=float), np.asarray(fixed, float), lam,
                         top_k, coordinate, set(int(r) for r in required), max_members)
    state.run()
    return state.results()


def search_sets(cost, D, *, fixed, lam=LAMBDA, top_k=3, coordinate=0, required=(), max_members=None):
    """Enumerate member sets by size s = 1, 2, ... and score them all at once with numpy.

    For a set T the best assignment gives each need to its cheapest member in T; when some member of T
    is then idle, the set's own cost (every member takes a need) is found by a small assignment problem.
    J(T) = that + sum f + lam * MST(T + W). Bounds (B = the k-th best J found so far):
    - a size s is skipped when ``sep_s + lam * tree_s > B``, where ``sep_s`` is the cheapest split of the
      needs into s groups with one member each (dynamic programming over subsets of needs) and ``tree_s``
      the sum of the s + |W| - 1 smallest nearest-neighbour distances in the pool (every vertex but the
      root of a spanning tree has an edge at least as long as its nearest-neighbour distance);
    - within a size, a member m is left out when the cheapest s-group split in which m takes a group,
      plus the same tree bound, is above B.
    O(sum_s C(P_s, s) * s * needs) for the P_s members kept at size s.
    """
    cost = np.asarray(cost, float)
    D = np.asarray(D, float)
    fixed = np.asarray(fixed, float)
    P, N = cost.shape
    Q = int(coordinate)
    required = sorted(set(int(r) for r in required))
    largest = min(N, P, max_members or N)
    nearest = np.sort(nearest_in(D)) if len(D) > 1 else np.zeros(len(D))
    tree_floor = np.concatenate([[0.0], np.cumsum(nearest)])  # tree_floor[j]: the j smallest nn summed
    sums = _subset_sums(cost)
    tables = _split_tables(sums, fixed, largest)
    full = (1 << N) - 1
    found: list[tuple] = []
    bound = math.inf
    for size in range(max(1, len(required)), largest + 1):
        tree = lam * tree_floor[min(max(size + Q - 1, 0), len(tree_floor) - 1)]
        if tables[size][full] + tree > bound + EPS:
            continue
        member_lb = _member_bounds(sums, fixed, tables[size - 1], full) + tree
        kept = np.flatnonzero(member_lb <= bound + EPS)
        if len(kept) < size or not set(required) <= set(kept.tolist()):
            continue
        local_required = [int(np.searchsorted(kept, r)) for r in required]
        for local in _set_batches(len(kept), size, local_required):
            found.extend(_score_sets(kept[local], cost, D, fixed, lam, size, Q, bound))
            found.sort(key=lambda r: (round(r[0], 9), r[1]))
            found = found[:top_k]
            if len(found) >= top_k:
                bound = found[-1][0]
    return [{"assignment": assign, "members": list(members), "J": J,
             "terms": {"assignment": A, "fixed": F, "coordination": coordination}}
            for J, members, assign, A, F, coordination in found]


def _split_tables(sums: np.ndarray, fixed: np.ndarray, largest: int) -> list[list[float]]:
    """tables[s][mask]: the cheapest cover of the needs in ``mask`` by exactly s (member, group) pairs,
    a member taking a group paying f + its c over the group (members not necessarily distinct), for
    s = 0..largest. A lower bound on assignment + fixed cost of any s-member bundle. O(largest * 3^N)."""
    full = sums.shape[1] - 1
    single = (sums + fixed[:, None]).min(axis=0).tolist()
    tables = [[0.0] + [math.inf] * full, single]
    for _ in range(2, largest + 1):
        prev = tables[-1]
        nxt = [math.inf] * (full + 1)
        for mask in range(1, full + 1):
            low = mask & -mask
            rest = mask ^ low
            best = math.inf
            sub = rest
            while True:
                part = sub | low
                if part != mask:
                    value = single[part] + prev[mask ^ part]
                    if value < best:
                        best = value
                if not sub:
                    break
                sub = (sub - 1) & rest
            nxt[mask] = best
        tables.append(nxt)
    return tables[: largest + 1]


def _member_bounds(sums: np.ndarray, fixed: np.ndarray, rest_table: list[float], full: int) -> np.ndarray:
    """(P,): for each member, the cheapest split in which it takes one group S (f + its c over S) and the
    other needs are covered by ``rest_table`` (one size smaller)."""
    masks = np.arange(1, full + 1)
    rest = np.asarray(rest_table)[full ^ masks]
    return (sums[:, 1:] + rest[None, :]).min(axis=1) + fixed


@functools.lru_cache(maxsize=256)
def _combinations(P: int, size: int) -> np.ndarray:
    """All size-subsets of range(P) as a (C(P, size), size) array (int16), cached; at most CHUNK rows."""
    return np.array(list(itertools.combinations(range(P), size)), dtype=np.int16).reshape(-1, size)


def _set_batches(P: int, size: int, required):
    """The size-subsets of range(P) that contain every required index, in batches of at most CHUNK rows."""
    if math.comb(P, size) <= CHUNK:
        sets = _combinations(P, size)
        for r in required:
            sets = sets[(sets == r).any(axis=1)]
        if len(sets):
            yield sets
        return
    combos = itertools.combinations(range(P), size)
    while True:
        sets = np.array(list(itertools.islice(combos, CHUNK)), dtype=np.int16).reshape(-1, size)
        if not len(sets):
            return
        for r in required:
            sets = sets[(sets == r).any(axis=1)]
        if len(sets):
            yield sets


def _score_sets(sets, cost, D, fixed, lam, size, Q, bound) -> list[tuple]:
    """(J, members, assignment per need, assignment cost, fixed, coordination) of every set (rows of
    ``sets``) that covers every need and may beat ``bound``."""
    P, N = cost.shape
    values = cost[sets]  # (B, size, N)
    best = values.min(axis=1)
    keep = np.isfinite(best).all(axis=1)
    sets, values, best = sets[keep], values[keep], best[keep]
    slot = values.argmin(axis=1)  # (B, N): which member of the set takes each need
    A = best.sum(axis=1)
    F = fixed[sets].sum(axis=1)
    keep = A + F <= bound + EPS
    sets, values, best, slot, A, F = sets[keep], values[keep], best[keep], slot[keep], A[keep], F[keep]
    if not len(sets):
        return []
    verts = np.concatenate([sets, np.broadcast_to(np.arange(P, P + Q), (len(sets), Q))], axis=1)
    tree = lam * mst_weights(D, verts)
    J = A + F + tree
    idle = ~(slot[:, :, None] == np.arange(size)).any(axis=1)  # (B, size)
    out = []
    for i in np.flatnonzero(J <= bound + EPS):
        assign_slots = slot[i]
        extra = 0.0
        if idle[i].any():
            extra, assign_slots = _surjective(values[i], best[i])
            if not math.isfinite(extra) or J[i] + extra > bound + EPS:
                continue
        members = sets[i]
        out.append((float(J[i] + extra), tuple(int(m) for m in members),
                    [int(members[k]) for k in assign_slots], float(A[i] + extra), float(F[i]), float(tree[i])))
    return out


def _surjective(values: np.ndarray, best: np.ndarray) -> tuple[float, np.ndarray]:
    """Cheapest assignment of needs to the members of a set in which every member takes at least one need:
    each member gets a distinct representative need (min-cost matching on c minus the need's cheapest c),
    the other needs go to their cheapest member. Returns (extra cost over the cheapest, slot per need)."""
    from scipy.optimize import linear_sum_assignment
    delta = values - best  # (size, N), inf where the member cannot take the need
    finite = np.where(np.isfinite(delta), delta, 1e9)
    rows, cols = linear_sum_assignment(finite)
    extra = float(finite[rows, cols].sum())
    if extra >= 1e9:
        return math.inf, values.argmin(axis=0)
    slot = values.argmin(axis=0)
    slot[cols] = rows
    return extra, slot


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


class _SearchState:
    """Depth-first branch and bound over needs (fewest candidates first).

    Lower bound of a node (needs ``0..d-1`` assigned, members ``U`` used, remaining needs ``R``):
    ``A + F + lam * (sum_{v in U+W} nn(v) - max_{U+W} nn) + G_U(R)``, where ``nn(v)`` is v's distance to
    its nearest other vertex of the pool and W (every vertex's parent edge in the spanning tree is at
    least its nn, and the root saves the largest), and ``G_U(R)`` is the exact cost of the remaining needs
    without the spanning-tree interaction: each remaining need goes either to a used member (its c) or
    to a new member, a new member v costing ``f(v) + lam * min(nn(v), max nn so far) + sum of its c``,
    solved by dynamic programming over subsets of needs (``_new_groups``).
    """

    def __init__(self, cost, D, fixed, lam, top_k, coordinate, required, max_members):
        P, N = cost.shape
        self.P, self.N, self.lam, self.top_k = P, N, float(lam), int(top_k)
        self.required, self.max_members = required, max_members
        finite = np.isfinite(cost)
        if N and not finite.any(axis=0).all():
            raise ValueError("every need must have at least one candidate in the pool")
        self.fixed, self.fixed_arr = fixed.tolist(), fixed
        self.D, self.D_arr = D.tolist(), D
        self.coord = list(range(P, P + coordinate))
        self.nn_arr = nearest_in(D)
        self.nn = self.nn_arr.tolist()
        cstar = [float(cost[finite[:, n], n].min()) for n in range(N)]
        counts = finite.sum(axis=0)
        self.order = sorted(range(N), key=lambda n: (int(counts[n]), -cstar[n], n))
        self.ordered_cost = cost[:, self.order]  # column d is the need searched at depth d
        self.cost = self.ordered_cost.tolist()
        self.cstar = [cstar[n] for n in self.order]
        self.cands = [sorted(np.flatnonzero(finite[:, n]).tolist(), key=lambda p, d=d: (self.cost[p][d], p))
                      for d, n in enumerate(self.order)]
        self.suffix = [0.0] * (N + 1)
        for d in range(N - 1, -1, -1):
            self.suffix[d] = self.suffix[d + 1] + self.cstar[d]
        self.full = (1 << N) - 1
        self.sums = _subset_sums(self.ordered_cost)
        # near[d][v]: v's distance to the nearest member that can still join at depth d (holds one of the
        # needs d..N-1); with the used members and W, the nearest vertex v can have in the final tree.
        Dm = D + np.diag(np.full(len(D), np.inf))
        self.near = []
        for d in range(N + 1):
            holders = finite[:, self.order[d:]].any(axis=1) if d < N else np.zeros(P, bool)
            cols = np.concatenate([holders, np.zeros(coordinate, bool)])
            self.near.append((Dm[:, cols].min(axis=1) if cols.any() else np.full(len(D), np.inf)).tolist())
        # The largest pool-nearest distance among members that can still join at depth d.
        self.joiner_top = [float(self.nn_arr[:P][finite[:, self.order[d:]].any(axis=1)].max(initial=0.0))
                           for d in range(N + 1)]
        self.groups: dict[float, list[float]] = {}
        self.coord_nn = [self.nn[c] for c in self.coord]
        self.best: dict[int, tuple[float, list[int], float, float, float]] = {}
        self.bound = math.inf
        self.memo: dict[tuple[int, int], float] = {}
        self.nodes = 0

    def run(self) -> None:
        self._dfs(0, [0] * self.N, {}, 0, 0.0, 0.0)

    def _new_groups(self, top: float) -> list[float]:
        """G[mask]: cheapest way to cover the needs in ``mask`` with new members only (cached per top)."""
        table = self.groups.get(top)
        if table is None:
            nn = self.nn_arr[: self.P]
            entry = np.asarray(self.fixed) + self.lam * (nn if top == math.inf else np.minimum(nn, top))
            single = (self.sums + entry[:, None]).min(axis=0).tolist()
            table = [0.0] * (self.full + 1)
            for mask in range(1, self.full + 1):
                low = mask & -mask
                rest = mask ^ low
                best = single[mask]
                sub = rest
                while sub:  # subsets of mask that contain its lowest bit, other than mask itself
                    part = sub | low
                    if part != mask:
                        value = single[part] + table[mask ^ part]
                        if value < best:
                            best = value
                    sub = (sub - 1) & rest
                if rest:
                    value = single[low] + table[rest]
                    if value < best:
                        best = value
                table[mask] = best
            self.groups[top] = table
        return table

    def _tree_bound(self, d, used) -> tuple[float, float]:
        """(sum minus max, max) of each used or W vertex's nearest possible neighbour in the final tree."""
        verts = list(used) + self.coord
        if not verts:
            return 0.0, 0.0
        near = self.near[d]
        D = self.D
        vals = []
        for v in verts:
            best = near[v]
            row = D[v]
            for w in verts:
                if w != v and row[w] < best:
                    best = row[w]
            vals.append(best if best < math.inf else 0.0)
        top = max(vals)
        return sum(vals) - top, top

    def _lower_bound(self, d, used, A, F) -> float:
        tree, top = self._tree_bound(d, used)
        lb = A + F + self.lam * tree
        # Two bounds on the remaining needs: new members pay lam * min(nn, top) each; or they pay
        # lam * nn each and the root refund becomes the largest nn any final vertex can have.
        refund = max(top, self.joiner_top[d])
        capped, full = self._remaining(d, used, self._new_groups(math.floor(top * 8) / 8),
                                       self._new_groups(math.inf))
        lb_groups = lb + max(capped, full + self.lam * (top - refund))
        if not self.required - used.keys():
            return lb_groups
        return max(lb_groups, lb + self.suffix[d] + self._required_part(d, used, top))

    def _remaining(self, d, used, capped, full) -> tuple[float, float]:
        """Cheapest cover of needs d..N-1 by used members (their best c) and new members (by each table)."""
        existing = []
        cost = self.cost
        for i in range(d, self.N):
            best = math.inf
            for p in used:
                c = cost[p][i]
                if c < best:
                    best = c
            if best < math.inf:
                existing.append((1 << i, best))
        rest = self.full ^ ((1 << d) - 1)
        low_a, low_b = capped[rest], full[rest]
        if existing:
            sums = [(0, 0.0)]
            for bit, c in existing:
                sums += [(mask | bit, value + c) for mask, value in sums]
            for mask, value in sums[1:]:
                other = rest ^ mask
                a, b = value + capped[other], value + full[other]
                if a < low_a:
                    low_a = a
                if b < low_b:
                    low_b = b
        return low_a, low_b

    def _required_part(self, d, used, top) -> float:
        """Entry cost of the required members not used yet (each takes at least one remaining need)."""
        total = 0.0
        for r in self.required:
            if r in used:
                continue
            best = min((self.cost[r][i] - self.cstar[i] for i in range(d, self.N) if r in self.cands[i]),
                       default=math.inf)
            if best == math.inf:
                return math.inf
            total += best + self.fixed[r] + self.lam * min(self.nn[r], top)
        return total

    def _dfs(self, d, assign, used, mask, A, F) -> None:
        self.nodes += 1
        if d == self.N:
            self._leaf(assign, used, mask, A, F)
            return
        key = (d, mask)
        seen = self.memo.get(key)
        if seen is not None and A >= seen - EPS:
            return
        self.memo[key] = A
        if self._lower_bound(d, used, A, F) > self.bound + EPS:
            return
        row = self.cost
        full = self.max_members is not None and len(used) >= self.max_members
        if d == self.N - 1:
            self._last_need(assign, used, mask, A, F, full)
            return
        for p in sorted(self.cands[d], key=lambda p: (p not in used, row[p][d])):
            c = row[p][d]
            assign[d] = p
            if p in used:
                used[p] += 1
                self._dfs(d + 1, assign, used, mask, A + c, F)
                used[p] -= 1
            elif not full:
                used[p] = 1
                self._dfs(d + 1, assign, used, mask | (1 << p), A + c, F + self.fixed[p])
                del used[p]

    def _last_need(self, assign, used, mask, A, F, full) -> None:
        """All children of a node at the last need at once: the used member with the lowest c (one leaf,
        same member set), then the new members whose vectorised tree bound leaves them a chance."""
        d = self.N - 1
        row_cost = self.cost
        inside = [p for p in self.cands[d] if p in used]
        if inside:
            p = min(inside, key=lambda p: (row_cost[p][d], p))
            assign[d] = p
            used[p] += 1
            self._leaf(assign, used, mask, A + row_cost[p][d], F)
            used[p] -= 1
        if full:
            return
        verts = list(used) + self.coord
        D = self.D
        near_s = []
        for v in verts:
            row = D[v]
            near_s.append(min((row[w] for w in verts if w != v), default=math.inf))
        base = A + F
        lam, bound = self.lam, self.bound + EPS
        for p in self.cands[d]:
            if p in used:
                continue
            value = base + row_cost[p][d] + self.fixed[p]
            if value > bound:
                continue
            if verts:
                row = D[p]
                total, top, bp = 0.0, 0.0, math.inf
                for v, nv in zip(verts, near_s):
                    dv = row[v]
                    if dv < bp:
                        bp = dv
                    b = dv if dv < nv else nv
                    total += b
                    if b > top:
                        top = b
                value += lam * (total + bp - (bp if bp > top else top))
                if value > bound:
                    continue
            assign[d] = p
            used[p] = 1
            self._leaf(assign, used, mask | (1 << p), A + row_cost[p][d], F + self.fixed[p])
            del used[p]
            bound = self.bound + EPS

    def _leaf(self, assign, used, mask, A, F) -> None:
        if not self.required <= used.keys():
            return
        if A + F + self.lam * self._tree_bound(self.N, used)[0] > self.bound + EPS:
            return
        verts = sorted(used) + self.coord
        coordination = self.lam * _mst(self.D, verts)
        J = A + F + coordination
        if J > self.bound + EPS:
            return
        prev = self.best.get(mask)
        if prev is not None and prev[0] <= J + EPS:
            return
        by_need = [0] * self.N
        for depth, p in enumerate(assign):
            by_need[self.order[depth]] = p
        self.best[mask] = (J, by_need, A, F, coordination)
        if len(self.best) >= self.top_k:
            self.bound = sorted(v[0] for v in self.best.values())[self.top_k - 1]

    def results(self) -> list[dict]:
        out = []
        for mask, (J, assign, A, F, coordination) in self.best.items():
            out.append({"assignment": assign, "members": sorted(set(assign)), "J": J,
                        "terms": {"assignment": A, "fixed": F, "coordination": coordination}})
        out.sort(key=lambda b: (round(b["J"], 9), b["members"]))
        return out[: self.top_k]


def _subset_sums(cost: np.ndarray) -> np.ndarray:
    """(P, 2^N): for each member, the sum of its costs over each subset of needs (inf if it lacks one)."""
    P, N = cost.shape
    sums = np.zeros((P, 1 << N))
    for mask in range(1, 1 << N):
        low = (mask & -mask).bit_length() - 1
        sums[:, mask] = sums[:, mask ^ (1 << low)] + cost[:, low]
    return sums


def minimum_cover_size(holds: np.ndarray) -> int | None:
    """Fewest members whose offers cover every need: ``holds`` is a (members, needs) bool matrix.

    Breadth-first search over subsets of needs, O(2^N * distinct rows); None when no cover exists.
    """
    holds = np.asarray(holds, bool)
    N = holds.shape[1]
    if N == 0:
        return 0
    holds = holds[holds.any(axis=1)]
    full = (1 << N) - 1
    masks = set(np.unique(holds.astype(np.int64) @ (1 << np.arange(N, dtype=np.int64))).tolist()) - {0}
    seen, frontier, size = {0}, [0], 0
    while frontier:
        size += 1
        nxt = []
        for state in frontier:
            for m in masks:
                new = state | m
                if new == full:
                    return size
                if new not in seen:
                    seen.add(new)
                    nxt.append(new)
        frontier = nxt
    return None


def outside_lower_bound(cost: np.ndarray, outside: np.ndarray, fixed: np.ndarray, nearest: np.ndarray, *,
                        lam: float = LAMBDA, min_members: int = 1, coordinate: bool = False) -> float:
    """A lower bound on J for every bundle that uses at least one member outside the pool.

    ``cost`` is (M, N) over all candidate members (inf where a member cannot take a need), ``outside`` the
    (M,) mask of members not in the pool, ``nearest`` each member's distance to its nearest collaborator
    (a lower bound on its distance to anyone). For an outside member v in a bundle T:
    if T = {v}: J = f(v) + sum_n c(v, n) + lam * MST({v} + W) >= that with MST >= nearest(v) when W is
    non-empty; otherwise J >= sum_n c*(n) + min_n (c(v, n) - c*(n)) + f(v) + (max(2, min_members) - 1) *
    min f + lam * nearest(v). O(M * N), vectorised.
    """
    cost = np.asarray(cost, float)
    if not outside.any():
        return math.inf
    cstar = cost.min(axis=0)
    sub = cost[outside]
    fx, nn = np.asarray(fixed, float)[outside], np.asarray(nearest, float)[outside]
    excess = (sub - cstar).min(axis=1)
    f_min = float(np.min(fixed))
    multi = cstar.sum() + excess + fx + (max(2, min_members) - 1) * f_min + lam * nn
    single = np.where(np.isfinite(sub).all(axis=1), fx + sub.sum(axis=1) + (lam * nn if coordinate else 0.0),
                      np.inf)
    return float(np.min(np.minimum(multi, single)))


def neg_log(p: np.ndarray) -> np.ndarray:
    """c = -log p, with p clipped to [1e-9, 1]; inf where p is 0 (the member cannot take the need)."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore"):
        return np.where(p > 0, -np.log(np.clip(p, 1e-9, 1.0)), np.inf)


def success_chance(J_assignment: float) -> float:
    """The bundle's chance that every need is met, needs taken as independent (product of the assigned p)."""
    return math.exp(-J_assignment)
