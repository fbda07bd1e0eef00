"""Match: from an enterprise's needs and province to ranked bundles of members that explain themselves.

``match(snapshot, body)`` validates the request (raising :mod:`matcher.errors`), scores every member for
every need with the snapshot's scorer (learned or hand-set), applies the request's constraints, keeps a
candidate pool (``candidate_pool``: the rule is stated there and in docs/ENGINE.md), searches it exactly
(:func:`matcher.engine.bundles.search`), proves when the best bundle is optimal over the whole network
(:func:`matcher.engine.bundles.outside_lower_bound`, growing the pool when it cannot), and shapes each bundle with
its members' reasons, its referral plan and why it beat the next one, in Thai and English.
"""

from __future__ import annotations

import numpy as np

from matcher.engine import bundles, coordination, objective, plan, scoring
from matcher.engine.pool import (
    POOL_GROWTH,
    POOL_MULTI,
    POOL_PARTNERS,
    POOL_PER_NEED,
    _check_included,
    candidate_pool,
    capacity_left,
    costs,
    probabilities,
)
from matcher.engine.request import DECIMALS, parse_request
from matcher.errors import Conflict

# -- the match ------------------------------------------------------------------------------------------


def match(snapshot, body: dict) -> dict:
    """Ranked bundles for a request body (see ``parse_request`` and docs/ENGINE.md)."""
    req = parse_request(snapshot, body)
    p = probabilities(snapshot, req)
    _check_included(snapshot, req, p)
    scorer = snapshot.scorer or scoring.hand_set_scorer()
    covered = [j for j in range(len(req.needs)) if (p[:, j] > 0).any()]
    result = {"province": req.province, "needs": req.needs, "covered": [req.needs[j] for j in covered],
              "uncovered": [req.needs[j] for j in range(len(req.needs)) if j not in covered],
              "uncovered_reasons": [_uncovered_reason(snapshot, req, n) for j, n in enumerate(req.needs)
                                    if j not in covered],
              "bundles": [], "scorer": scorer.kind, "scorer_version": scorer.version,
              "scorer_note": scorer.note, "synthetic": bool(snapshot.dataset.get("synthetic"))}
    if not covered:
        return result
    cost = costs(p[:, covered])
    found, pool, coord_idx, D, certificate = _search(snapshot, req, cost)
    if not found:
        raise _no_bundle(snapshot, req, cost, covered)
    dist = snapshot.distance_km(req.province)
    shaped = [_shape_bundle(snapshot, req, b, rank, pool, covered, p, coord_idx, dist)
              for rank, b in enumerate(found[: req.top_k], start=1)]
    if len(found) > req.top_k:
        shaped.append(_bundle_summary(snapshot, found[req.top_k], req.top_k + 1, pool))
    for rank, bundle in enumerate(shaped[: req.top_k]):
        if rank + 1 < len(shaped):
            bundle["beat"] = runner_up(bundle, shaped[rank + 1])
    result["bundles"] = shaped[: req.top_k]
    result["certificate"] = certificate
    if req.explain:
        result["explain"] = _explain(snapshot, req, pool, covered, cost, coord_idx, D, certificate)
    return result


def _search(snapshot, req, cost):
    """Search the pool exactly (once more with a pool three times larger when the request's constraints
    leave no bundle in it) and bound every bundle outside it. Returns (bundles, pool, coordinate member
    indices, D, certificate)."""
    coord_idx = [snapshot.member_index[m] for m in req.coordinate_with]
    include_idx = [snapshot.member_index[m] for m in req.include]
    coord = snapshot.coordination()
    for growth in POOL_GROWTH:
        pool = candidate_pool(cost, snapshot, include_idx, growth)
        D = np.round(coord.matrix(pool + coord_idx), DECIMALS)
        local = {m: i for i, m in enumerate(pool)}
        found = bundles.search(cost[pool], D, fixed=np.full(len(pool), objective.FIXED_COST), top_k=req.top_k + 1,
                               coordinate=len(coord_idx), required=[local[m] for m in include_idx],
                               max_members=req.max_members)
        if found:
            break
    return found, pool, coord_idx, D, _certificate(snapshot, cost, pool, found, coord_idx, growth)


def _certificate(snapshot, cost, pool, found, coord_idx, growth) -> dict:
    """Whether the best bundle is optimal over the whole network: true when no bundle that uses a member
    outside the pool can beat it (``bundles.outside_lower_bound``)."""
    outside = np.isfinite(cost).any(axis=1)
    outside[pool] = False
    bound = bundles.outside_lower_bound(cost, outside, np.full(len(cost), objective.FIXED_COST),
                                        snapshot.coordination().nearest,
                                        min_members=bundles.minimum_cover_size(np.isfinite(cost)) or 1,
                                        coordinate=bool(coord_idx))
    return {"best_is_network_optimal": bool(found) and bound >= found[0]["J"] - 1e-9, "exact_within_pool": True,
            "pool_size": len(pool), "pool_per_need": POOL_PER_NEED[cost.shape[1]] * growth, "growth": growth,
            "outside_lower_bound": round(float(bound), DECIMALS) if np.isfinite(bound) else None}


def _uncovered_reason(snapshot, req, need) -> dict:
    j = snapshot.category_index[need]
    label = snapshot.ref.category_by_code[need]
    if not snapshot.offers[:, j].any():
        return {"need": need, "th": f"ยังไม่มีสมาชิกในเครือข่ายที่ให้บริการด้าน{label['label_th']}",
                "en": f"no member of the network offers {_in_sentence(label['label_en'])}"}
    return {"need": need, "th": f"สมาชิกที่ให้บริการด้าน{label['label_th']}ถูกตัดออกตามเงื่อนไขของคำขอหรือไม่มีคิวว่างเดือนนี้",
            "en": f"the members offering {_in_sentence(label['label_en'])} are left out by the request's constraints "
                  f"or have no capacity left this month"}


def _no_bundle(snapshot, req, cost, covered) -> Conflict:
    """409: the request is well formed but the network as it stands cannot honour its constraints."""
    needs = ", ".join(req.needs[j] for j in covered)
    smallest = bundles.minimum_cover_size(np.isfinite(cost))
    if req.max_members is not None and smallest is not None and smallest > req.max_members:
        return Conflict(f"No bundle of at most {req.max_members} member(s) covers {needs}; the smallest "
                             f"needs {smallest}. Raise max_members to {smallest} or drop needs.",
                             field="max_members")
    return Conflict(f"No bundle contains every included member ({', '.join(req.include)}) and covers "
                         f"{needs} within max_members={req.max_members}; include fewer members or raise "
                         f"max_members.", field="include")


# -- shaping --------------------------------------------------------------------------------------------


def _bundle_summary(snapshot, b, rank, pool) -> dict:
    """What ``runner_up`` needs of a bundle that is not shown."""
    return {"rank": rank, "members": [{"id": snapshot.members[pool[m]]["id"]} for m in b["members"]],
            "objective": round(b["J"], DECIMALS), "terms": {k: round(v, DECIMALS) for k, v in b["terms"].items()},
            "success_chance": round(objective.success_chance(b["terms"]["assignment"]), 4)}


def _shape_bundle(snapshot, req, b, rank, pool, covered, p, coord_idx, dist) -> dict:
    member_needs: dict[int, list[str]] = {}
    for n, local in enumerate(b["assignment"]):
        member_needs.setdefault(pool[local], []).append(req.needs[covered[n]])
    in_bundle = list(member_needs)
    members = []
    for m in in_bundle:
        info = snapshot.members[m]
        members.append({
            "id": info["id"], "type": info["type"], "kind": info.get("kind"), "name": info["name_th"],
            "name_th": info["name_th"], "name_en": info["name_en"], "province": info["province"],
            "needs": member_needs[m], "distance_km": round(float(dist[m]), 1),
            "chance": {n: round(float(p[m, req.needs.index(n)]), 3) for n in member_needs[m]},
            "reasons": reasons(snapshot, m, member_needs[m], float(dist[m]),
                               [o for o in in_bundle if o != m], coord_idx)})
    assignment = {req.needs[covered[n]]: snapshot.members[pool[local]]["id"] for n, local in enumerate(b["assignment"])}
    labels = {c: (snapshot.ref.category_by_code[c]["label_th"], snapshot.ref.category_by_code[c]["label_en"])
              for c in assignment}
    sector = req.sector or (snapshot.clusters[req.cluster].get("sector") if req.cluster else None)
    return {"rank": rank, "members": members, "assignment": assignment, "objective": round(b["J"], DECIMALS),
            "terms": {k: round(v, DECIMALS) for k, v in b["terms"].items()},
            "success_chance": round(objective.success_chance(b["terms"]["assignment"]), 4),
            "plan": plan.referral_plan(assignment, prerequisites(snapshot), sector, labels)}


def prerequisites(snapshot):
    rules = snapshot.derived.get("prerequisites")
    if rules is None:
        rules = snapshot.derived["prerequisites"] = plan.load_prerequisites(snapshot.ref.data_dir / "prerequisites.csv", tuple(snapshot.categories))
    return rules


def reasons(snapshot, m: int, needs: list[str], dist_km: float, partners: list[int], coord_idx=()) -> list[dict]:
    """Plain reasons, in Thai and English, for putting member m on these needs: distance, capacity left
    this month, completed referrals per need, chance per need, and past joint work with the other members
    of the bundle (and with the members already on the case)."""
    left = int(capacity_left(snapshot)[m])
    out = [{"code": "distance", "value": round(dist_km, 1),
            "th": "อยู่ในจังหวัดเดียวกับสถานประกอบการ" if dist_km < 1 else
            f"ห่างจากจังหวัดของสถานประกอบการ {dist_km:,.0f} กม.",
            "en": "in the enterprise's province" if dist_km < 1 else f"{dist_km:,.0f} km from the enterprise's province"},
           {"code": "capacity_left", "value": left, "th": f"รับงานได้อีก {left} เรื่องในเดือนนี้",
            "en": f"capacity for {left} more cases this month"}]
    for need in needs:
        j = snapshot.category_index[need]
        done, finished = int(snapshot.completed[m, j]), int(snapshot.finished[m, j])
        label = snapshot.ref.category_by_code[need]
        out.append({"code": "track_record", "need": need, "value": done, "finished": finished,
                    "th": f"ส่งต่อสำเร็จด้าน{label['label_th']} {done} จาก {finished} เรื่อง",
                    "en": f"{done} of {finished} referrals in {_in_sentence(label['label_en'])} completed"})
    out.extend(_joint_reasons(snapshot, m, partners, coord_idx))
    return out


def _joint_reasons(snapshot, m, partners, coord_idx) -> list[dict]:
    coord = snapshot.coordination()
    out = []
    others = [(o, False) for o in partners] + [(o, True) for o in coord_idx]
    for o, on_case in others:
        joint = coord.joint(m, o)
        if joint:
            other = snapshot.members[o]["id"]
            note_th, note_en = (" (ทำงานในเรื่องนี้อยู่แล้ว)", " (already on the case)") if on_case else ("", "")
            out.append({"code": "joint_work", "with": other, "value": joint,
                        "th": f"เคยทำงานร่วมกับ {other}{note_th} มาแล้ว {joint} เรื่อง",
                        "en": f"worked with {other}{note_en} on {joint} past referral{'s' if joint > 1 else ''}"})
    if others and not out:
        out.append({"code": "joint_work", "with": None, "value": 0,
                    "th": "ยังไม่เคยทำงานร่วมกับสมาชิกอื่นในชุดนี้", "en": "has not worked with the other members before"})
    return out


def _in_sentence(label: str) -> str:
    """An English category label inside a sentence: lower-case first letter, acronyms kept (GMP, Thai FDA)."""
    first = label.split(" ", 1)[0]
    return label if first.isupper() or first in ("Thai",) else label[0].lower() + label[1:]


def runner_up(winner: dict, loser: dict) -> dict:
    """Why ``winner`` ranks above ``loser``: the gap in J, per term, and a sentence in Thai and English."""
    gap = {k: round(loser["terms"][k] - winner["terms"][k], DECIMALS) for k in winner["terms"]}
    ids_w, ids_l = {m["id"] for m in winner["members"]}, {m["id"] for m in loser["members"]}
    good_th, good_en, bad_th, bad_en = [], [], [], []
    cw, cl = winner["success_chance"], loser["success_chance"]
    nw, nl = len(ids_w), len(ids_l)
    phrases = {
        "assignment": (f"โอกาสสำเร็จทุกด้านสูงกว่า ({cw:.0%} เทียบกับ {cl:.0%})",
                       f"a higher chance that every need is met ({cw:.0%} against {cl:.0%})",
                       f"โอกาสสำเร็จต่ำกว่าเล็กน้อย ({cw:.0%} เทียบกับ {cl:.0%})",
                       f"a slightly lower chance of success ({cw:.0%} against {cl:.0%})"),
        "fixed": (f"ส่งต่อน้อยกว่า ({nw} หน่วยเทียบกับ {nl})", f"fewer hand-offs ({nw} members against {nl})",
                  f"ส่งต่อมากกว่า ({nw} หน่วยเทียบกับ {nl})", f"more hand-offs ({nw} members against {nl})"),
        "coordination": ("สมาชิกเคยทำงานร่วมกันใกล้ชิดกว่า", "members who have worked together more closely",
                         "สมาชิกเคยทำงานร่วมกันน้อยกว่า", "members with less past joint work"),
    }
    for term, (gth, gen, bth, ben) in phrases.items():
        if gap[term] > 1e-6:
            good_th.append(gth)
            good_en.append(gen)
        elif gap[term] < -1e-6:
            bad_th.append(bth)
            bad_en.append(ben)
    by = round(loser["objective"] - winner["objective"], DECIMALS)
    th = f"ชุดที่ {winner['rank']} ดีกว่าชุดที่ {loser['rank']} (ต้นทุนรวม {winner['objective']:.2f} เทียบกับ {loser['objective']:.2f})"
    en = (f"Bundle {winner['rank']} beats bundle {loser['rank']} (objective {winner['objective']:.2f} against "
          f"{loser['objective']:.2f})")
    if good_en:
        th += ": " + "; ".join(good_th)
        en += ": " + "; ".join(good_en)
    if bad_en:
        th += " แม้ว่าจะ" + "; ".join(bad_th)
        en += ", even though it has " + "; ".join(bad_en)
    if not good_en and not bad_en:
        th += ": ต้นทุนเท่ากัน จัดลำดับตามรหัสสมาชิก"
        en += ": equal objective; ranked by member ids"
    return {"rank": loser["rank"], "members": sorted(ids_l), "by": by, "terms": gap,
            "only_in_this": sorted(ids_w - ids_l), "only_in_runner_up": sorted(ids_l - ids_w),
            "success_chance": cl, "th": th, "en": en}


def _explain(snapshot, req, pool, covered, cost, coord_idx, D, certificate) -> dict:
    ids = [snapshot.members[m]["id"] for m in pool]
    needs = [req.needs[j] for j in covered]
    entries = []
    for m, member_id in zip(pool, ids):
        need_costs = {n: float(cost[m, j]) for j, n in enumerate(needs) if np.isfinite(cost[m, j])}
        entries.append({"member": member_id, "fixed_cost": objective.FIXED_COST, "need_costs": need_costs})
    return {"lambda": objective.LAMBDA,
            "formula": ("J = sum of need_costs[need] of the member assigned each need + sum of fixed_cost of the "
                        "bundle's members + lambda * (weight of the minimum spanning tree over the bundle's "
                        "members and coordinate_with, on coordination.distance); need_costs are -ln p"),
            "pool": entries,
            "coordination": {"members": ids + list(req.coordinate_with),
                             "distance": [[float(x) for x in row] for row in D], "far": coordination.FAR},
            "coordinate_with": list(req.coordinate_with),
            "pool_rule": {"per_need": certificate["pool_per_need"],
                          "multi_need": POOL_MULTI * certificate["growth"],
                          "collaborators": POOL_PARTNERS * certificate["growth"]},
            "certificate": certificate}
