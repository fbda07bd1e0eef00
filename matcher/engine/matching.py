"""Match: from an enterprise's needs and province to ranked bundles of members that explain themselves.

``match(snapshot, req)`` takes a parsed ``MatchRequest``, prices every candidate member's leg for every group
of the needs with the snapshot's scorer (learned or hand-set), keeps a candidate pool (``pool.candidate_pool``;
the rule is stated there and in docs/ENGINE.md), searches it exactly (:func:`matcher.engine.bundles.search`)
for the bundles with the highest calibrated chance that every need is met, proves when the best one is
optimal over the whole network (:func:`matcher.engine.bundles.outside_lower_bound`), and returns a typed
``MatchResult``: legs with their chances and reasons, the referral plan, and why each bundle ranks above the
next, as reason codes with their numbers (``matcher.render`` writes them in Thai and English).
"""

from __future__ import annotations

import numpy as np

from matcher.engine import bundles, plan, scoring
from matcher.engine.derived import declare
from matcher.engine.explain import explain_block
from matcher.engine.objective import DECIMALS, Objective, chance
from matcher.engine.pool import allowed_needs, candidate_pool, capacity_left, check_included
from matcher.engine.request import MatchRequest
from matcher.engine.results import Bundle, Comparison, MatchResult, MemberLeg, Reason, Uncovered
from matcher.errors import Conflict

PREREQUISITES = declare("prerequisites")  # the category prerequisites (reference files)


def match(snapshot, req: MatchRequest) -> MatchResult:
    """Ranked bundles for a parsed request (see ``MatchRequest`` and docs/ENGINE.md)."""
    allowed = allowed_needs(snapshot, req)
    check_included(snapshot, req, allowed)
    scorer = snapshot.scorer or scoring.prior_scorer()
    covered = [j for j in range(len(req.needs)) if allowed[:, j].any()]
    result = MatchResult(
        province=req.province, province_assumed=req.province_assumed, needs=list(req.needs),
        covered=[req.needs[j] for j in covered],
        uncovered=[_uncovered(snapshot, n) for j, n in enumerate(req.needs) if j not in covered],
        bundles=[], scorer=scorer.describe(), certificate=None, synthetic=bool(snapshot.dataset.get("synthetic")))
    if not covered:
        return result
    space = SearchSpace.of(snapshot, req, scorer, allowed[:, covered], [req.needs[j] for j in covered])
    found, pool, obj, certificate = space.search(req)
    if not found:
        raise _no_bundle(req, allowed[:, covered], result.covered)
    shaped = [_bundle(snapshot, req, space, obj, pool, b, rank) for rank, b in enumerate(found, start=1)]
    for this, other in zip(shaped, shaped[1:]):
        this.comparison = compare(this, other, shown=other.rank <= req.top_k,
                                  joint=(_joint_total(snapshot, this, space), _joint_total(snapshot, other, space)),
                                  km=(_mean_km(this, req), _mean_km(other, req)))
    result.bundles = shaped[: req.top_k]
    result.certificate = certificate
    if req.explain:
        result.explain = explain_block(snapshot, space, pool, obj, certificate)
    return result


class SearchSpace:
    """The priced candidates of one request: leg logits of every member that can take a need, for every
    group of the covered needs, and the bundle-term weights."""

    def __init__(self, snapshot, req, scorer, allowed, needs, rows, logits):
        self.snapshot, self.req, self.scorer = snapshot, req, scorer
        self.allowed, self.needs, self.rows, self.logits = allowed, needs, rows, logits
        self.coord_idx = [snapshot.member_index[m] for m in req.coordinate_with]
        self.w_joint = round(scorer.weight("joint_partners"), DECIMALS)
        self.w_members = round(scorer.weight("other_members"), DECIMALS)
        self.dist = snapshot.distance_km(req.province)

    @classmethod
    def of(cls, snapshot, req, scorer, allowed, needs) -> SearchSpace:
        rows = np.flatnonzero(allowed.any(axis=1))
        cluster_sector = snapshot.clusters[req.cluster].get("sector") if req.cluster else None
        fit = scoring.sector_fit(snapshot, req.sector, cluster_sector)
        need_idx = [snapshot.category_index[n] for n in needs]
        logits = scorer.leg_logits(snapshot, req.province, fit, need_idx, rows, allowed[rows])
        np.round(logits, DECIMALS, out=logits)
        return cls(snapshot, req, scorer, allowed, needs, rows, logits)

    def objective(self, pool: list[int]) -> Objective:
        local = np.searchsorted(self.rows, pool)
        joint = self.snapshot.coordination().joint_matrix(list(pool) + self.coord_idx)
        return Objective(self.logits[local], joint, self.w_joint, self.w_members, len(self.coord_idx))

    def search(self, req):
        """(bundles, pool, objective, certificate): the best bundle of the pool and up to k alternatives, each a
        different team (``bundles.alternatives``), the pool grown when the request's constraints leave no
        bundle in it."""
        config = self.snapshot.search
        include_idx = [self.snapshot.member_index[m] for m in req.include]
        for growth in config.pool_growth:
            pool = candidate_pool(self.logits, self.rows, self.snapshot, config, include_idx, growth)
            obj = self.objective(pool)
            found = bundles.alternatives(obj, count=req.top_k + 1, required=[pool.index(m) for m in include_idx],
                                         max_members=req.max_members)
            if found:
                break
        return found, pool, obj, self.certificate(pool, found, growth)

    def certificate(self, pool, found, growth) -> dict:
        """Whether the best bundle is optimal over the whole network: true when no bundle that uses a member
        outside the pool can beat it (``bundles.outside_lower_bound``)."""
        coord = self.snapshot.coordination()
        outside = ~np.isin(self.rows, pool)
        on_case = (np.asarray(coord.joint_graph[self.rows][:, self.coord_idx].sum(axis=1)).ravel()
                   if self.coord_idx else np.zeros(len(self.rows)))
        smallest = bundles.minimum_cover_size(self.allowed[self.rows]) or 1
        bound = bundles.outside_lower_bound(self.logits, outside, coord.joint_total[self.rows], on_case,
                                            w_joint=self.w_joint, w_members=self.w_members,
                                            coordinate=len(self.coord_idx), min_members=smallest)
        config = self.snapshot.search
        return {"best_is_network_optimal": bool(found) and bound >= found[0]["J"] - 1e-9,
                "exact_within_pool": True, "pool_size": len(pool),
                "pool_per_need": config.per_need(len(self.needs)) * growth, "growth": growth,
                "outside_lower_bound": round(float(bound), DECIMALS) if np.isfinite(bound) else None}


def _uncovered(snapshot, need) -> Uncovered:
    j = snapshot.category_index[need]
    return Uncovered(need, Reason("no_member_offers" if not snapshot.offers[:, j].any() else "members_unavailable",
                                  {"need": need}))


def _no_bundle(req, allowed, needs) -> Conflict:
    """409: the request is well formed but the network as it stands cannot honour its constraints."""
    smallest = bundles.minimum_cover_size(allowed)
    if req.max_members is not None and smallest is not None and smallest > req.max_members:
        return Conflict(f"No bundle of at most {req.max_members} member(s) covers {', '.join(needs)}; the "
                             f"smallest needs {smallest}. Raise max_members to {smallest} or drop needs.",
                             field="max_members")
    return Conflict(f"No bundle contains every included member ({', '.join(req.include)}) and covers "
                         f"{', '.join(needs)} within max_members={req.max_members}; include fewer members or raise "
                         f"max_members.", field="include")


# -- shaping --------------------------------------------------------------------------------------------


def _bundle(snapshot, req, space: SearchSpace, obj: Objective, pool, found: dict, rank: int) -> Bundle:
    members = [pool[i] for i in found["members"]]
    _, chances = obj.legs(found["members"], found["masks"])
    needs_of = {m: [n for k, n in enumerate(space.needs) if mask >> k & 1] for m, mask in zip(members, found["masks"])}
    assignment = {n: snapshot.members[pool[found["assignment"][k]]]["id"] for k, n in enumerate(space.needs)}
    sector = req.sector or (snapshot.clusters[req.cluster].get("sector") if req.cluster else None)
    the_plan = plan.referral_plan(assignment, prerequisites(snapshot), sector)
    steps = plan.leg_steps(the_plan)
    legs = []
    for m, leg_chance in sorted(zip(members, chances), key=lambda mc: (steps[snapshot.members[mc[0]]["id"]], mc[0])):
        info = snapshot.members[m]
        partners = [o for o in members if o != m]
        legs.append(MemberLeg(
            member=info["id"], type=info["type"], kind=info.get("kind"), name_th=info["name_th"],
            name_en=info["name_en"], province=info["province"], needs=needs_of[m],
            chance=round(float(leg_chance), 4),
            distance_km=None if req.province_assumed else round(float(space.dist[m]), 1),
            step=steps[info["id"]], reasons=member_reasons(snapshot, req, m, needs_of[m], space, partners)))
    J = round(found["J"], DECIMALS)
    return Bundle(rank=rank, legs=legs, assignment=assignment, chance=round(chance(J), 4), objective=J, plan=the_plan)


def prerequisites(snapshot):
    return snapshot.derived.get(PREREQUISITES, lambda: plan.load_prerequisites(
        snapshot.ref.data_dir / "prerequisites.csv", tuple(snapshot.categories)))


def member_reasons(snapshot, req, m: int, needs: list[str], space: SearchSpace, partners: list[int]) -> list[Reason]:
    """Why member m is on these needs: distance (unless the province is only assumed), capacity left this
    month, its record per need (when it has one), and past joint work with the other members of the bundle
    and with those already on the case."""
    out = []
    if not req.province_assumed:
        out.append(Reason("distance", {"km": round(float(space.dist[m]), 1),
                                       "same_province": bool(snapshot.member_province[m]
                                                             == snapshot.province_index[req.province])}))
    out.append(Reason("capacity_left", {"legs": int(capacity_left(snapshot)[m])}))
    for need in needs:
        j = snapshot.category_index[need]
        finished = int(snapshot.finished[m, j])
        if finished:
            out.append(Reason("track_record", {"need": need, "completed": int(snapshot.completed[m, j]),
                                               "finished": finished}))
    return out + _joint_reasons(snapshot, m, partners, space.coord_idx)


def _joint_reasons(snapshot, m, partners, coord_idx) -> list[Reason]:
    coord = snapshot.coordination()
    others = [(o, False) for o in partners] + [(o, True) for o in coord_idx]
    out = [Reason("joint_work", {"with": snapshot.members[o]["id"], "referrals": coord.joint(m, o), "on_case": on_case})
           for o, on_case in others if coord.joint(m, o)]
    if others and not out:
        out.append(Reason("no_joint_work", {"partners": len(others)}))
    return out


def _joint_total(snapshot, bundle: Bundle, space: SearchSpace) -> int | None:
    """Past joint referrals among the bundle's members and between them and the members on the case (None
    for a lone member with nobody on the case: it has no partners to have worked with)."""
    if len(bundle.legs) + len(space.coord_idx) < 2:
        return None
    coord = snapshot.coordination()
    idx = [snapshot.member_index[leg.member] for leg in bundle.legs]
    pairs = sum(coord.joint(a, b) for k, a in enumerate(idx) for b in idx[k + 1:])
    return int(pairs + sum(coord.joint(a, w) for a in idx for w in space.coord_idx))


def _mean_km(bundle: Bundle, req) -> float | None:
    if req.province_assumed:
        return None
    return round(sum(leg.distance_km for leg in bundle.legs) / len(bundle.legs))


def compare(this: Bundle, other: Bundle, *, shown: bool, joint: tuple[int, int], km: tuple) -> Comparison:
    """Why ``this`` ranks above ``other``: first the chance (the order follows it), then what contributes
    to the difference, each reason only when the numbers it carries support it."""
    reasons = [_chance_reason(this, other)]
    n1, n2 = len(this.legs), len(other.legs)
    if n1 != n2:
        reasons.append(Reason("fewer_members" if n1 < n2 else "more_members", {"this": n1, "other": n2}))
    if None not in joint and joint[0] != joint[1]:
        reasons.append(Reason("more_joint_work" if joint[0] > joint[1] else "less_joint_work",
                              {"this": joint[0], "other": joint[1]}))
    if km[0] is not None and km[1] is not None and km[0] != km[1]:
        reasons.append(Reason("nearer" if km[0] < km[1] else "farther", {"this": km[0], "other": km[1]}))
    ids_this, ids_other = set(this.members), set(other.members)
    return Comparison(rank=other.rank, members=sorted(ids_other), chance=other.chance, objective=other.objective,
                      reasons=reasons, only_in_this=sorted(ids_this - ids_other),
                      only_in_other=sorted(ids_other - ids_this), shown=shown)


def _chance_reason(this: Bundle, other: Bundle) -> Reason:
    """``chance_higher`` when the chances differ at 0.1 % (the precision they are shown at when close),
    else ``chance_equal`` (``tie``: equal objectives, ranked by member ids)."""
    a, b = round(chance(this.objective), 3), round(chance(other.objective), 3)
    if a > b:
        return Reason("chance_higher", {"this": a, "other": b})
    return Reason("chance_equal", {"value": a, "tie": abs(this.objective - other.objective) <= 1e-9})
