"""Exact bundle search for large pools: depth-first branch and bound over needs (same contract as
:func:`matcher.engine.bundles.search`)."""

from __future__ import annotations

import math

import numpy as np

from matcher.engine.coordination import _mst, nearest_in
from matcher.engine.objective import EPS, LAMBDA, subset_sums


def search_assignments(cost, D, *, fixed, lam=LAMBDA, top_k=3, coordinate=0, required=(), max_members=None):
    """Depth-first branch and bound over needs (``_SearchState``); same contract as ``search``.
    Worst case O(prod_n |candidates(n)|)."""
    state = _SearchState(np.asarray(cost, float), np.asarray(D, dtype=float), np.asarray(fixed, float), lam,
                         top_k, coordinate, set(int(r) for r in required), max_members)
    state.run()
    return state.results()


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
        self.sums = subset_sums(self.ordered_cost)
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

