"""Shaping follow-up data for the pages: each need with its status and what the desk may do, the plan in
steps with the organisations on it, the slip's steps, the queue's groups. Pure functions of plain data."""

from __future__ import annotations

from matcher import lifecycle

from . import i18n


def need_rows(referral: dict, can_close: bool) -> list[dict]:
    """The case's needs for the referral page: label, step, status, why, and the close/re-open actions."""
    rows = []
    for need in referral.get("needs", []):
        rows.append({"need": need["need"], "step": need["step"], "status": need["status"],
                     "detail": i18n.detail_label(need["detail"]), "note": need.get("closed_note"),
                     "can_close": can_close and need["status"] not in ("met", "closed_unmet"),
                     "can_reopen": can_close and need["status"] == "closed_unmet"})
    return rows


def plan_rows(referral: dict, organisations: dict, principal: dict) -> list[dict]:
    """The plan in steps, each leg with its organisation (agencies' public address and phone; consultants
    are individuals: name only), its status, and whether it is the viewer's own."""
    legs = {leg["id"]: leg for leg in referral.get("legs", [])}
    out = []
    for step in referral.get("plan", []):
        rows = []
        for leg_id in step["legs"]:
            leg = legs.get(leg_id)
            if leg is None:
                continue
            org = organisations.get(leg["member"], {"id": leg["member"]})
            rows.append({"id": leg_id, "member": leg["member"], "name": i18n.localized(org) or leg["member"],
                         "type": org.get("type"), "phone": org.get("phone") if org.get("type") == "agency" else None,
                         "address": org.get("address") if org.get("type") == "agency" else None,
                         "needs": leg["needs"], "status": leg["status"],
                         "own": principal.get("role") == "member" and leg["member"] == principal.get("member_id")})
        out.append({"step": step["step"], "needs": step["needs"], "legs": rows})
    return out


def waits_text(leg: dict) -> str:
    """What a waiting leg waits for, in words."""
    if leg.get("status") != "waiting" or not leg.get("waits_for"):
        return ""
    from .common import category_label
    return i18n.t("plan_step_waits", needs=", ".join(category_label(n) for n in leg["waits_for"]))


def unmet_text(referral: dict) -> str:
    from .common import category_label
    if not referral.get("unmet"):
        return ""
    return i18n.t("unmet_list", needs=", ".join(category_label(n) for n in referral["unmet"]))


def can_record_satisfaction(principal: dict, referral: dict) -> bool:
    return principal.get("role") in ("desk", "admin") and referral["status"] in lifecycle.CLOSED_REFERRAL_STATUSES


def queue_groups(queue: dict) -> list[dict]:
    """The queue's items in the desk's working groups, each with its heading."""
    keys = {"rematch": "queue_rematch", "not_accepted": "queue_not_accepted", "past_due": "queue_past_due",
            "unassigned": "queue_unassigned"}
    return [{"group": g, "title": i18n.t(k), "items": [i for i in queue["items"] if i["group"] == g]}
            for g, k in keys.items()]


def notification_text(item: dict) -> str:
    """One line for a notification in the desk's list."""
    from .common import category_label
    needs = ", ".join(category_label(n) for n in item["data"].get("needs", []))
    return f"{i18n.t('kind_' + item['kind'])}: {needs}" if needs else i18n.t("kind_" + item["kind"])
