"""Shaping engine results for the pages: bundles side by side, the referral plan, why bundle 1 won, the
dot map of the members. Pure functions of plain data (the snapshot is read, never changed)."""

from __future__ import annotations

from web.context import get_reference

from . import i18n

COLOURS = ("#0b6e4f", "#b5460f", "#5b3fa6", "#1d5fa8", "#8a6d00")
# Thailand's bounding box (degrees) for the dot map; every province seat lies inside.
LON0, LON1, LAT0, LAT1 = 97.2, 105.8, 5.4, 20.6
MAP_SCALE = 22


def bundle_views(result: dict, snapshot) -> list[dict]:
    """The match result's bundles ready for the page, best first, with the plan and the comparison."""
    views = [_bundle_view(b, snapshot) for b in result.get("bundles", [])]
    if len(views) >= 2:
        views[0]["why"] = why_first(result["bundles"][0], result["bundles"][1], views[0], views[1])
    return views


def _bundle_view(bundle: dict, snapshot) -> dict:
    members = [_member_view(m, snapshot) for m in bundle.get("members", [])]
    return {"rank": bundle.get("rank"), "members": members, "assignment": bundle.get("assignment", {}),
            "success_chance": bundle.get("success_chance"), "objective": bundle.get("objective"),
            "terms": bundle.get("terms", {}), "plan": plan_steps(bundle, members), "why": None,
            "joint": _joint_pairs(members)}


def _member_view(member: dict, snapshot) -> dict:
    reasons = member.get("reasons", [])
    capacity = next((r.get("value") for r in reasons if r.get("code") == "capacity_left"), None)
    if capacity is None and member.get("id") in snapshot.member_index:
        capacity = int(snapshot.capacity_left()[snapshot.member_index[member["id"]]])
    joint = [{"with": r.get("with"), "value": r.get("value"), "text": _localized_reason(r)}
             for r in reasons if r.get("code") == "joint_work" and r.get("with") and (r.get("value") or 0) > 0]
    chance = member.get("chance")
    return {"id": member["id"], "name": i18n.localized(member), "type": member.get("type"),
            "kind": member.get("kind"), "province": member.get("province"), "needs": member.get("needs", []),
            "distance_km": member.get("distance_km"), "capacity_left": capacity, "joint": joint,
            "chance": chance if isinstance(chance, dict) else {},
            "reasons": [_localized_reason(r) for r in reasons]}


def _localized_reason(reason: dict) -> str:
    return reason.get(i18n.current_language()) or reason.get("th") or reason.get("en") or reason.get("code", "")


def _joint_pairs(members: list[dict]) -> list[str]:
    seen, out = set(), []
    for m in members:
        for j in m["joint"]:
            pair = tuple(sorted((m["id"], str(j["with"]))))
            if pair not in seen:
                seen.add(pair)
                out.append(j["text"])
    return out


def plan_steps(bundle: dict, members: list[dict]) -> list[dict]:
    """The ordered referral plan as steps ``[{"step": n, "legs": [{"member", "name", "needs"}]}]``.

    Uses the engine's ``plan`` (a list of legs or of steps) when the bundle has one; otherwise every
    member starts at once (one step, in parallel).
    """
    names = {m["id"]: m["name"] for m in members}
    raw = bundle.get("plan")
    legs = []
    if isinstance(raw, dict):
        raw = raw.get("steps") or raw.get("legs") or []
    for i, item in enumerate(raw or []):
        legs.extend(_plan_legs(item, i + 1))
    if not legs:
        legs = [{"step": 1, "member": m["id"], "needs": m["needs"]} for m in members]
    steps: dict[int, list] = {}
    for leg in legs:
        steps.setdefault(int(leg["step"]), []).append(
            {"member": leg["member"], "name": names.get(leg["member"], leg["member"]), "needs": leg["needs"],
             "note": leg.get("note", "")})
    return [{"step": n, "legs": steps[n]} for n in sorted(steps)]


def _plan_legs(item, position: int) -> list[dict]:
    if not isinstance(item, dict):
        return []
    step = item.get("step") or item.get("order") or item.get("stage") or position
    nested = item.get("work") or item.get("legs") or item.get("members")
    if isinstance(nested, list) and nested and isinstance(nested[0], dict):
        return [dict(leg, step=leg.get("step") or step, member=_member_id(leg),
                     needs=leg.get("needs", []), note=_localized_reason(leg) if leg.get("th") else "")
                for leg in nested]
    if isinstance(nested, list):
        return [{"step": step, "member": m, "needs": item.get("needs", [])} for m in nested]
    member = _member_id(item)
    note = item.get(i18n.current_language()) or item.get("th") or ""
    return [{"step": step, "member": member, "needs": item.get("needs", []), "note": note}] if member else []


def _member_id(item: dict):
    return item.get("member") or item.get("member_id") or item.get("id")


def why_first(first: dict, second: dict, v1: dict, v2: dict) -> str:
    """Why bundle 1 ranks above bundle 2: the engine's own words when it gives them, else the terms."""
    lang = i18n.current_language()
    for key in ("why", "beat", "beats", "explanation", "why_first", "versus_next"):
        given = first.get(key)
        if isinstance(given, dict):
            text = given.get(lang) or given.get("th") or given.get("en")
            if text:
                return text
        if isinstance(given, str) and given:
            return given
    return compare_terms(first, second, len(v1["members"]), len(v2["members"]))


def compare_terms(first: dict, second: dict, n1: int, n2: int) -> str:
    """A sentence from the objective's terms: chance, number of hand-offs, coordination (lower J wins)."""
    th, en = [], []
    c1, c2 = first.get("success_chance") or 0, second.get("success_chance") or 0
    if c1 > c2:
        th.append(f"โอกาสสำเร็จสูงกว่า ({100 * c1:.0f}% เทียบกับ {100 * c2:.0f}%)")
        en.append(f"a higher chance of success ({100 * c1:.0f}% vs {100 * c2:.0f}%)")
    if n1 < n2:
        th.append(f"ส่งต่อน้อยกว่า ({n1} เทียบกับ {n2} สมาชิก)")
        en.append(f"fewer hand-offs ({n1} vs {n2} members)")
    k1, k2 = (first.get("terms") or {}).get("coordination"), (second.get("terms") or {}).get("coordination")
    if k1 is not None and k2 is not None and k1 < k2:
        th.append("สมาชิกเคยทำงานร่วมกันใกล้ชิดกว่า")
        en.append("members who have worked together more closely")
    j1, j2 = first.get("objective"), second.get("objective")
    total = (f" (J {j1:.2f} < {j2:.2f})" if isinstance(j1, (int, float)) and isinstance(j2, (int, float)) else "")
    if lang_is_thai():
        return "ชุดที่ 1 ดีกว่าเพราะ" + (" ".join(th) if th else "คะแนนรวมต่ำกว่า") + total
    return "Bundle 1 wins on " + (", ".join(en) if en else "a lower total cost") + total


def lang_is_thai() -> bool:
    return i18n.current_language() == "th"


def chosen_members(assignment: dict, snapshot) -> list[dict]:
    """The members of a chosen assignment ``{need: member id}`` with their names and needs."""
    out: dict[str, dict] = {}
    for need, member_id in assignment.items():
        if member_id not in out:
            i = snapshot.member_index.get(member_id)
            info = snapshot.members[i] if i is not None else {"id": member_id}
            out[member_id] = {"id": member_id, "name": i18n.localized(info) or member_id,
                              "province": info.get("province"), "type": info.get("type"), "needs": []}
        out[member_id]["needs"].append(need)
    return list(out.values())


def members_map(province: str, bundles: list[dict]) -> dict:
    """An SVG-ready dot map: every province seat, the enterprise's province, each bundle's members."""
    ref = get_reference()

    def xy(code: str) -> tuple[float, float]:
        p = ref.province_by_code[code]
        return round((p["lon"] - LON0) * MAP_SCALE, 1), round((LAT1 - p["lat"]) * MAP_SCALE, 1)

    dots = [{"x": xy(p["code"])[0], "y": xy(p["code"])[1], "name": i18n.localized(p)} for p in ref.provinces]
    marks = []
    for n, bundle in enumerate(bundles):
        for k, m in enumerate(bundle["members"]):
            if m.get("province") in ref.province_by_code:
                x, y = xy(m["province"])
                marks.append({"x": round(x + 3.2 * (n - 1), 1), "y": round(y + 2.5 * k - 2, 1),
                              "colour": COLOURS[n % len(COLOURS)], "rank": bundle["rank"],
                              "label": f"{m['name']} ({i18n.localized(ref.province_by_code[m['province']])})"})
    home = dict(zip(("x", "y"), xy(province)), name=i18n.localized(ref.province_by_code[province]))
    return {"width": round((LON1 - LON0) * MAP_SCALE), "height": round((LAT1 - LAT0) * MAP_SCALE), "dots": dots,
            "marks": marks, "home": home, "colours": COLOURS}
