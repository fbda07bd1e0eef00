"""Shaping members for the directory's pages: result cards and the member page (what it offers, where and
when to reach it, this month's workload, its work so far). Plain data in, plain data out."""

from __future__ import annotations

from matcher.errors import NotFound
from matcher.hours import hours_lines
from matcher.store import directory, history
from web.context import get_reference

from . import i18n

SHOWN_SERVICES = 4
SPECIALISATION_WORDS = ((0.85, "spec_high"), (0.7, "spec_good"), (0.5, "spec_some"), (0.0, "spec_basic"))


def specialisation_words(value: float) -> str:
    """How specialised a member is in a category, in words (0.85 and up: highly specialised, ...)."""
    return i18n.t(next(key for low, key in SPECIALISATION_WORDS if float(value) >= low))


def kind_label(member: dict) -> str:
    """The kind of agency in words, or "consultant"."""
    if member.get("type") == "consultant":
        return i18n.t("mem_consultant")
    return i18n.localized(get_reference().kind_by_code.get(member.get("kind")))


def offered_services(snapshot, i: int) -> list[str]:
    """The categories member ``i`` offers, most specialised first (ties in taxonomy order)."""
    row = snapshot.specialisation[i]
    cats = [j for j in range(len(snapshot.categories)) if snapshot.offers[i, j]]
    return [snapshot.categories[j] for j in sorted(cats, key=lambda j: (-row[j], j))]


def capacity_of(snapshot, i: int) -> dict:
    """This month's capacity of member ``i``: open legs (used), the monthly total and what is left."""
    total, used = int(snapshot.capacity_total[i]), int(snapshot.load[i])
    return {"used": used, "total": total, "left": max(total - used, 0)}


def result_cards(snapshot, indices: list[int], need: str | None = None) -> list[dict]:
    """One card per member: name, kind, province, its first services (the one searched for first), capacity
    left this month."""
    ref = get_reference()
    cards = []
    for i in indices:
        m = snapshot.members[i]
        services = offered_services(snapshot, i)
        if need in services:
            services.remove(need)
            services.insert(0, need)
        cards.append({"id": m["id"], "name": i18n.localized(m), "kind": kind_label(m), "type": m["type"],
                      "province": i18n.localized(ref.province_by_code[m["province"]]),
                      "services": [i18n.localized(ref.category_by_code[c], "label") for c in services[:SHOWN_SERVICES]],
                      "more_services": max(len(services) - SHOWN_SERVICES, 0), "capacity": capacity_of(snapshot, i)})
    return cards


def stored_member(db, member_id: str) -> dict:
    """The member as stored, or a 404 that says so in the page's language."""
    try:
        return directory.get_member(db, member_id)
    except NotFound:
        raise NotFound(i18n.t("err_member", value=member_id), field="member_id") from None


def member_view(db, snapshot, member_id: str) -> dict:
    """Everything the member page shows, computed from the store and the snapshot."""
    ref = get_reference()
    m = stored_member(db, member_id)
    i = snapshot.member_index.get(member_id)
    offers = sorted(m["offerings"], key=lambda o: (-o["specialisation"], ref.category_codes.index(o["category"])))
    view = {"id": m["id"], "name": i18n.localized(m), "type": m["type"], "kind": kind_label(m),
            "province": i18n.localized(ref.province_by_code[m["province"]]), "province_code": m["province"],
            "active": m["active"] and i is not None, "synthetic": m["synthetic"],
            "offers": [{"code": o["category"], "label": i18n.localized(ref.category_by_code[o["category"]], "label"),
                        "words": specialisation_words(o["specialisation"]), "capacity": o["capacity_month"]}
                       for o in offers],
            "capacity": capacity_of(snapshot, i) if i is not None else None}
    if m["type"] == "agency":
        view["contact"] = {"address": m.get("address"), "phone": m.get("phone"), "website": m.get("website"),
                           "hours": hours_lines(m.get("hours"), i18n.current_language())}
        view["work"] = work_view(history.member_work(db, member_id))
    else:
        view["affiliation"] = _affiliation(db, snapshot, m.get("affiliation"))
        view["years"] = m.get("years_experience")
    return view


def _affiliation(db, snapshot, agency_id: str | None) -> dict | None:
    if not agency_id:
        return None
    i = snapshot.member_index.get(agency_id)
    row = snapshot.members[i] if i is not None else stored_member(db, agency_id)
    return {"id": agency_id, "name": i18n.localized(row)}


def work_view(work: dict) -> dict:
    """The member's work in numbers, with the completion rate where anything was worked to the end."""
    ref = get_reference()

    def with_rate(row: dict) -> dict:
        finished = row["finished"]
        return dict(row, rate=(row["completed"] / finished) if finished else None)
    rows = [dict(with_rate(r), label=i18n.localized(ref.category_by_code.get(r["category"]), "label") or r["category"])
            for r in work["by_category"]]
    multi = sum(r["received"] for r in rows) > work["totals"]["received"]
    return {"totals": with_rate(work["totals"]), "by_category": rows, "multi_counted": multi}
