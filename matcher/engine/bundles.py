"""Bundle search: the member sets and legs of a candidate pool with the lowest J (the highest chance that
every need is met), exactly.

``search`` enumerates member sets by size s = 1, 2, ... and prices all sets of a size at once with numpy:
for a set T, every member's bundle terms are known (its past joint referrals with the rest of T and with the
members already on the case, and |T|), so each member's cost of taking each group of needs is known, and
the cheapest split of the needs into |T| non-empty legs, one per member, is a dynamic programme over
groups of needs. Two lower bounds prune, with B the k-th best J found so far:

- a size s is skipped when the cheapest split of the needs into s legs, each leg taken by whichever member
  takes its group most cheaply with the largest bundle terms it could have at size s, is above B;
- within a size, a member is left out when the cheapest such split in which it takes a leg is above B.

Both are lower bounds (a leg's cost falls as its bundle terms rise), so the result is the exact top k
distinct member sets of the pool. ``outside_lower_bound`` bounds every bundle that uses a member outside the
pool, so that a match can say when its best bundle is optimal over the whole network, not only the pool.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from matcher.engine.objective import EPS, Objective, leg_cost

try:  # the compiled search kernel; without numba the same search runs in Python
    from matcher.engine import kernel
except ImportError:  # pragma: no cover - numba is in requirements.txt
    kernel = None

@functools.lru_cache(maxsize=16)
def group_pairs(n: int) -> dict:
    """The (group, part) pairs of the dynamic programmes over n needs: every non-empty proper part of every
    group, sorted by group (``mask``, ``part``, ``starts`` of each group, ``groups`` having parts), and the
    same restricted to parts holding the group's lowest need (``low_*``: splits into unlabelled legs)."""
    out = {}
    for name, lowest_only in (("", False), ("low_", True)):
        masks, parts = [], []
        for mask in range(1, 1 << n):
            low = mask & -mask
            sub = (mask - 1) & mask
            while sub:
                if not lowest_only or sub & low:
                    masks.append(mask)
                    parts.append(sub)
                sub = (sub - 1) & mask
        masks, parts = np.array(masks, dtype=np.int64), np.array(parts, dtype=np.int64)
        groups, starts = np.unique(masks, return_index=True)
        out.update({f"{name}mask": masks, f"{name}part": parts, f"{name}starts": starts, f"{name}groups": groups})
    return out


def split_tables(single: np.ndarray, largest: int) -> list[np.ndarray]:
    """tables[k][g]: the cheapest split of the needs of group g into exactly k legs, a leg of group S costing
    ``single[S]`` (any member, not necessarily distinct), for k = 0..largest. O(largest * 3^N)."""
    size = len(single)
    n = size.bit_length() - 1
    pairs = group_pairs(n)
    tables = [np.full(size, math.inf)]
    tables[0][0] = 0.0
    if largest >= 1:
        first = np.array(single, float)
        first[0] = math.inf
        tables.append(first)
    for _ in range(2, largest + 1):
        nxt = np.full(size, math.inf)
        if len(pairs["low_mask"]):
            vals = single[pairs["low_part"]] + tables[-1][pairs["low_mask"] ^ pairs["low_part"]]
            nxt[pairs["low_groups"]] = np.minimum.reduceat(vals, pairs["low_starts"])
        tables.append(nxt)
    return tables


def alternatives(obj: Objective, *, count: int, required=(), max_members: int | None = None) -> list[dict]:
    """Up to ``count`` bundles, each a different team wherever the pool allows it: the best bundle, then the
    best that uses none of the members above it, and so on. A need whose every holder is already used keeps
    its likeliest holder (and ``required`` members are always allowed), so a rare need does not end the
    list; a member set is never shown twice. Each bundle is exact within the pool under these exclusions;
    the list is returned best first. Results as ``search``'s."""
    out: list[dict] = []
    used: set[int] = set()
    single = obj.logits[:, [1 << n for n in range(obj.needs)]]
    _check_coverable(obj)
    state = _LegSearch(obj, max_members)
    for _ in range(count):
        banned = used - set(int(r) for r in required)
        for n in range(obj.needs):
            holders = np.flatnonzero(np.isfinite(single[:, n]))
            if len(holders) and set(holders.tolist()) <= banned:
                banned.discard(int(holders[np.argmax(single[holders, n])]))
        found = state.run(1, set(int(r) for r in required), banned, {tuple(b["members"]) for b in out})
        if not found:
            break
        out.append(_result(obj, *found[0]))
        used |= set(out[-1]["members"])
    return sorted(out, key=lambda b: (round(b["J"], 9), b["members"]))


def _check_coverable(obj: Objective) -> None:
    if not np.isfinite(obj.logits[:, [1 << n for n in range(obj.needs)]]).any(axis=0).all():
        raise ValueError("every need must have at least one candidate in the pool")


def search(obj: Objective, *, top_k: int = 3, required=(), max_members: int | None = None, banned=(),
           forbidden=()) -> list[dict]:
    """The ``top_k`` best bundles of the pool with distinct member sets, best first, exact.

    ``required``: pool members every bundle must contain; ``banned``: pool members no bundle may contain
    (none left for a need: no bundle); ``forbidden``: member sets (sorted tuples) not to return;
    ``max_members`` caps the bundle size. Each result:
    ``{"members": [pool index], "masks": [group of needs of each member], "assignment": [pool index per
    need], "J": float}``. Every need must be takeable by some pool member (else ValueError).

    A depth-first branch and bound over legs (``_LegSearch``): each step gives the lowest need not yet
    covered, with a group of other uncovered needs, to a member not yet in the bundle. Worst case
    exponential in the needs; the bounds keep it small on the pools the pool rule makes (docs/ENGINE.md).
    """
    if obj.needs == 0:
        return []
    _check_coverable(obj)
    state = _LegSearch(obj, max_members)
    found = state.run(top_k, set(int(r) for r in required), set(int(b) for b in banned), set(forbidden))
    return [_result(obj, J, members) for J, members in found]


class _LegSearch:
    """Depth-first branch and bound over legs.

    A node holds the legs chosen so far (member, group) and the needs ``rest`` not yet covered. Its lower
    bound: each chosen leg priced with the largest bundle terms it can still reach (its joint work with the
    chosen members and with those on the case, plus the most joint work it could have with as many more
    members as there are needs left, in a bundle of the fewest members it can end with), plus
    ``cover[n][rest]``: the cheapest split of the rest into legs of any members, each priced with the
    largest bundle terms its member could have in a bundle of at least n members. Leaves are priced
    exactly; the best J of every member set is kept, and a node is cut when its bound exceeds the k-th best.
    """

    def __init__(self, obj: Objective, max_members):
        self.obj = obj
        P, N = obj.size, obj.needs
        self.N, self.full = N, (1 << N) - 1
        self.max_members = min(max_members or N, N, P)
        self.wj, self.wm, self.Q = obj.w_joint, obj.w_members, obj.coordinate
        joint = obj.joint
        self.pair = [joint[m, :P].tolist() if joint[m, :P].any() else None for m in range(P)]
        self.on_case = joint[:P, P:].sum(axis=1).tolist()
        ordered = -np.sort(-joint[:P, :P], axis=1)
        top = np.concatenate([np.zeros((P, 1)), np.cumsum(ordered, axis=1)], axis=1)
        self.top = top[:, : N + 1].tolist() if top.shape[1] > N else np.pad(
            top, ((0, 0), (0, N + 1 - top.shape[1])), mode="edge").tolist()
        self.z = obj.logits.tolist()
        self.cover = [self._cover(n) for n in range(N + 1)]
        self.cheap = self._cheapest_legs()
        self.legs_of = self._legs() if kernel is None else None
        self.fitting: dict[tuple[int, int], list[tuple]] = {}

    def _members_for_bound(self, fewest: int) -> int:
        """The bundle size whose members' term is the largest a bundle of at least ``fewest`` can have."""
        return max(fewest, 1) if self.wm <= 0 else self.N

    def _most_joint(self, m: int, more: int) -> float:
        return self.top[m][min(more, self.N)] if self.wj > 0 else 0.0

    def _cover(self, n: int) -> list[float]:
        """cover[g]: the cheapest split of group g into legs of any members of a bundle of >= n members."""
        P = self.obj.size
        on_case = np.array(self.on_case)
        most = np.array([self._most_joint(m, self.N - 1) for m in range(P)]) + on_case
        terms = (self.wj * np.log1p(most) if self.wj > 0 else self.wj * np.log1p(on_case)) \
            + self.wm * (self._members_for_bound(n) - 1 + self.Q)
        single = leg_cost(self.obj.logits + terms[:, None]).min(axis=0)
        tables = split_tables(single, self.N)
        cover = np.min(np.array(tables[1:]), axis=0)
        cover[0] = 0.0
        return cover.tolist()

    def _cheapest_legs(self) -> list[list[float]]:
        """cheap[m][g]: the least a leg (m, g) can cost in any bundle (the largest bundle terms m can have)."""
        on_case = np.array(self.on_case)
        most = np.array([self._most_joint(m, self.N - 1) for m in range(self.obj.size)]) + on_case
        terms = (self.wj * np.log1p(most) if self.wj > 0 else self.wj * np.log1p(on_case)) \
            + self.wm * (self._members_for_bound(1) - 1 + self.Q)
        return leg_cost(self.obj.logits + terms[:, None]).tolist()

    def _legs(self) -> list[list[tuple]]:
        """legs_of[n]: every (member, group) whose group holds need n as its lowest need, likeliest first."""
        out = []
        for n in range(self.N):
            legs = []
            below = (1 << n) - 1
            for m, row in enumerate(self.z):
                for g in range(1 << n, self.full + 1):
                    if g >> n & 1 and not g & below and row[g] > -math.inf:
                        legs.append((-row[g], m, g))
            legs.sort()
            out.append([(m, g) for _, m, g in legs])
        return out

    def run(self, top_k: int, required: set, banned: set, forbidden: set) -> list[tuple[float, tuple]]:
        """The ``top_k`` best (J, member set) with every ``required`` member, no ``banned`` one and no
        ``forbidden`` set; the tables above serve every run (leaving members out only raises costs)."""
        if kernel is not None:
            return self._compiled(top_k, required, banned, forbidden)
        holders = [{m for m, g in legs} - banned for legs in self.legs_of]
        if not all(holders):
            return []
        self.top_k, self.required, self.banned, self.forbidden = top_k, required, banned, forbidden
        self.best: dict[tuple, float] = {}
        self.bound = math.inf
        self._dfs([], [], self.full, 0.0)
        return self.results()

    def _compiled(self, top_k: int, required: set, banned: set, forbidden: set) -> list[tuple[float, tuple]]:
        """``run`` through the compiled kernel (the same search on arrays)."""
        if not hasattr(self, "arrays"):
            obj = self.obj
            P = obj.size
            cheap = np.array(self.cheap, float)
            cheap[:, 0] = math.inf
            order, starts = kernel.group_order(np.where(np.isfinite(np.array(self.z)), cheap, math.inf))
            self.arrays = (np.ascontiguousarray(obj.logits, float), np.ascontiguousarray(obj.joint[:P, :P], float),
                           np.array(self.on_case, float), np.array(self.top, float), np.array(self.cover, float),
                           cheap, order, starts)
        P = self.obj.size
        takes = np.isfinite(self.arrays[0][:, [1 << n for n in range(self.N)]])  # every need still has a holder
        if not takes[np.setdiff1d(np.arange(P), list(banned))].any(axis=0).all():
            return []
        mask = np.zeros(P, bool)
        req, ban = mask.copy(), mask.copy()
        req[list(required)] = True
        ban[list(banned)] = True
        forbid = np.full((max(len(forbidden), 1), self.N), -1, dtype=np.int64)
        for f, members in enumerate(forbidden):
            forbid[f, :len(members)] = sorted(members)
        if not forbidden:
            forbid = forbid[:0]
        J, sets = kernel.search(*self.arrays, float(self.wj), float(self.wm), int(self.Q), int(self.max_members),
                                int(top_k), req, ban, forbid)
        found = sorted(((float(j), tuple(int(m) for m in row if m >= 0)) for j, row in zip(J, sets)),
                       key=lambda r: (round(r[0], 9), r[1]))
        return found[:top_k]

    def _joint(self, m: int, members) -> float:
        """m's past joint referrals with ``members`` and with those on the case."""
        row = self.pair[m]
        if row is None:
            return self.on_case[m]
        total = self.on_case[m]
        for o in members:
            total += row[o]
        return total

    def _lower_bound(self, members, groups, rest) -> float:
        fewest = len(members) + (1 if rest else 0)
        more = min(bin(rest).count("1"), self.N)
        total = self.cover[min(fewest, self.N)][rest]
        members_term = self.wm * (self._members_for_bound(fewest) - 1 + self.Q)
        wj = self.wj
        for m, g in zip(members, groups):
            joint = self._joint(m, members) + (self.top[m][more] if wj > 0 and rest else 0.0)
            z = self.z[m][g] + wj * math.log1p(joint) + members_term
            total += math.log1p(math.exp(-z)) if z > -30 else -z
        return total

    def _dfs(self, members, groups, rest, spent: float) -> None:
        """``spent``: the least the chosen legs can cost (``cheap``), for a quick bound on each child."""
        if not rest:
            self._leaf(members, groups)
            return
        if len(members) >= self.max_members or self._lower_bound(members, groups, rest) > self.bound + EPS:
            return
        banned = self.banned
        for optimistic, cheap, m, g in self._children(rest, min(len(members) + 2, self.N)):
            if spent + optimistic > self.bound + EPS:
                break  # children come cheapest bound first: none after this one can beat the bound
            if m in members or m in banned:
                continue
            members.append(m)
            groups.append(g)
            self._dfs(members, groups, rest ^ g, spent + cheap)
            members.pop()
            groups.pop()

    def _children(self, rest: int, n: int) -> list[tuple]:
        """The legs that can cover the lowest need of ``rest`` next, as (bound, cost, member, group), the
        bound (the leg's least cost plus ``cover[n]`` of what it leaves) ascending; cached per (rest, n)."""
        children = self.fitting.get((rest, n))
        if children is None:
            low = (rest & -rest).bit_length() - 1
            cover, cheap = self.cover[n], self.cheap
            children = sorted((cheap[m][g] + (cover[rest ^ g] if rest ^ g else 0.0), cheap[m][g], m, g)
                              for m, g in self.legs_of[low] if not g & ~rest)
            self.fitting[(rest, n)] = children
        return children

    def _leaf(self, members, groups) -> None:
        if not self.required <= set(members):
            return
        members_term = self.wm * (len(members) - 1 + self.Q)
        J, limit = 0.0, self.bound + EPS
        for m, g in zip(members, groups):
            z = self.z[m][g] + self.wj * math.log1p(self._joint(m, members)) + members_term
            J += math.log1p(math.exp(-z)) if z > -30 else -z
            if J > limit:
                return
        key = tuple(sorted(members))
        if J > self.bound + EPS or J >= self.best.get(key, math.inf) or key in self.forbidden:
            return
        self.best[key] = J
        if len(self.best) >= self.top_k:
            self.bound = sorted(self.best.values())[self.top_k - 1]

    def results(self) -> list[tuple[float, tuple]]:
        found = sorted(((J, key) for key, J in self.best.items()), key=lambda r: (round(r[0], 9), r[1]))
        return found[: self.top_k]


def leg_costs_of_sets(obj: Objective, sets: np.ndarray) -> np.ndarray:
    """(B, s, 2^N): the cost of each member of each set (rows of pool indices) taking each group of needs,
    with its bundle terms in that set."""
    B, s = sets.shape
    P = obj.size
    joint = obj.joint[sets[:, :, None], sets[:, None, :]].sum(axis=2) + obj.joint[:P, P:].sum(axis=1)[sets]
    terms = obj.w_joint * np.log1p(joint) + obj.w_members * (s - 1 + obj.coordinate)
    return leg_cost(obj.logits[sets] + terms[:, :, None])


def best_split(L: np.ndarray) -> tuple[float, list[int]]:
    """The cheapest split of the needs into one non-empty leg per member: ``L`` (s, 2^N) the members' costs.
    Returns (cost, group of each member). O(s * 3^N)."""
    s, size = L.shape
    full = size - 1
    best = {0: (0.0, [])}
    for k in range(s):
        last = k == s - 1
        nxt = {}
        for done, (cost, masks) in best.items():
            rest = full ^ done
            part = rest
            while part:
                if not last or part == rest:
                    value = cost + L[k, part]
                    key = done | part
                    if key not in nxt or value < nxt[key][0] - 1e-15:
                        nxt[key] = (value, masks + [part])
                part = (part - 1) & rest
        best = {g: v for g, v in nxt.items() if math.isfinite(v[0])}
    return best.get(full, (math.inf, []))


def _result(obj: Objective, J: float, members: tuple) -> dict:
    L = leg_costs_of_sets(obj, np.array([members]))[0]
    _, masks = best_split(L)
    assignment = [0] * obj.needs
    for m, mask in zip(members, masks):
        for n in range(obj.needs):
            if mask >> n & 1:
                assignment[n] = m
    return {"members": list(members), "masks": masks, "assignment": assignment, "J": J}


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


def outside_lower_bound(logits: np.ndarray, outside: np.ndarray, joint_total: np.ndarray, on_case: np.ndarray, *,
                        w_joint: float, w_members: float, coordinate: int = 0, min_members: int = 1) -> float:
    """A lower bound on J for every bundle that uses at least one member outside the pool.

    ``logits`` (M, 2^N) the leg logits of every candidate member (-inf where it cannot take a group),
    ``outside`` the (M,) mask of members not in the pool, ``joint_total`` each member's past joint referrals
    with anyone and ``on_case`` with the members already on the case. An outside member v alone costs its
    own leg; with others, at least its cheapest leg plus the cheapest cover of the other needs, every leg
    priced with the largest bundle terms its member could have. A leg's cost falls as its logit rises, so
    only the largest logit of each group matters: O(M * 2^N + 3^N), vectorised.
    """
    if not outside.any():
        return math.inf
    size = logits.shape[1]
    full = size - 1
    n = full.bit_length()
    alone = leg_cost((logits[outside, full] + w_joint * np.log1p(on_case[outside])).max() + w_members * coordinate)
    if n < 2:
        return float(alone)
    others = max(2, min_members) - 1 + coordinate if w_members <= 0 else n - 1 + coordinate
    best_terms = (w_joint * np.log1p(joint_total + on_case) if w_joint > 0 else w_joint * np.log1p(on_case))
    everyone, outsiders = lifted_max(logits, best_terms, outside)
    single = leg_cost(everyone + w_members * others)
    tables = split_tables(single, n)
    cover = np.min(np.array(tables[1:]), axis=0)
    cover[0] = 0.0
    parts = np.arange(1, full)
    own = leg_cost(outsiders[parts] + w_members * others)
    return float(min(alone, (own + cover[full ^ parts]).min()))


def lifted_max(logits: np.ndarray, terms: np.ndarray, outside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2^N,) twice: the largest ``logits + terms`` in each group's column over every row, and over the rows
    ``outside`` (a mask) only (-inf where none). Groups of several needs only over the members that can take
    two needs or more (the others are -inf there); one pass, the outside maximum recomputed only for the
    columns whose maximum is taken by a row that is not outside (a pool member)."""
    size = logits.shape[1]
    N = size.bit_length() - 1
    everyone, outsiders = np.full(size, -np.inf), np.full(size, -np.inf)
    singles = [1 << k for k in range(N)]
    _column_max(logits[:, singles] + terms[:, None], outside, singles, everyone, outsiders)
    if N >= 2:
        pairs = [(1 << a) | (1 << b) for a in range(N) for b in range(a + 1, N)]
        several = np.flatnonzero(np.isfinite(logits[:, pairs]).any(axis=1))
        if len(several):
            multi = np.array([g for g in range(1, size) if g & (g - 1)])
            _column_max(logits[np.ix_(several, multi)] + terms[several, None], outside[several], multi,
                        everyone, outsiders)
    return everyone, outsiders


def _column_max(values: np.ndarray, outside: np.ndarray, columns, everyone: np.ndarray, outsiders: np.ndarray) -> None:
    """Write the column maxima of ``values`` over all rows and over the ``outside`` rows into ``columns``."""
    if not len(values):
        return
    top = values.argmax(axis=0)
    best = values[top, np.arange(values.shape[1])]
    everyone[columns] = best
    theirs = best.copy()
    redo = ~outside[top]
    if redo.any():
        sub = values[:, redo]
        theirs[redo] = np.where(outside[:, None], sub, -np.inf).max(axis=0) if outside.any() else -np.inf
    outsiders[columns] = theirs
