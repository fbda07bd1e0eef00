"""Shaping the engine's typed results for the pages: bundles side by side, the referral plan, why each
bundle comes before the next, the dot map of the members. Every sentence is written by ``matcher.render``;
the snapshot is read, never changed."""

from __future__ import annotations

from matcher import render
from matcher.engine.results import Bundle, MatchResult, MemberLeg
from web.context import get_reference

from . import i18n

COLOURS = ("#0b6e4f", "#b5460f", "#5b3fa6", "#1d5fa8", "#8a6d00")
# Thailand's bounding box (degrees) for the dot map; every province seat lies inside.
LON0, LON1, LAT0, LAT1 = 97.2, 105.8, 5.4, 20.6
MAP_SCALE = 22


def bundle_views(result: MatchResult, snapshot) -> list[dict]:
    """The match result's bundles ready for the page, best first: members with their legs' chances and
    reasons, the bundle's chance and what it means, the plan, and why it comes before the next bundle."""
    lang = i18n.current_language()
    ref = snapshot.ref
    views = []
    for b in result.bundles:
        members = [_member_view(leg, ref, lang) for leg in b.legs]
        views.append({"rank": b.rank, "members": members, "assignment": dict(b.assignment),
                      "success_chance": b.chance, "chance_meaning": render.chance_text(b.chance, lang),
                      "plan": plan_steps(b, members), "joint": _joint_pairs(members, snapshot),
                      "why": render.comparison_text(b.rank, b.comparison, ref, lang) if b.comparison else None})
    return views


def comparison(bundles: list[dict], needs: list[str]) -> dict:
    """The bundles at a glance: for each need, who takes it in each bundle and whether that is the same in
    all of them; then the few numbers that tell them apart (members, past joint work between them, the
    average distance when distances are known, the steps of the plan). Every figure is computed here."""
    rows = []
    for need in needs:
        cells = []
        for b in bundles:
            member = next((m for m in b["members"] if need in m["needs"]), None)
            cells.append({"id": member["id"], "name": member["name"]} if member else None)
        ids = {c["id"] if c else None for c in cells}
        rows.append({"need": need, "cells": cells, "same": len(ids) == 1 and None not in ids})
    facts = [{"key": "cmp_members", "values": [len(b["members"]) for b in bundles]},
             {"key": "cmp_joint", "values": [sum(j["referrals"] for j in b["joint"]) for b in bundles]},
             {"key": "cmp_steps", "values": [len(b["plan"]) for b in bundles]}]
    distances = [[m["distance_km"] for m in b["members"]] for b in bundles]
    if all(d and all(x is not None for x in d) for d in distances):
        facts.insert(2, {"key": "cmp_distance", "values": [round(sum(d) / len(d)) for d in distances]})
    for fact in facts:
        fact["same"] = len(set(fact["values"])) == 1
    return {"rows": rows, "facts": facts, "same": [r for r in rows if r["same"]],
            "differ": [r for r in rows if not r["same"]]}


def order_note() -> str:
    """The rule the bundles are listed by."""
    return render.order_text(i18n.current_language())


def _member_view(leg: MemberLeg, ref, lang: str) -> dict:
    """One member of a bundle. Its past joint work is not among its reasons: the bundle lists each pair
    once, by the organisations' names (``_joint_pairs``)."""
    capacity = next((r.params["legs"] for r in leg.reasons if r.code == "capacity_left"), None)
    joint = [{"with": str(r.params["with"]), "value": r.params["referrals"]} for r in leg.reasons
             if r.code == "joint_work"]
    return {"id": leg.member, "name": i18n.localized({"name_th": leg.name_th, "name_en": leg.name_en}),
            "type": leg.type, "kind": leg.kind, "province": leg.province, "needs": list(leg.needs),
            "distance_km": leg.distance_km, "capacity_left": capacity, "joint": joint, "chance": leg.chance,
            "reasons": [render.reason_text(r, ref, lang) for r in leg.reasons
                        if r.code not in ("joint_work", "no_joint_work")]}


def member_display_name(member_id: str, snapshot) -> str:
    i = snapshot.member_index.get(member_id)
    return i18n.localized(snapshot.members[i]) if i is not None else member_id


def _joint_pairs(members: list[dict], snapshot) -> list[dict]:
    """Each pair of organisations that worked together before, once, by name, with how many referrals."""
    seen, out = set(), []
    for m in members:
        for j in m["joint"]:
            pair = tuple(sorted((m["id"], j["with"])))
            if pair not in seen:
                seen.add(pair)
                out.append({"a": m["name"], "b": member_display_name(j["with"], snapshot), "referrals": j["value"],
                            "text": i18n.t("joint_pair", a=m["name"], b=member_display_name(j["with"], snapshot),
                                           n=j["value"])})
    return out


def plan_steps(bundle: Bundle, members: list[dict]) -> list[dict]:
    """The bundle's referral plan as steps ``[{"step": n, "legs": [{"member", "name", "needs"}]}]``."""
    names = {m["id"]: m["name"] for m in members}
    return [{"step": s.step, "legs": [{"member": w.member, "name": names.get(w.member, w.member),
                                       "needs": list(w.needs)} for w in s.work]} for s in bundle.plan.steps]


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
