"""Match: from an enterprise's needs and province to ranked bundles of members, with reasons.

``match(snapshot, request)`` validates the request (raising :mod:`matcher.errors`), scores every member
for every need, keeps a pool of the best candidates per need, searches the bundles and explains each
member's place in them in Thai and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import bundles, scoring
from .errors import Unprocessable

POOL_SIZE = 4
MAX_NEEDS = 8
MAX_TOP_K = 10


@dataclass
class MatchRequest:
    needs: list[str]
    province: str
    sector: str | None = None
    top_k: int = 3
    exclude: list[str] = field(default_factory=list)


def parse_request(snapshot, body: dict) -> MatchRequest:
    """Validate a match request body; errors name the field and the accepted values."""
    ref = snapshot.ref
    if not isinstance(body, dict):
        raise Unprocessable("The request body must be a JSON object.", field="body")
    needs = ref.check_categories(body.get("needs"), field="needs")
    if not needs:
        raise Unprocessable("needs must name at least one service category.", field="needs",
                            allowed=ref.category_codes)
    if len(needs) > MAX_NEEDS:
        raise Unprocessable(f"At most {MAX_NEEDS} needs per case; got {len(needs)}. Split the case.",
                            field="needs")
    province = ref.resolve_province(body.get("province"), field="province")
    top_k = body.get("top_k", 3)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise Unprocessable(f"top_k must be an integer from 1 to {MAX_TOP_K}; got {top_k!r}.", field="top_k")
    sector = body.get("sector")
    if sector is not None and not isinstance(sector, str):
        raise Unprocessable("sector must be a string, e.g. \"food\".", field="sector")
    exclude = body.get("exclude") or []
    unknown = [m for m in exclude if m not in snapshot.member_index]
    if unknown:
        raise Unprocessable(f"Unknown member id(s) in exclude: {', '.join(map(str, unknown))}.", field="exclude")
    return MatchRequest(needs=needs, province=province, sector=sector, top_k=top_k, exclude=list(exclude))


def match(snapshot, body: dict) -> dict:
    """Ranked bundles for a request body (see ``parse_request``)."""
    req = parse_request(snapshot, body)
    need_idx = [snapshot.category_index[n] for n in req.needs]
    p = scoring.hand_probability(snapshot, req.province, req.sector, need_idx)
    available = snapshot.capacity_left() > 0
    for m in req.exclude:
        available[snapshot.member_index[m]] = False
    p = np.where(available[:, None], p, 0.0)
    covered = [j for j in range(len(need_idx)) if p[:, j].max() > 0]
    uncovered = [req.needs[j] for j in range(len(need_idx)) if j not in covered]
    result = {"province": req.province, "needs": req.needs, "covered": [req.needs[j] for j in covered],
              "uncovered": uncovered, "bundles": [], "scorer": "hand_set",
              "synthetic": bool(snapshot.dataset.get("synthetic"))}
    if not covered:
        return result
    pool_members = sorted({int(m) for j in covered for m in _top(p[:, j], POOL_SIZE)})
    local = {m: i for i, m in enumerate(pool_members)}
    cost = bundles.neg_log(p[np.ix_(pool_members, covered)])
    pool = [[local[int(m)] for m in _top(p[:, j], POOL_SIZE)] for j in covered]
    ids = [snapshot.members[m]["id"] for m in pool_members]
    D = bundles.coordination_distances(snapshot.collaboration, ids)
    found = bundles.search(cost, pool, D, top_k=req.top_k)
    dist = snapshot.distance_km(req.province)
    for rank, b in enumerate(found, start=1):
        result["bundles"].append(_shape_bundle(snapshot, req, b, rank, pool_members, covered, ids, dist, p))
    return result


def _top(column: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest positive entries, best first."""
    positive = np.flatnonzero(column > 0)
    return positive[np.argsort(-column[positive], kind="stable")][:k]


def _shape_bundle(snapshot, req, b, rank, pool_members, covered, ids, dist, p):
    member_needs: dict[int, list[str]] = {}
    for n, local in enumerate(b["assignment"]):
        member_needs.setdefault(pool_members[local], []).append(req.needs[covered[n]])
    in_bundle = list(member_needs)
    members = []
    for m in in_bundle:
        info = snapshot.members[m]
        partners = [snapshot.members[o]["id"] for o in in_bundle if o != m]
        members.append({
            "id": info["id"], "type": info["type"], "kind": info.get("kind"), "name_th": info["name_th"],
            "name_en": info["name_en"], "province": info["province"], "needs": member_needs[m],
            "distance_km": round(float(dist[m]), 1),
            "chance": {n: round(float(p[m, req.needs.index(n)]), 3) for n in member_needs[m]},
            "reasons": reasons(snapshot, m, member_needs[m], float(dist[m]), partners)})
    assignment = {req.needs[covered[n]]: snapshot.members[pool_members[local]]["id"]
                  for n, local in enumerate(b["assignment"])}
    return {"rank": rank, "members": members, "assignment": assignment, "objective": round(b["J"], 6),
            "terms": {k: round(v, 6) for k, v in b["terms"].items()},
            "success_chance": round(bundles.success_chance(b["terms"]["assignment"]), 4)}


def reasons(snapshot, m: int, needs: list[str], dist_km: float, partners: list[str]) -> list[dict]:
    """Plain reasons, in Thai and English, for putting member m on these needs."""
    left = int(snapshot.capacity_left()[m])
    out = [{"code": "distance", "value": round(dist_km, 1),
            "th": "อยู่ในจังหวัดเดียวกัน" if dist_km < 1 else f"ห่างจากจังหวัดของสถานประกอบการ {dist_km:.0f} กม.",
            "en": "in the same province" if dist_km < 1 else f"{dist_km:.0f} km from the enterprise's province"},
           {"code": "capacity_left", "value": left, "th": f"รับงานได้อีก {left} เรื่องในเดือนนี้",
            "en": f"capacity for {left} more cases this month"}]
    for need in needs:
        j = snapshot.category_index[need]
        done = int(snapshot.completed[m, j])
        label = snapshot.ref.category_by_code[need]
        out.append({"code": "track_record", "need": need, "value": done,
                    "th": f"ส่งต่อสำเร็จด้าน{label['label_th']} {done} เรื่อง",
                    "en": f"{done} completed referrals in {label['label_en'].lower()}"})
    me = snapshot.members[m]["id"]
    for other in partners:
        if snapshot.collaboration.has_edge(me, other):
            joint = snapshot.collaboration[me][other]["joint"]
            out.append({"code": "joint_work", "with": other, "value": joint,
                        "th": f"เคยทำงานร่วมกับ {other} มาแล้ว {joint} เรื่อง",
                        "en": f"worked with {other} on {joint} past referrals"})
    return out
