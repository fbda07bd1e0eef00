"""The members a request allows, and the candidate pool a match searches exactly."""

from __future__ import annotations

import numpy as np

from matcher.config import SearchConfig
from matcher.engine.objective import leg_cost, popcounts
from matcher.engine.request import MatchRequest
from matcher.errors import Conflict

# -- constraints ----------------------------------------------------------------------------------------


def allowed_needs(snapshot, req: MatchRequest) -> np.ndarray:
    """(M, needs) bool: the member may take the need. False where it does not offer the need, has no
    capacity left this month (overall or for the category), is excluded or already on the case, is a
    consultant when only agencies are wanted, or is outside the province when local_only."""
    need_idx = [snapshot.category_index[n] for n in req.needs]
    rows = servers_of(snapshot, need_idx)
    allowed = np.zeros((snapshot.number_of_members, len(need_idx)), bool)
    if len(rows):
        offered = snapshot.offers[np.ix_(rows, need_idx)] & (snapshot.capacity[np.ix_(rows, need_idx)] > 0)
        allowed[rows] = offered & available(snapshot, req, rows)[:, None]
    return allowed


def servers_of(snapshot, category_idx) -> np.ndarray:
    """The members (sorted indices) that offer at least one of the categories with a capacity: the per-category
    member index of the snapshot, so that a match looks only at who can serve."""
    serves = np.zeros(snapshot.number_of_members, bool)
    for c in category_idx:
        serves[snapshot.servers[c]] = True
    return np.flatnonzero(serves)


def capacity_left(snapshot) -> np.ndarray:
    """(M,) legs each member can still take this month (cached per snapshot)."""
    return snapshot.capacity_left()


def available(snapshot, req: MatchRequest, rows: np.ndarray | None = None) -> np.ndarray:
    """(M,) members the request allows, with capacity left this month (or only the members ``rows``)."""
    rows = np.arange(snapshot.number_of_members) if rows is None else rows
    ok = capacity_left(snapshot)[rows] > 0
    for m in req.exclude + req.coordinate_with:
        at = np.searchsorted(rows, snapshot.member_index[m])
        if at < len(rows) and rows[at] == snapshot.member_index[m]:
            ok[at] = False
    if req.kinds == "agencies":
        ok &= snapshot.is_agency[rows]
    if req.local_only:
        ok &= snapshot.member_province[rows] == snapshot.province_index[req.province]
    return ok


def check_included(snapshot, req: MatchRequest, allowed: np.ndarray) -> None:
    """Every included member can be in a bundle (else Conflict, 409, naming it and why)."""
    for m in req.include:
        i = snapshot.member_index[m]
        if not available(snapshot, req, np.array([i]))[0]:
            why = ("has no capacity left this month" if capacity_left(snapshot)[i] <= 0 else
                   "is a consultant and kinds is \"agencies\"" if req.kinds == "agencies" and not snapshot.is_agency[i]
                   else "is outside the enterprise's province and local_only is true")
            raise Conflict(f"Included member {m} {why}; drop it from include or relax the constraint.",
                                field="include")
        if not allowed[i].any():
            raise Conflict(f"Included member {m} offers none of the needs ({', '.join(req.needs)}); every "
                                f"bundle member takes at least one need.", field="include")


# -- the pool -------------------------------------------------------------------------------------------


def candidate_pool(logits: np.ndarray, rows: np.ndarray, snapshot, config: SearchConfig, include_idx=(),
                   growth: int = 1) -> list[int]:
    """Member indices of the search pool, sorted. ``logits`` (len(rows), 2^N) are the leg logits of the
    candidate members ``rows`` without bundle terms (-inf where a member cannot take a group).

    The rule (sizes times ``growth``): a bundle splits the needs into legs, one member per leg, so
    1. for each need, the ``per_need`` members whose leg of that need alone costs least (ties by index);
    2. for each group of two or more needs, the two members that take the whole group as one leg most
       cheaply, ranked by the saving over the cheapest separate legs, ``sum_{n in S} c*({n}) - c(m, S)``:
       the ``multi`` best;
    3. direct collaborators of each need's two cheapest members that are among the 4 * ``per_need``
       cheapest for a need, the ``partners`` with the lowest mean excess over the cheapest;
    4. the members the request includes.
    A leg's cost falls as its logit rises, so members are ranked on logits; costs are computed only for the
    few takers compared. O(M * 2^needs) with numpy.
    """
    N = logits.shape[1].bit_length() - 1
    singles = leg_cost(logits[:, [1 << n for n in range(N)]])
    per_need = config.per_need(N) * growth
    pool: set[int] = set(int(i) for i in include_idx)
    for n in range(N):
        pool.update(rows[_cheapest(singles[:, n], per_need)].tolist())
    pool.update(rows[_group_takers(logits, singles, config.pool_multi * growth, set())].tolist())
    leaders = set()
    rank_ok = np.zeros((snapshot.number_of_members, N), bool)
    for n in range(N):
        order = rows[_cheapest(singles[:, n], 4 * per_need)]
        leaders.update(order[:2].tolist())
        rank_ok[order, n] = True
    partners = np.array(sorted(set(_partners(snapshot, sorted(leaders), rank_ok).tolist()) - pool), dtype=int)
    if len(partners):
        local = np.searchsorted(rows, partners)
        cstar = singles.min(axis=0)
        part = singles[local]
        finite = np.isfinite(part)
        excess = np.where(finite, part - cstar, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        pool.update(partners[np.lexsort((partners, excess))][: config.pool_partners * growth].tolist())
    return sorted(pool)


def _group_takers(logits: np.ndarray, singles: np.ndarray, k: int, already: set, per_group: int = 2) -> list[int]:
    """The k rows (not ``already`` chosen) with the largest saving among the ``per_group`` best takers of
    each group of two or more needs as one leg."""
    N = singles.shape[1]
    if N < 2 or k <= 0 or not len(logits):
        return []
    groups = np.flatnonzero(popcounts(N) >= 2)
    cstar = singles.min(axis=0)
    separate = np.array([sum(cstar[n] for n in range(N) if g >> n & 1) for g in groups])
    pairs = [(1 << a) | (1 << b) for a in range(N) for b in range(a + 1, N)]
    several = np.flatnonzero(np.isfinite(logits[:, pairs]).any(axis=1))  # only they can take a group
    if not len(several):
        return []
    top = min(per_group, len(several))
    block = -logits[np.ix_(several, groups)]
    local = np.argpartition(block, top - 1, axis=0)[:top] if len(several) > top else \
        np.broadcast_to(np.arange(len(several))[:, None], (len(several), len(groups)))
    best = several[local]
    saving = separate[None, :] - leg_cost(-np.take_along_axis(block, local, axis=0))
    chosen: list[int] = []
    order = np.lexsort((np.broadcast_to(groups, saving.shape).ravel(), -saving.ravel()))
    for flat in order:
        if not np.isfinite(saving.flat[flat]):
            continue
        m = int(best.flat[flat])
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
