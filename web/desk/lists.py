"""The desk's list of referrals and a member's inbox: search and filters (text, status, need, province,
dates, member), 20 a page with a pager that says where you are, rows that become cards on a phone."""

from __future__ import annotations

from datetime import date

from flask import request, url_for

from matcher.errors import RismepError
from matcher.lifecycle import REFERRAL_STATUSES
from web.context import get_reference, get_snapshot

from . import i18n, services
from .common import current_principal, current_user, page, whole_number
from .directory_search import pagination

PAGE_SIZE = 20
FILTER_KEYS = ("q", "status", "need", "province", "from", "to", "member")


def list_page(template: str, endpoint: str):
    """The page of the list: the filters as typed (a refused one named on its field, never a 500)."""
    args = {k: (request.args.get(k) or "").strip()[:200] for k in FILTER_KEYS}
    errors = {}
    filters = _filters(args, errors)
    wanted = whole_number(request.args.get("page")) or 1
    result = _fetch(filters, wanted, errors)
    where = pagination(result["total"], wanted, PAGE_SIZE)
    if where["page"] != wanted and result["total"]:
        result = _fetch(filters, where["page"], errors)
    kept = {k: v for k, v in args.items() if v}
    urls = {n: url_for(endpoint, **kept, page=n) for n in where["offered"]}
    for key in ("previous", "next"):
        if where[key]:
            urls[key] = url_for(endpoint, **kept, page=where[key])
    return page(template, 422 if errors else 200, result=result, args=args, errors=errors, where=where,
                page_urls=urls, statuses=REFERRAL_STATUSES, choices=_choices(), member_name=member_name,
                filtered=bool(kept))


def _filters(args: dict, errors: dict) -> dict:
    ref = get_reference()
    analyst = (current_user() or {}).get("role") == "analyst"  # no enterprise names to search in
    filters = {"status": args["status"] or None, "text": None if analyst else args["q"] or None}
    if filters["status"] and filters["status"] not in REFERRAL_STATUSES:
        errors["status"] = i18n.t("err_choice", value=args["status"])
        filters["status"] = None
    if args["need"]:
        if args["need"] in ref.category_by_code:
            filters["need"] = args["need"]
        else:
            errors["need"] = i18n.t("err_choice", value=args["need"])
    if args["province"]:
        if args["province"] in ref.province_by_code:
            filters["province"] = args["province"]
        else:
            errors["province"] = i18n.t("err_province", value=args["province"])
    for key in ("from", "to"):
        if args[key]:
            try:
                filters[key] = date.fromisoformat(args[key]).isoformat()
            except ValueError:
                errors[key] = i18n.t("err_date", value=args[key])
    if args["member"]:
        filters["members"] = members_named(args["member"])
    return filters


def _fetch(filters: dict, page_no: int, errors: dict) -> dict:
    try:
        return services.list_referrals(current_principal(), {**filters, "limit": PAGE_SIZE,
                                                             "offset": (page_no - 1) * PAGE_SIZE})
    except RismepError as error:
        if error.status != 422:
            raise
        errors[error.field or "q"] = i18n.message(error)
        return {"items": [], "total": 0, "limit": PAGE_SIZE, "offset": 0}


def members_named(text: str) -> list[str]:
    """The ids of the members whose Thai or English name contains ``text`` (case and spaces ignored)."""
    wanted = "".join(text.split()).casefold()
    out = []
    for m in get_snapshot().members:
        names = ("".join((m.get("name_th") or "").split()) + "|" + "".join((m.get("name_en") or "").split())).casefold()
        if wanted and wanted in names:
            out.append(m["id"])
    return out


def member_name(member_id: str) -> str:
    snapshot = get_snapshot()
    i = snapshot.member_index.get(member_id)
    return i18n.localized(snapshot.members[i]) if i is not None else member_id


def province_choices() -> list[dict]:
    """The provinces for a select, by name in the page's language (Thai in dictionary order)."""
    lang = i18n.current_language()
    return sorted(({"code": p["code"], "label": i18n.localized(p)} for p in get_reference().provinces),
                  key=lambda o: i18n.thai_sort_key(o["label"]) if lang == "th" else o["label"])


def actor_name(actor: str | None) -> str:
    """Who did something, as people call them: a member by name, a desk by its province ("ศูนย์บริการ
    จังหวัดเชียงใหม่"), an analyst or administrator by role; never an internal code."""
    actor = actor or ""
    if actor.startswith("desk-"):
        province = get_reference().province_by_code.get(actor[len("desk-"):])
        return i18n.t("desk_of", province=i18n.localized(province)) if province else i18n.t("a_desk")
    role = actor.split(":", 1)[0]
    if ":" in actor and role in i18n.ROLE_KEYS:
        return i18n.t(i18n.ROLE_KEYS[role])
    return member_name(actor) if actor else ""


def _choices() -> dict:
    ref = get_reference()
    return {"needs": [{"code": c["code"], "label": i18n.localized(c, "label")} for c in ref.categories],
            "provinces": province_choices()}
