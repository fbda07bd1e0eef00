"""The analyst's drill-down from a heatmap cell: the members who offer the service in the province and in
its hub area, and the demand behind the cell (referrals of the province that asked for it, by status),
with a link to those referrals in the analyst's list (no personal data)."""

from __future__ import annotations

from flask import url_for

from matcher.errors import NotFound
from web.context import get_reference, get_snapshot

from . import bp, i18n, services
from .common import current_principal, page, requires


@bp.get("/desk/dashboard/cell/<province>/<need>")
@requires("analyst")
def dashboard_cell(province, need):
    ref = get_reference()
    if province not in ref.province_by_code:
        raise NotFound(i18n.t("err_province", value=province), field="province")
    if need not in ref.category_by_code:
        raise NotFound(i18n.t("err_choice", value=need), field="need")
    here, hub = members_offering(province, need)
    demand = services.list_referrals(current_principal(), {"province": province, "need": need, "limit": 1})
    by_status = demand["summary"]["referrals_by_status"]
    open_ = sum(n for s, n in by_status.items() if s != "completed")  # not every need met yet
    return page("desk/dashboard_cell.html", province=province, need=need, here=here, hub=hub,
                total=demand["total"], by_status=sorted(by_status.items(), key=lambda kv: -kv[1]), open_=open_,
                list_url=url_for("desk.referrals", province=province, need=need),
                directory_url=url_for("desk.directory", province=province, need=need))


def members_offering(province: str, need: str) -> tuple[list[dict], list[dict]]:
    """Members offering ``need`` in ``province``, and those elsewhere in its hub area (by name)."""
    snapshot = get_snapshot()
    ref = get_reference()
    j = snapshot.category_index[need]
    hub = ref.province_by_code[province]["hub_code"]
    here, near = [], []
    for i, member in enumerate(snapshot.members):
        if not snapshot.offers[i, j]:
            continue
        row = {"id": member["id"], "name": i18n.localized(member), "province": member.get("province")}
        if member.get("province") == province:
            here.append(row)
        elif ref.province_by_code.get(member.get("province"), {}).get("hub_code") == hub:
            near.append(row)
    key = (lambda r: i18n.thai_sort_key(r["name"])) if i18n.current_language() == "th" else (lambda r: r["name"])
    return sorted(here, key=key), sorted(near, key=key)
