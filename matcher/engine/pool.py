"""The candidate pool a match searches exactly, and the members a request allows."""

from __future__ import annotations

import numpy as np

from matcher.engine import coordination, objective, scoring
from matcher.engine.request import DECIMALS, MatchRequest
from matcher.errors import Conflict

# The pool rule (candidate_pool): per need the POOL_PER_NEED[needs] cheapest members; the POOL_MULTI members
# with the largest saving as the best taker of a group of needs; POOL_PARTNERS direct collaborators of
# the leaders; the included members. Searched exactly (again with a pool POOL_GROWTH[1] times larger when
# the request's constraints leave no bundle in it); the certificate says when the best bundle is also
# optimal over the whole network.
POOL_PER_NEED = {1: 8, 2: 6, 3: 6, 4: 4, 5: 2, 6: 2, 7: 2, 8: 2}
POOL_MULTI, POOL_PARTNERS, POOL_GROWTH = 6, 3, (1, 3)

# -- scoring and constraints ----------------------------------------------------------------------------


def probabilities(snapshot, req: MatchRequest) -> np.ndarray:
    """(M, needs) chance of success under the request's constraints: 0 where a member does not offer the
    need, has no capacity left this month (overall or for the category), is excluded or already on the
    case, is a consultant when only agencies are wanted, or is outside the province when local_only."""
    need_idx = [snapshot.category_index[n] for n in req.needs]
    scorer = snapshot.scorer or scoring.hand_set_scorer()
    cluster_sector = snapshot.clusters[req.cluster].get("sector") if req.cluster else None
    fit = scoring.sector_fit(snapshot, req.sector, cluster_sector)
    p = scorer.probability(snapshot, req.province, fit, need_idx)
    allowed = snapshot.offers[:, need_idx] & (snapshot.capacity[:, need_idx] > 0)
    return np.where(allowed & available(snapshot, req)[:, None], p, 0.0)


def capacity_left(snapshot) -> np.ndarray:
    """(M,) legs each member can still take this month (cached per snapshot)."""
    left = snapshot.derived.get("capacity_left")
    if left is None:
        left = snapshot.derived["capacity_left"] = snapshot.capacity_left()
    return left


def available(snapshot, req: MatchRequest) -> np.ndarray:
    """(M,) members the request allows, with capacity left this month."""
    ok = capacity_left(snapshot) > 0
    for m in req.exclude + req.coordinate_with:
        ok[snapshot.member_index[m]] = False
    if req.kinds == "agencies":
        ok &= snapshot.is_agency
    if req.local_only:
        ok &= snapshot.member_province == snapshot.province_index[req.province]
    return ok


def _check_included(snapshot, req, p) -> None:
    ok = available(snapshot, req)
    for m in req.include:
        i = snapshot.member_index[m]
        if not ok[i]:
            why = ("has no capacity left this month" if capacity_left(snapshot)[i] <= 0 else
                   "is a consultant and kinds is \"agencies\"" if req.kinds == "agencies" and not snapshot.is_agency[i]
                   else "is outside the enterprise's province and local_only is true")
            raise Conflict(f"Included member {m} {why}; drop it from include or relax the constraint.",
                                field="include")
        if not (p[i] > 0).any():
            raise Conflict(f"Included member {m} offers none of the needs ({', '.join(req.needs)}); every "
                                f"bundle member takes at least one need.", field="include")


def costs(p: np.ndarray) -> np.ndarray:
    """c = -log p rounded to 6 decimals (the numbers the search uses are the numbers explain reports)."""
    return np.round(objective.neg_log(p), DECIMALS)


# -- the pool -------------------------------------------------------------------------------------------


def candidate_pool(cost: np.ndarray, snapshot, include_idx=(), growth: int = 1) -> list[int]:
    """Member indices of the search pool, sorted. ``cost`` is (M, needs), inf where not allowed.

    The rule (sizes times ``growth``): a bundle splits the needs into groups, one member per group, so
    1. for each need, the ``POOL_PER_NEED`` members with the lowest c (ties by member order);
    2. for each group of two or more needs, the member that takes the whole group most cheaply, ranked by
       its saving over separate members ``sum_{n in S} (c(m, n) - c*(n)) - (|S| - 1) * (f + lambda * FAR)``:
       the ``POOL_MULTI`` best;
    3. direct collaborators of each need's two cheapest members that are among the 4 * ``POOL_PER_NEED``
       cheapest for a need, the ``POOL_PARTNERS`` with the lowest mean excess over the cheapest c;
    4. the members the request includes.
    O(M * 2^needs) with numpy.
    """
    finite = np.isfinite(cost)
    rows = np.flatnonzero(finite.any(axis=1))
    N = cost.shape[1]
    pool: set[int] = set(int(i) for i in include_idx)
    singles = POOL_PER_NEED[N] * growth
    for n in range(N):
        pool.update(rows[_cheapest(cost[rows, n], singles)].tolist())
    pool.update(_group_members(cost, rows, finite, POOL_MULTI * growth, pool))
    leaders = set()
    rank_ok = np.zeros_like(finite)
    for n in range(N):
        order = rows[_cheapest(cost[rows, n], 4 * singles)]
        leaders.update(order[:2].tolist())
        rank_ok[order, n] = True
    partners = np.array(sorted(set(_partners(snapshot, sorted(leaders), rank_ok).tolist()) - pool), dtype=int)
    if len(partners):
        cstar = cost[rows].min(axis=0)
        excess = np.where(finite[partners], cost[partners] - cstar, 0.0).sum(axis=1) / finite[partners].sum(axis=1)
        pool.update(partners[np.lexsort((partners, excess))][: POOL_PARTNERS * growth].tolist())
    return sorted(pool)


def _group_members(cost, rows, finite, k, already, per_group: int = 1) -> list[int]:
    """The k members (not already pooled) with the largest saving among the ``per_group`` best takers of
    each group of two or more needs."""
    N = cost.shape[1]
    several = rows[finite[rows].sum(axis=1) >= 2]
    if N < 2 or not len(several) or k <= 0:
        return []
    masks = np.array([m for m in range(1, 1 << N) if m & (m - 1)])
    sizes = np.array([bin(m).count("1") for m in masks])
    cstar = cost[rows].min(axis=0)
    sums = objective.subset_sums(cost[several] - cstar)[:, masks]  # (members, groups)
    top = min(per_group, len(several))
    best = np.argpartition(sums, top - 1, axis=0)[:top] if len(several) > top else np.arange(len(several))[:, None]
    best = np.broadcast_to(best, (best.shape[0], len(masks)))
    saving = np.take_along_axis(sums, best, axis=0) - (sizes - 1) * (objective.FIXED_COST + objective.LAMBDA * coordination.FAR)
    chosen: list[int] = []
    order = np.lexsort((np.broadcast_to(masks, saving.shape).ravel(), saving.ravel()))
    for flat in order:
        if not np.isfinite(saving.flat[flat]):
            break
        m = int(several[best.flat[flat]])
        if m not in already and m not in chosen:
            chosen.append(m)
            if len(chosen) == k:
                break
    return chosen


def _cheapest(column: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k lowest finite entries, cheapest first (ties by index)."""
    idx = np.flatnonzero(np.isfinite(column))
    if len(idx) > k:
        idx = idx[np.argpartition(column[idx], k - 1)[:k]]
    return idx[np.lexsort((idx, column[idx]))]


def _partners(snapshot, leaders: list[int], rank_ok: np.ndarray) -> np.ndarray:
    if not leaders:
        return np.array([], dtype=int)
    graph = snapshot.coordination().joint_graph
    near = np.unique(np.concatenate([graph.indices[graph.indptr[i]:graph.indptr[i + 1]] for i in leaders]))
    return near[rank_ok[near].any(axis=1)] if len(near) else near
