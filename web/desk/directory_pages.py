"""The member directory (search by service, province, kind and name; a tile map of where the matches are)
and each member's page. Read-only, for every signed-in role."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import request, url_for

from web.context import get_db, get_reference, get_snapshot

from . import bp, i18n
from .common import page, requires
from .directory_search import KIND_ALL_AGENCIES, KIND_CONSULTANT, parse_query, search
from .directory_views import member_view, result_cards
from .tilemap import tile_map


@bp.get("/desk/directory")
@requires("desk", "member", "analyst")
def directory():
    """Members matching the filters, 20 a page, and the map of matches per province."""
    ref = get_reference()
    query = parse_query(request.args, ref)
    snapshot = get_snapshot()
    found = search(snapshot, query)
    where = found["pagination"]
    query.page = where["page"]
    members_map = tile_map(found["counts"], selected=query.province,
                           label=lambda name, n: i18n.t("dir_map_tile", name=name, n=n),
                           href=lambda code: url_for("desk.directory", **query.args(province=code, page=None)))
    page_urls = {n: url_for("desk.directory", **query.args(page=n)) for n in where["offered"]}
    for key in ("previous", "next"):
        if where[key]:
            page_urls[key] = url_for("desk.directory", **query.args(page=where[key]))
    cards = result_cards(snapshot, found["indices"], query.need)
    back = urlencode(query.args())
    for card in cards:
        card["url"] = url_for("desk.directory_member", member_id=card["id"], back=back or None)
    return page("desk/directory.html", 422 if query.errors else 200, query=query, errors=query.errors,
                cards=cards, where=where, page_urls=page_urls, members_map=members_map, choices=filter_choices(ref))


def filter_choices(ref) -> dict:
    """The filters' options in the page's language (services in taxonomy order, provinces and kinds by name)."""
    lang = i18n.current_language()

    def by_name(rows, field="name"):
        return sorted(({"code": r["code"], "label": i18n.localized(r, field)} for r in rows),
                      key=lambda o: i18n.thai_sort_key(o["label"]) if lang == "th" else o["label"].casefold())
    return {"needs": [{"code": c["code"], "label": i18n.localized(c, "label")} for c in ref.categories],
            "provinces": by_name(ref.provinces), "agency_kinds": by_name(ref.agency_kinds),
            "all_agencies": KIND_ALL_AGENCIES, "consultant": KIND_CONSULTANT}


@bp.get("/desk/directory/<member_id>")
@requires("desk", "member", "analyst")
def directory_member(member_id):
    """One member: what it offers, where and when to reach it, this month's workload and its work so far."""
    view = member_view(get_db(), get_snapshot(), member_id)
    back = {k: v for k, v in parse_qsl(request.args.get("back") or "") if k in BACK_KEYS}
    return page("desk/member.html", member=view, back_url=url_for("desk.directory", **back))


BACK_KEYS = ("name", "need", "province", "kind", "page")
