"""Batch allocation: many cases at once under the members' monthly capacities.

A case's bundle is a set of legs: a member and the group of needs it takes. The cost of a leg is the
match's own (:mod:`matcher.engine.objective`): ``-ln sigmoid(z)`` with z the scorer's logit of the member
taking the group as one leg; apart from the bundle terms (past joint work, hand-offs), it depends only on
(province, sector, group of needs) and the member. So:

1. each case's needs are split into legs greedily (each need to the member whose leg of it alone costs
   least; a need joins a member already on the case when one leg of both costs less than two legs);
2. the legs are grouped by (province, sector, group of needs) and the whole batch is solved as one
   min-cost flow (OR-Tools; networkx for comparison), exact for the legs' own cost:

       leg group (supply = its cases) --leg cost--> member (legs left this month) --> sink
       leg group --UNSERVED_COST per need--> sink

3. the needs of legs left unserved are tried again one by one in a second flow on the capacity left;
4. every case then takes its legs from its groups' quotas (all cases of a group see the same cost; the
   cases whose legs can all be served go first), and each bundle's J (bundle terms included) is computed
   by the match's objective: its chance that every need it was given is met is exp(-J).

Baselines: ``allocate_sequentially`` (the same cases one at a time, each need to the cheapest member
with capacity left) and ``allocate_independently`` (every case as if alone: what it would overflow).
Capacity is counted in legs against each member's monthly capacity minus its open legs.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from matcher.engine import objective, scoring
from matcher.errors import Unprocessable

COST_SCALE = 1000  # the flow works on integer costs: c * 1000
UNSERVED_COST = 25.0  # above any c = -log p with p >= 1e-9
MIN_ARCS, CAPACITY_MARGIN = 30, 3


@dataclass
class Case:
    key: str
    enterprise: str
    province: str
    needs: list[str]
    sector: str | None = None


def read_cases(text: str, ref) -> list[Case]:
    """Cases from CSV text with columns ``enterprise, province, needs`` (needs separated by spaces, ``;``
    or ``|``) and optionally ``case`` (a key; default the row number) and ``sector``. Every bad row is
    reported (row number, field, value) and nothing is allocated when any row is bad."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"enterprise", "province", "needs"} - set(reader.fieldnames or ())
    if missing:
        raise Unprocessable(f"The cases CSV lacks column(s) {', '.join(sorted(missing))}; expected a header "
                            f"enterprise,province,needs[,sector][,case].", field="csv")
    cases, errors = [], []
    for line, row in enumerate(reader, start=2):
        try:
            cases.append(_case(row, line, ref))
        except Unprocessable as e:
            errors.append({"field": f"row {line}: {e.field}", "message": e.message})
    if errors:
        shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Unprocessable(f"{len(errors)} bad row(s) in the cases CSV, nothing allocated. {shown}",
                            field="csv", errors=errors[:100])
    if not cases:
        raise Unprocessable("The cases CSV has no rows.", field="csv")
    return cases


def _case(row: dict, line: int, ref) -> Case:
    needs = [n for n in (row.get("needs") or "").replace(";", " ").replace("|", " ").replace(",", " ").split()]
    needs = ref.check_categories(needs, field="needs")
    if not needs:
        raise Unprocessable("no needs given", field="needs")
    province = ref.resolve_province(row.get("province"), field="province")
    return Case(key=(row.get("case") or str(line - 1)).strip(), enterprise=(row.get("enterprise") or "").strip(),
                province=province, needs=needs, sector=(row.get("sector") or "").strip() or None)


# -- costs ---------------------------------------------------------------------------------------------


class CostTable:
    """The logit and the cost of every member taking a group of needs as one leg, per (province, sector),
    without the bundle terms: the scorer's ``group_logits`` and ``objective.leg_cost`` of it (-inf / inf where
    the member does not offer a need of the group or has no capacity for it). Cached per (province, sector)
    and per (province, sector, group)."""

    def __init__(self, snapshot):
        self.snapshot = snapshot
        self.scorer = snapshot.scorer or scoring.prior_scorer()
        self.allowed = snapshot.offers & (snapshot.capacity > 0)
        self._need_array = self.scorer.need_logits(snapshot)
        self._need = self._need_array.tolist()  # (M, C) as lists: one member's leg, fast
        self._offers = [set(np.flatnonzero(row).tolist()) for row in self.allowed]
        self._holders = {j: np.flatnonzero(self.allowed[:, j]) for j in range(self.allowed.shape[1])}
        self._pairs = np.nonzero(self.allowed)  # (members, categories) that may be given alone
        self._base: dict = {}
        self._singles: dict = {}
        self._logits: dict = {}
        self._cache: dict = {}
        self._ranked: dict = {}

    def base(self, province: str, sector: str | None) -> np.ndarray:
        """(M,) intercept + member + case terms for this (province, sector)."""
        key = (province, sector)
        out = self._base.get(key)
        if out is None:
            snap = self.snapshot
            fit = scoring.sector_fit(snap, sector)
            out = self._base[key] = self.scorer.member_logits(snap) + self.scorer.case_logits(snap, province, fit)
        return out

    def leg_logits(self, province: str, sector: str | None, needs: tuple) -> np.ndarray:
        """(M,) the logit of each member taking ``needs`` (category codes) as one leg, rounded as a match
        rounds it."""
        key = (province, sector, needs)
        z = self._logits.get(key)
        if z is None:
            idx = [self.snapshot.category_index[n] for n in needs]
            cands = self._holders[idx[0]]
            for j in idx[1:]:
                cands = np.intersect1d(cands, self._holders[j], assume_unique=True)
            z = np.full(len(self.allowed), -np.inf)
            z[cands] = np.round(self.base(province, sector)[cands] + self._need_array[np.ix_(cands, idx)].mean(axis=1)
                                + self.scorer.weight("extra_needs") * (len(idx) - 1), objective.DECIMALS)
            self._logits[key] = z
        return z

    def leg_logit(self, province: str, sector: str | None, needs, m: int) -> float:
        """The logit of member m taking ``needs`` as one leg (as ``leg_logits`` gives it, for one member)."""
        index = self.snapshot.category_index
        idx = [index[n] for n in needs]
        offers = self._offers[m]
        if any(j not in offers for j in idx):
            return -math.inf
        row = self._need[m]
        z = (float(self.base(province, sector)[m]) + sum(row[j] for j in idx) / len(idx)
             + self.scorer.weight("extra_needs") * (len(idx) - 1))
        return round(z, objective.DECIMALS)

    def leg_cost(self, province: str, sector: str | None, needs, m: int) -> float:
        z = self.leg_logit(province, sector, needs, m)
        if z == -math.inf:
            return math.inf
        return round(math.log1p(math.exp(-z)) if z > -30 else -z, objective.DECIMALS)

    def single_costs(self, province: str, sector: str | None) -> np.ndarray:
        """(C, M): the cost of every member taking each category alone, for this (province, sector)."""
        key = (province, sector)
        out = self._singles.get(key)
        if out is None:
            members, cats = self._pairs
            z = np.round(self.base(province, sector)[members] + self._need_array[members, cats], objective.DECIMALS)
            out = np.full(self.allowed.T.shape, np.inf)
            out[cats, members] = np.round(objective.leg_cost(z), objective.DECIMALS)
            self._singles[key] = out
        return out

    def leg_costs(self, province: str, sector: str | None, needs: tuple) -> np.ndarray:
        """(M,) the cost of each member taking ``needs`` (category codes) as one leg."""
        key = (province, sector, needs)
        cost = self._cache.get(key)
        if cost is None:
            z = self.leg_logits(province, sector, needs)
            cost = np.full(len(z), np.inf)
            finite = np.isfinite(z)
            cost[finite] = np.round(objective.leg_cost(z[finite]), objective.DECIMALS)
            self._cache[key] = cost
        return cost

    def ranked(self, province: str, sector: str | None, need: str) -> np.ndarray:
        """Members that can take ``need`` alone for this (province, sector), cheapest first (cached)."""
        key = (province, sector, need)
        order = self._ranked.get(key)
        if order is None:
            column = self.single_costs(province, sector)[self.snapshot.category_index[need]]
            ok = np.flatnonzero(np.isfinite(column))
            order = self._ranked[key] = ok[np.argsort(column[ok], kind="stable")]
        return order

    def joins(self, case: Case, legs: dict[int, list[str]], need: str, alone: int) -> int:
        """The member that should take ``need``: ``alone`` (its cheapest taker as a leg of its own), or a
        member already on the case (``legs``: member -> its needs) when one leg of both costs less."""
        best, saving = alone, 0.0
        own = self.leg_cost(case.province, case.sector, (need,), alone)
        for m, needs in legs.items():
            together = self.leg_cost(case.province, case.sector, needs + [need], m)
            before = self.leg_cost(case.province, case.sector, needs, m)
            if together - before - own < saving:
                best, saving = m, together - before - own
        return best


# -- the flow -------------------------------------------------------------------------------------------


def split_into_legs(snapshot, table: CostTable, case: Case) -> list[tuple[str, ...]]:
    """The case's needs grouped into legs (capacity ignored): each need to its cheapest member, or to a
    member already on the case when one leg of both costs less than two."""
    legs: dict[int, list[str]] = {}
    missing = []
    for need in case.needs:
        order = table.ranked(case.province, case.sector, need)
        if not len(order):
            missing.append(need)
            continue
        legs.setdefault(table.joins(case, legs, need, int(order[0])), []).append(need)
    return [tuple(g) for g in legs.values()] + [(n,) for n in missing]


def flow_network(snapshot, table: CostTable, groups: dict, legs_left: np.ndarray) -> dict:
    """Arrays of the min-cost flow over leg groups ``{(province, sector, needs): count}``.

    Each group gets arcs to its cheapest members (those offering every need of the group), at least
    ``MIN_ARCS`` and until their legs left reach ``CAPACITY_MARGIN`` times the demand, and one unserved
    arc. Returns ``{"start", "end", "capacity", "cost", "supply", "group_arcs", "keys"}``."""
    M = snapshot.number_of_members
    keys = list(groups)
    n_groups = len(keys)
    sink = n_groups + M
    start, end, capacity, cost, group_arcs = [], [], [], [], []
    for g, (province, sector, needs) in enumerate(keys):
        demand = groups[keys[g]]
        column = table.leg_costs(province, sector, needs)
        members = _members_for(column, legs_left, demand)
        group_arcs.append((len(start), len(members), members.tolist()))
        start.extend([g] * len(members))
        end.extend((n_groups + members).tolist())
        capacity.extend([demand] * len(members))
        cost.extend(np.round(column[members] * COST_SCALE).astype(np.int64).tolist())
    start.extend(range(n_groups, n_groups + M))
    end.extend([sink] * M)
    capacity.extend(np.maximum(legs_left, 0).astype(np.int64).tolist())
    cost.extend([0] * M)
    for g, key in enumerate(keys):
        start.append(g)
        end.append(sink)
        capacity.append(groups[key])
        cost.append(int(UNSERVED_COST * len(key[2]) * COST_SCALE))
    supply = np.zeros(sink + 1, dtype=np.int64)
    supply[:n_groups] = [groups[k] for k in keys]
    supply[sink] = -int(supply[:n_groups].sum())
    return {"start": np.array(start, np.int64), "end": np.array(end, np.int64),
            "capacity": np.array(capacity, np.int64), "cost": np.array(cost, np.int64), "supply": supply,
            "group_arcs": group_arcs, "keys": keys}


def _members_for(column: np.ndarray, capacity: np.ndarray, demand: int) -> np.ndarray:
    """The cheapest members for a group whose capacity covers the demand with a margin."""
    ok = np.flatnonzero(np.isfinite(column) & (capacity > 0))
    if len(ok) > 4 * MIN_ARCS:
        near = ok[np.argpartition(column[ok], 4 * MIN_ARCS - 1)[: 4 * MIN_ARCS]]
        if capacity[near].sum() >= CAPACITY_MARGIN * demand:
            ok = near
    order = ok[np.argsort(column[ok], kind="stable")]
    enough = np.searchsorted(np.cumsum(capacity[order]), CAPACITY_MARGIN * demand) + 1
    return order[: max(MIN_ARCS, int(enough))]


def solve_flow(net: dict, solver: str = "ortools") -> np.ndarray:
    """Flow on every arc of ``flow_network``'s arrays, optimal; ``solver`` "ortools" or "networkx"."""
    if solver == "networkx":
        return _solve_networkx(net)
    from ortools.graph.python import min_cost_flow
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(net["start"], net["end"], net["capacity"], net["cost"])
    smcf.set_nodes_supplies(np.arange(len(net["supply"])), net["supply"])
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow did not solve (status {status})")
    return np.asarray(smcf.flows(arcs))


def _solve_networkx(net: dict) -> np.ndarray:
    import networkx as nx
    G = nx.DiGraph()
    for node, supply in enumerate(net["supply"].tolist()):
        G.add_node(node, demand=-supply)
    for a, (u, v, cap, w) in enumerate(zip(net["start"].tolist(), net["end"].tolist(), net["capacity"].tolist(),
                                          net["cost"].tolist())):
        G.add_edge(u, v, capacity=cap, weight=w, arc=a)
    flow = nx.min_cost_flow(G)
    out = np.zeros(len(net["start"]), np.int64)
    for u, targets in flow.items():
        for v, f in targets.items():
            out[G[u][v]["arc"]] = f
    return out


def _quotas(net: dict, flow: np.ndarray) -> dict[tuple, dict[int, int]]:
    quotas = {}
    for key, (first, count, members) in zip(net["keys"], net["group_arcs"]):
        taken = flow[first:first + count]
        quotas[key] = {m: int(q) for m, q in zip(members, taken) if q > 0}
    return quotas


# -- from quotas to bundles ----------------------------------------------------------------------------


def allocate(snapshot, cases: list[Case], *, solver: str = "ortools", progress=None) -> dict:
    """Allocate all cases jointly. Returns ``{"bundles": [per case], "summary": {...}}``."""
    table = CostTable(snapshot)
    legs_left = snapshot.capacity_left().astype(np.int64).copy()
    split = [split_into_legs(snapshot, table, c) for c in _progress(cases, progress)]
    groups: dict[tuple, int] = defaultdict(int)
    for case, legs in zip(cases, split):
        for leg in legs:
            groups[(case.province, case.sector, leg)] += 1
    net = flow_network(snapshot, table, groups, legs_left)
    quotas = _quotas(net, solve_flow(net, solver))
    chosen = _hand_out(cases, split, quotas)
    used = np.zeros_like(legs_left)
    for assignment in chosen:
        for m in set(v for v in assignment.values() if v is not None):
            used[m] += 1
    _second_round(snapshot, table, cases, chosen, legs_left - used, solver)
    return _report(snapshot, table, cases, chosen, method=f"min-cost flow ({solver})")


def _hand_out(cases, split, quotas) -> list[dict]:
    """Give the quotas to the cases: first to every case whose legs can all be served, cases with fewer
    legs first (so that many cases are fully covered), then what is left to the others, in input order. Within a
    group every case sees the same cost, so the order changes who is served, not the flow's cost."""
    chosen: list = [None] * len(cases)
    for i in sorted(range(len(cases)), key=lambda i: (len(split[i]), i)):
        case, legs = cases[i], split[i]
        need = defaultdict(int)
        for leg in legs:
            need[(case.province, case.sector, leg)] += 1
        if all(sum(quotas.get(key, {}).values()) >= k for key, k in need.items()):
            chosen[i] = _take_legs(case, legs, quotas)
    for i, (case, legs) in enumerate(zip(cases, split)):
        if chosen[i] is None:
            chosen[i] = _take_legs(case, legs, quotas)
    return chosen


def _take_legs(case: Case, legs, quotas) -> dict[str, int | None]:
    """Each leg of the case takes a member from its group's quota (a member already on the case first)."""
    chosen: dict[str, int | None] = {}
    for leg in legs:
        quota = quotas.get((case.province, case.sector, leg), {})
        if not quota:
            chosen.update({n: None for n in leg})
            continue
        on_case = [m for m in quota if m in chosen.values()]
        m = on_case[0] if on_case else next(iter(quota))
        quota[m] -= 1
        if quota[m] == 0:
            del quota[m]
        chosen.update({n: m for n in leg})
    return {n: chosen.get(n) for n in case.needs}


def _second_round(snapshot, table, cases, chosen, legs_left, solver) -> None:
    """Needs left unserved are tried one by one on the capacity left (a second flow)."""
    groups: dict[tuple, int] = defaultdict(int)
    for case, assignment in zip(cases, chosen):
        for n, m in assignment.items():
            if m is None:
                groups[(case.province, case.sector, (n,))] += 1
    if not groups or legs_left.max() <= 0:
        return
    net = flow_network(snapshot, table, groups, np.maximum(legs_left, 0))
    quotas = _quotas(net, solve_flow(net, solver))
    for case, assignment in zip(cases, chosen):
        for n, m in list(assignment.items()):
            if m is None:
                quota = quotas.get((case.province, case.sector, (n,)), {})
                if quota:
                    m = next(iter(quota))
                    quota[m] -= 1
                    if quota[m] == 0:
                        del quota[m]
                    assignment[n] = m


def allocate_sequentially(snapshot, cases: list[Case], *, progress=None, respect_capacity: bool = True) -> dict:
    """The baseline: cases one at a time in input order; each need to the cheapest member with capacity left
    (or to a member already on the case when one leg of both costs less than two)."""
    table = CostTable(snapshot)
    legs_left = snapshot.capacity_left().astype(np.int64).copy()
    start: dict[tuple, int] = defaultdict(int)  # first member of each ranking that may have capacity left
    assignments = []
    for case in _progress(cases, progress):
        legs: dict[int, list[str]] = {}
        chosen: dict[str, int | None] = {}
        for need in case.needs:
            order = table.ranked(case.province, case.sector, need)
            key = (case.province, case.sector, need)
            k = start[key]
            if respect_capacity:
                while k < len(order) and legs_left[order[k]] <= 0:
                    k += 1
                start[key] = k
            if k >= len(order):
                chosen[need] = None
                continue
            m = table.joins(case, legs, need, int(order[k]))
            legs.setdefault(m, []).append(need)
            chosen[need] = m
        for m in legs:
            legs_left[m] -= 1
        assignments.append(chosen)
    label = "one at a time, greedy" if respect_capacity else "each case alone (capacity ignored)"
    return _report(snapshot, table, cases, assignments, method=label)


def allocate_independently(snapshot, cases: list[Case], *, progress=None) -> dict:
    return allocate_sequentially(snapshot, cases, progress=progress, respect_capacity=False)


def _progress(items, progress):
    if progress is None:
        return items
    return progress(items)


# -- reporting ------------------------------------------------------------------------------------------


def bundle_objective(snapshot, table: CostTable, case: Case, chosen: dict) -> tuple[float, list[int]]:
    """(J, members) of a case's allocated legs, bundle terms included (``objective.priced_legs``): its
    chance that every need it was given is met is exp(-J)."""
    legs: dict[int, list[str]] = {}
    for n, m in chosen.items():
        if m is not None:
            legs.setdefault(m, []).append(n)
    members = sorted(legs)
    if not members:
        return 0.0, []
    scorer = table.scorer
    z = [table.leg_logit(case.province, case.sector, legs[m], m) for m in members]
    coord = snapshot.coordination()
    joint = [sum(coord.joint(m, o) for o in members if o != m) for m in members]
    priced = objective.priced_legs(z, joint, len(members) - 1,
                                   round(scorer.weight("joint_partners"), objective.DECIMALS),
                                   round(scorer.weight("other_members"), objective.DECIMALS))
    return float(objective.leg_cost(priced).sum()), members


def _report(snapshot, table: CostTable, cases, assignments, *, method: str) -> dict:
    ids = [m["id"] for m in snapshot.members]
    rows = []
    total = 0.0
    legs = np.zeros(snapshot.number_of_members)
    covered = 0
    unserved: dict[tuple, int] = defaultdict(int)
    for case, chosen in zip(cases, assignments):
        J, members = bundle_objective(snapshot, table, case, chosen)
        missing = [n for n, m in chosen.items() if m is None]
        for n in missing:
            unserved[(case.province, n)] += 1
        covered += not missing
        for m in members:
            legs[m] += 1
        total += J
        rows.append({"case": case.key, "enterprise": case.enterprise, "province": case.province,
                     "needs": case.needs, "assignment": {n: (ids[m] if m is not None else None)
                                                         for n, m in chosen.items()},
                     "members": [ids[m] for m in members], "objective": round(J, 6),
                     "success_chance": round(math.exp(-J), 4), "uncovered": missing})
    left = snapshot.capacity_left()
    over_legs = np.maximum(legs - left, 0)
    idle = (legs == 0) & (left > 0)
    summary = {
        "method": method, "cases": len(cases), "case_needs": int(sum(len(c.needs) for c in cases)),
        "total_objective": round(total, 3), "mean_objective": round(total / max(len(cases), 1), 4),
        "mean_success_chance": round(float(np.mean([r["success_chance"] for r in rows])), 4) if rows else None,
        "cases_fully_covered": covered, "case_needs_unserved": int(sum(unserved.values())),
        "members_over_capacity": int((over_legs > 0).sum()), "legs_over_capacity": int(over_legs.sum()),
        "members_idle": int(idle.sum()), "members_used": int((legs > 0).sum()),
        "largest_gaps": [{"province": p, "need": n, "unserved": k} for (p, n), k in
                         sorted(unserved.items(), key=lambda kv: (-kv[1], kv[0]))[:10]],
        "synthetic": bool(snapshot.dataset.get("synthetic")),
    }
    return {"bundles": rows, "summary": summary}


def write_bundles_csv(rows: list[dict], handle) -> None:
    """One line per case: case, enterprise, province, needs, members, assignment, objective, chance, uncovered."""
    writer = csv.writer(handle)
    writer.writerow(["case", "enterprise", "province", "needs", "members", "assignment", "objective",
                     "success_chance", "uncovered"])
    for r in rows:
        writer.writerow([r["case"], r["enterprise"], r["province"], " ".join(r["needs"]), " ".join(r["members"]),
                         ";".join(f"{n}={m or ''}" for n, m in r["assignment"].items()), r["objective"],
                         r["success_chance"], " ".join(r["uncovered"])])
