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

import numpy as np

from matcher.engine.branch_bound import search_assignments
from matcher.engine.coordination import mst_weights, nearest_in
from matcher.engine.objective import EPS, FIXED_COST, LAMBDA, subset_sums

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
    sums = subset_sums(cost)
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

