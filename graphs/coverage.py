"""Coverage of the service categories by province: supply, demand and the gaps between them.

Plain functions of rows (as returned by ``matcher.store``); no SQL. Three nested areas around a province:
the province itself, its **hub area** (every province that shares its RISMEP hub, the hub province
included) and its region. A need is **in reach** when a member offering it sits in the province's hub
area. A cell of the coverage matrix is one (province, category) pair.

Gap kinds (see ``gaps``):

- ``no_member_in_reach``: cases needed the category but no member offers it in the hub area;
- ``demand_exceeds_capacity``: in the busiest month more cases needed it than the monthly capacity in
  reach (the province's members, or the hub area's when the province has none);
- ``declined_for_capacity``: legs for the province's cases were declined for lack of capacity;
- ``no_member_in_province``: cases needed it and it is in reach, but only from another province of the
  hub area (the enterprise travels or waits; a hole for the province to fill).

The heatmap's **depth** of a cell (``coverage_grid``): 0 nobody in reach, 1 only elsewhere in the hub
area, 2 exactly one member in the province (a single point of failure), 3 two to four, 4 five or more.
"""

from __future__ import annotations

from collections import defaultdict

LEVELS = ("province", "hub", "region", "none")
GAP_KINDS = ("no_member_in_reach", "demand_exceeds_capacity", "declined_for_capacity", "no_member_in_province")
DEPTHS = {0: "no member in reach", 1: "only elsewhere in the hub area", 2: "one member in the province",
          3: "2-4 members in the province", 4: "5 or more members in the province"}


def areas_of(provinces) -> dict[str, dict]:
    """Province code -> ``{"hub": hub code, "region": region}``. O(P)."""
    return {p["code"]: {"hub": p["hub_code"], "region": p["region"]} for p in provinces}


def supply(members, provinces) -> dict[tuple[str, str, str], dict]:
    """(level, area, category) -> ``{"members": sorted ids, "capacity": monthly capacity}``.

    ``level`` is ``province`` (area = province code), ``hub`` (area = hub code) or ``region``. Members in
    provinces missing from ``provinces`` are ignored. O(sum of offerings).
    """
    area = areas_of(provinces)
    out: dict = defaultdict(lambda: {"members": [], "capacity": 0.0})
    for m in members:
        where = area.get(m["province"])
        if where is None:
            continue
        for o in m.get("offerings", ()):
            for key in (("province", m["province"]), ("hub", where["hub"]), ("region", where["region"])):
                cell = out[(*key, o["category"])]
                cell["members"].append(m["id"])
                cell["capacity"] += float(o["capacity_month"])
    for cell in out.values():
        cell["members"].sort()
    return dict(out)


def _index(rows, *keys) -> dict:
    return {tuple(r[k] for k in keys): r for r in rows}


def peak_months(monthly_rows) -> dict[tuple[str, str], int]:
    """(province, category) -> cases in its busiest month. O(rows)."""
    peak: dict = defaultdict(int)
    for r in monthly_rows:
        key = (r["province"], r["category"])
        peak[key] = max(peak[key], int(r["cases"]))
    return dict(peak)


def coverage_matrix(members, provinces, categories, *, case_rows=(), leg_rows=(), monthly_rows=(),
                    months: float = 1.0) -> list[dict]:
    """One cell per (province, category), provinces then categories in the given order.

    ``categories`` are codes. Demand rows come from ``matcher.store.analysis`` (``case_demand``,
    ``leg_demand``, ``monthly_case_demand``); ``months`` is the length of the period, to turn cases into
    a monthly rate. Each cell: supply by level (``members_*``, ``capacity_*``), ``level`` (the nearest
    level with a member), demand (``cases``, ``unreferred``, ``legs``, ``completed``,
    ``declined_capacity``, ``demand_month``, ``peak_month``) and ``capacity_reach``. O(P * C + offerings).
    """
    sup = supply(members, provinces)
    cases, legs, peak = _index(case_rows, "province", "category"), _index(leg_rows, "province", "category"), \
        peak_months(monthly_rows)
    empty = {"members": [], "capacity": 0.0}
    cells = []
    for p in provinces:
        for c in categories:
            here = {lvl: sup.get((lvl, area, c), empty) for lvl, area in
                    (("province", p["code"]), ("hub", p["hub_code"]), ("region", p["region"]))}
            case, leg = cases.get((p["code"], c), {}), legs.get((p["code"], c), {})
            cell = {"province": p["code"], "category": c, "hub": p["hub_code"], "region": p["region"]}
            for lvl, s in here.items():
                cell[f"members_{lvl}"] = len(s["members"])
                cell[f"capacity_{lvl}"] = s["capacity"]
            cell["level"] = next((lvl for lvl in LEVELS[:3] if here[lvl]["members"]), "none")
            cell["capacity_reach"] = here["province"]["capacity"] if here["province"]["members"] else \
                here["hub"]["capacity"]
            cell.update(cases=int(case.get("cases") or 0), unreferred=int(case.get("unreferred") or 0),
                        legs=int(leg.get("legs") or 0), completed=int(leg.get("completed") or 0),
                        declined_capacity=int(leg.get("declined_capacity") or 0),
                        peak_month=int(peak.get((p["code"], c), 0)))
            cell["demand_month"] = round(cell["cases"] / max(months, 1e-9), 3)
            cells.append(cell)
    return cells


def gap_kinds_of(cell: dict) -> list[str]:
    """The gap kinds a cell shows (possibly none). O(1)."""
    kinds = []
    if cell["cases"] > 0 and cell["members_hub"] == 0:
        kinds.append("no_member_in_reach")
    if cell["members_hub"] > 0 and cell["peak_month"] > cell["capacity_reach"]:
        kinds.append("demand_exceeds_capacity")
    if cell["declined_capacity"] > 0:
        kinds.append("declined_for_capacity")
    if cell["cases"] > 0 and cell["members_province"] == 0 and cell["members_hub"] > 0:
        kinds.append("no_member_in_province")
    return kinds


def gaps(cells, *, province_names=None, category_labels=None) -> list[dict]:
    """Every gap in the cells, worst first (by kind, then cases), each with a reason in Thai and English.

    ``province_names``: code -> ``{"name_en", "name_th"}``; ``category_labels``: code ->
    ``{"label_en", "label_th"}`` (codes are used where missing). O(cells log cells).
    """
    province_names, category_labels = province_names or {}, category_labels or {}
    out = []
    for cell in cells:
        for kind in gap_kinds_of(cell):
            prov = province_names.get(cell["province"], {})
            cat = category_labels.get(cell["category"], {})
            out.append({"kind": kind, "province": cell["province"], "category": cell["category"],
                        "hub": cell["hub"], "region": cell["region"], "cases": cell["cases"],
                        "unreferred": cell["unreferred"], "peak_month": cell["peak_month"],
                        "capacity_reach": cell["capacity_reach"], "members_province": cell["members_province"],
                        "members_hub": cell["members_hub"], "declined_capacity": cell["declined_capacity"],
                        "reason": gap_reason(kind, cell, prov.get("name_th", cell["province"]),
                                             prov.get("name_en", cell["province"]),
                                             cat.get("label_th", cell["category"]),
                                             cat.get("label_en", cell["category"]))})
    out.sort(key=lambda g: (GAP_KINDS.index(g["kind"]), -g["cases"], g["province"], g["category"]))
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def gap_reason(kind: str, cell: dict, prov_th: str, prov_en: str, cat_th: str, cat_en: str) -> dict:
    """Plain sentences, Thai then English, for one gap."""
    if kind == "no_member_in_reach":
        return {"th": f"ผู้ประกอบการใน{prov_th} {cell['cases']} ราย ต้องการบริการ{cat_th} แต่ไม่มีสมาชิกเครือข่าย"
                      f"ที่ให้บริการนี้ในจังหวัดหรือในกลุ่มจังหวัดของศูนย์ภาค",
                "en": f"{_count(cell['cases'], 'case')} in {prov_en} needed {cat_en} but no member offers it in the "
                      f"province or its hub area"}
    if kind == "demand_exceeds_capacity":
        return {"th": f"ในเดือนที่มีงานมากที่สุด ผู้ประกอบการใน{prov_th} {cell['peak_month']} ราย "
                      f"ต้องการบริการ{cat_th} เกินกำลังรับงานของสมาชิกที่อยู่ใกล้ "
                      f"({cell['capacity_reach']:.0f} เรื่องต่อเดือน)",
                "en": f"In the busiest month {_count(cell['peak_month'], 'case')} in {prov_en} needed {cat_en}, "
                      f"more than the {cell['capacity_reach']:.0f} a month the members in reach can take"}
    if kind == "no_member_in_province":
        return {"th": f"ผู้ประกอบการใน{prov_th} {cell['cases']} ราย ต้องการบริการ{cat_th} ซึ่งไม่มีสมาชิกในจังหวัด "
                      f"ต้องใช้บริการจากจังหวัดอื่นในกลุ่มศูนย์ภาค ({cell['members_hub']} ราย)",
                "en": f"{_count(cell['cases'], 'case')} in {prov_en} needed {cat_en}, which no member offers in the "
                      f"province; it is served from elsewhere in the hub area "
                      f"({_count(cell['members_hub'], 'member')})"}
    return {"th": f"งานบริการ{cat_th}ของผู้ประกอบการใน{prov_th} ถูกปฏิเสธ {cell['declined_capacity']} ครั้ง "
                  f"เพราะสมาชิกรับงานเต็มแล้ว",
            "en": f"{_count(cell['declined_capacity'], 'leg')} for {cat_en} in {prov_en} declined for lack of capacity"}


def depth(cell: dict) -> int:
    """How deep the supply of a cell is, 0-4 (see ``DEPTHS``). O(1)."""
    n = cell["members_province"]
    if n == 0:
        return 1 if cell["members_hub"] > 0 else 0
    return 2 if n == 1 else 3 if n < 5 else 4


def coverage_grid(cells, province_codes, category_codes) -> list[list[int]]:
    """Depths (``DEPTHS``) as rows of provinces x categories, in the orders given. O(cells)."""
    score = {(c["province"], c["category"]): depth(c) for c in cells}
    return [[score.get((p, c), 0) for c in category_codes] for p in province_codes]


def province_coverage(cells) -> dict[str, dict]:
    """Province -> share of categories offered in the province and in reach, mean depth (0-4), cases and
    gap count. O(cells)."""
    acc: dict = defaultdict(lambda: {"categories": 0, "in_province": 0, "in_reach": 0, "depth": 0, "cases": 0,
                                     "gaps": 0})
    for c in cells:
        a = acc[c["province"]]
        a["categories"] += 1
        a["in_province"] += c["members_province"] > 0
        a["in_reach"] += c["members_hub"] > 0
        a["depth"] += depth(c)
        a["cases"] += c["cases"]
        a["gaps"] += len(gap_kinds_of(c))
    return {p: {"share_in_province": round(a["in_province"] / a["categories"], 4),
                "share_in_reach": round(a["in_reach"] / a["categories"], 4),
                "mean_depth": round(a["depth"] / a["categories"], 4),
                "cases": a["cases"], "gaps": a["gaps"]} for p, a in acc.items()}
