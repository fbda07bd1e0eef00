"""Searching the member directory: the query from the page's address, the matching members (over the
engine's snapshot of active members), a count per province for the map, and pages of 20.

Names match in Thai or English, in part, without regard to case or spacing ("สำนักงาน อุตสาหกรรม" finds
"สำนักงานอุตสาหกรรมจังหวัด...").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from matcher.engine.derived import declare

from . import i18n

NAME_KEYS = declare("directory_name_keys")  # the members' names as searched (directory only)
PAGE_SIZE = 20
MAX_NAME = 100
KIND_ALL_AGENCIES, KIND_CONSULTANT = "agency", "consultant"
SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


@dataclass
class DirectoryQuery:
    """What the officer asked for; ``errors`` maps a field to its message (that field is then ignored)."""

    name: str = ""
    need: str | None = None
    province: str | None = None
    kind: str | None = None
    page: int = 1
    errors: dict = field(default_factory=dict)

    def args(self, **changes) -> dict:
        """The query as address parameters (empty ones left out), with ``changes`` applied."""
        values = {"name": self.name, "need": self.need, "province": self.province, "kind": self.kind,
                  "page": self.page if self.page > 1 else None, **changes}
        return {k: v for k, v in values.items() if v not in (None, "", 1)}


def name_key(text: str | None) -> str:
    """A name as compared: case folded, without spaces or invisible joiners."""
    return SPACES.sub("", str(text or "")).casefold()


def parse_query(args, ref) -> DirectoryQuery:
    """The query from request arguments, each value checked against the reference data."""
    query = DirectoryQuery(name=(args.get("name") or "").strip())
    if len(query.name) > MAX_NAME:
        query.errors["name"] = i18n.t("err_dir_name", max=MAX_NAME)
        query.name = ""
    need = (args.get("need") or "").strip()
    if need:
        if need in ref.category_by_code:
            query.need = need
        else:
            query.errors["need"] = i18n.t("err_dir_need", value=need)
    province = (args.get("province") or "").strip()
    if province:
        try:
            query.province = ref.resolve_province(province)
        except Exception:  # Unprocessable: an unknown name
            query.errors["province"] = i18n.t("err_province", value=province)
    kind = (args.get("kind") or "").strip()
    if kind:
        if kind in (KIND_ALL_AGENCIES, KIND_CONSULTANT) or kind in ref.kind_by_code:
            query.kind = kind
        else:
            query.errors["kind"] = i18n.t("err_dir_kind", value=kind)
    page = (args.get("page") or "1").strip()
    if page.isdigit() and int(page) >= 1:
        query.page = int(page)
    else:
        query.errors["page"] = i18n.t("err_dir_page", value=page)
    return query


def _name_keys(snapshot) -> list[tuple[str, str]]:
    return snapshot.derived.get(NAME_KEYS, lambda: [
        (name_key(m["name_th"]), name_key(m.get("name_en"))) for m in snapshot.members])


def matching_members(snapshot, query: DirectoryQuery, *, with_province: bool = True) -> list[int]:
    """Indices (into ``snapshot.members``) of the members that match the query."""
    keep = np.ones(snapshot.number_of_members, dtype=bool)
    if query.need:
        keep &= snapshot.offers[:, snapshot.category_index[query.need]]
    if query.kind == KIND_CONSULTANT:
        keep &= ~snapshot.is_agency
    elif query.kind == KIND_ALL_AGENCIES:
        keep &= snapshot.is_agency
    elif query.kind:
        keep &= np.array([m.get("kind") == query.kind for m in snapshot.members], dtype=bool)
    if with_province and query.province:
        keep &= snapshot.member_province == snapshot.province_index[query.province]
    found = np.flatnonzero(keep).tolist()
    needle = name_key(query.name)
    if needle:
        keys = _name_keys(snapshot)
        found = [i for i in found if needle in keys[i][0] or needle in keys[i][1]]
    return found


def counts_by_province(snapshot, query: DirectoryQuery) -> dict[str, int]:
    """Matching members per province code, leaving the province filter out (for the map)."""
    found = matching_members(snapshot, query, with_province=False)
    return dict(Counter(snapshot.members[i]["province"] for i in found))


def ordered(snapshot, indices: list[int]) -> list[int]:
    """Agencies before consultants, each by name in the page's language (Thai dictionary order)."""
    lang = i18n.current_language()

    def key(i):
        m = snapshot.members[i]
        name = m["name_th"] if lang == "th" else (m.get("name_en") or m["name_th"])
        return (m["type"] != "agency", i18n.thai_sort_key(name) if lang == "th" else name.casefold(), m["id"])
    return sorted(indices, key=key)


def pagination(total: int, page: int, size: int = PAGE_SIZE) -> dict:
    """Where the page is: its number (clamped to the last page), the number of pages, the first and last
    item shown (1-based) and the page numbers to offer (first, last and two either side)."""
    pages = max(1, math.ceil(total / size))
    page = min(max(page, 1), pages)
    first = (page - 1) * size + 1 if total else 0
    last = min(page * size, total)
    offered = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    return {"page": page, "pages": pages, "first": first, "last": last, "total": total, "size": size,
            "offered": offered, "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < pages else None}


def search(snapshot, query: DirectoryQuery) -> dict:
    """The page of results asked for, the pagination and the counts per province."""
    found = ordered(snapshot, matching_members(snapshot, query))
    where = pagination(len(found), query.page)
    shown = found[where["first"] - 1: where["last"]] if found else []
    return {"indices": shown, "pagination": where, "counts": counts_by_province(snapshot, query)}
