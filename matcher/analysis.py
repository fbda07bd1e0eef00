"""Batch analysis of the network: read rows through ``matcher.store``, analyse them with ``graphs``.

What the web layer, the report command and the desk's analyst dashboard call. Every function takes an
open store ``db`` and the reference data ``ref``, computes from the store at call time (nothing is cached
across data changes) and returns JSON-serialisable dicts of aggregates: no enterprise names, contacts or
other personal data. Bad arguments raise :mod:`matcher.errors` naming the value and the fix.

- ``gaps``: the coverage matrix province x category and its gaps;
- ``network_metrics``: single points of failure, brokers, isolated members, communities;
- ``kpis``: members, referrals, completion, value per baht of budget, provinces live against targets;
- ``rollout_plan``: the next provinces to bring in, greedy with a certificate of quality;
- ``clusters`` / ``cluster_gaps``: value-chain stages, missing services and a cluster-level bundle;
- ``coverage_heatmap_png`` and ``build_report`` (one self-contained HTML page and its data as JSON).
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timezone

import networkx as nx

from graphs import centrality, clusters as cluster_analysis, coverage, kpis as kpi_analysis, resilience, rollout
from graphs.network import collaboration_graph

from .errors import NotFound, RismepError, Unprocessable
from .store import analysis as store, directory, history

BUDGET_SOURCE = ("synthetic: shaped by the programme's published 2017-2018 figure of about 13 million baht "
                 "for the network; not a real allocation")
# Synthetic budget per province-year (baht): hub provinces (with a regional centre) and their neighbours.
SYNTHETIC_BUDGET = {"hub": {2017: 500_000, 2018: 550_000}, "neighbour": {2018: 290_000}}
PUBLISHED_REFERRALS = 400  # the demo's referrals in 2017-2018, which the 13 million baht paid for
TOP_BROKERS = 10
REPORT_STEPS = ("coverage and gaps", "single points of failure and brokers", "KPIs", "rollout plan",
                "clusters", "heatmap", "map", "KPI chart", "network figure", "rollout figure", "HTML page")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


# -- shared inputs -----------------------------------------------------------------------------------

def _names(provinces) -> dict:
    return {p["code"]: {"name_en": p["name_en"], "name_th": p["name_th"]} for p in provinces}


def _labels(categories) -> dict:
    return {c["code"]: {"label_en": c["label_en"], "label_th": c["label_th"]} for c in categories}


def _check_date(value, field: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if not _DATE.match(text):
            raise ValueError
        datetime.strptime(text, {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}[len(text)])
    except ValueError:
        raise Unprocessable(f"{field} must be a date as YYYY, YYYY-MM or YYYY-MM-DD; got {value!r}.",
                            field=field) from None
    return text


def months_between(first: str | None, last: str | None) -> int:
    """Calendar months from the month of ``first`` to that of ``last`` inclusive (at least 1)."""
    if not first or not last:
        return 1
    (y1, m1), (y2, m2) = (map(int, first[:7].split("-")), map(int, last[:7].split("-")))
    return max(1, (y2 - y1) * 12 + m2 - m1 + 1)


def coverage_cells(db, ref, since=None, until=None) -> dict:
    """The coverage matrix (``graphs.coverage.coverage_matrix`` cells) with its inputs and period."""
    since, until = _check_date(since, "since"), _check_date(until, "until")
    provinces, categories = directory.provinces(db), directory.categories(db)
    members = directory.all_members(db)
    period = store.case_period(db, since, until)
    months = months_between(period["first"], period["last"])
    cells = coverage.coverage_matrix(
        members, provinces, [c["code"] for c in categories], case_rows=store.case_demand(db, since, until),
        leg_rows=store.leg_demand(db, since, until), monthly_rows=store.monthly_case_demand(db, since, until),
        months=months)
    return {"cells": cells, "members": members, "provinces": provinces, "categories": categories,
            "period": {**period, "months": months, "since": since, "until": until}}


def _synthetic(db) -> bool:
    return bool(directory.dataset_info(db)["synthetic"])


# -- gaps --------------------------------------------------------------------------------------------

def _resolve_hub(ref, value) -> str:
    code = ref.resolve_province(value, field="hub")
    if not ref.province_by_code[code]["is_hub"]:
        hubs = [ref.province_label(p["code"]) for p in ref.provinces if p["is_hub"]]
        raise Unprocessable(f"{ref.province_label(code)} is not a RISMEP hub; give one of the 11 hub provinces "
                            f"(its hub is {ref.province_label(ref.province_by_code[code]['hub_code'])}).",
                            field="hub", allowed=hubs)
    return code


def gaps(db, ref, province=None, category=None, hub=None, since=None, until=None) -> dict:
    """Coverage matrix and gaps, optionally for one province, category or hub area and a period.

    ``matrix`` holds the supply depth of every (province, category) in view (``graphs.coverage.DEPTHS``:
    0 nobody in reach ... 4 five or more members in the province); ``gaps`` lists each gap with its reason
    (kinds: ``graphs.coverage.GAP_KINDS``); ``single_providers`` the sole providers in view.
    """
    province = ref.resolve_province(province) if province else None
    category = ref.check_categories([category], field="category")[0] if category else None
    hub = _resolve_hub(ref, hub) if hub else None
    return _gaps_view(db, ref, coverage_cells(db, ref, since, until), province, category, hub)


def _gaps_view(db, ref, cov, province=None, category=None, hub=None) -> dict:
    def keep(c) -> bool:
        return ((province is None or c["province"] == province) and (category is None or c["category"] == category)
                and (hub is None or c["hub"] == hub))

    cells = [c for c in cov["cells"] if keep(c)]
    found = coverage.gaps(cells, province_names=_names(cov["provinces"]), category_labels=_labels(cov["categories"]))
    prov_codes = list(dict.fromkeys(c["province"] for c in cells))
    cat_codes = list(dict.fromkeys(c["category"] for c in cells))
    sole = [s for s in resilience.single_providers(cov["members"], cov["provinces"])
            if (category is None or s["category"] == category)
            and (province is None or (s["level"] == "province" and s["area"] == province)
                 or (s["level"] == "hub" and s["area"] == ref.province_by_code[province]["hub_code"]))
            and (hub is None or s["area"] == hub or ref.province_by_code[s["area"]]["hub_code"] == hub)]
    return {"synthetic": _synthetic(db), "filters": {"province": province, "category": category, "hub": hub},
            "period": cov["period"],
            "summary": {k: sum(g["kind"] == k for g in found) for k in coverage.GAP_KINDS},
            "gaps": found, "single_providers": sole,
            "matrix": {"provinces": prov_codes, "categories": cat_codes,
                       "levels": coverage.coverage_grid(cells, prov_codes, cat_codes),
                       "legend": {str(k): v for k, v in coverage.DEPTHS.items()}},
            "province_coverage": coverage.province_coverage(cells)}


# -- network metrics ---------------------------------------------------------------------------------

def _member_info(members) -> dict:
    return {m["id"]: {"name_th": m["name_th"], "name_en": m.get("name_en") or "", "type": m["type"],
                      "province": m["province"], "kind": m.get("kind")} for m in members}


def network_metrics(db, ref) -> dict:
    """Single points of failure, brokers, isolated members and communities of the collaboration graph."""
    return _network(db, coverage_cells(db, ref))[0]


def _network(db, cov: dict) -> tuple[dict, nx.Graph, list]:
    """The network metrics, the collaboration graph they were computed on and its communities."""
    members = cov["members"]
    info = _member_info(members)
    G = collaboration_graph([m["id"] for m in members],
                            [r for r in history.collaborations(db) if r["u"] in info and r["v"] in info])
    scores, exact = centrality.betweenness(G)
    groups = centrality.communities(G)
    all_bridges = resilience.bridges(G)
    critical = resilience.critical_members(cov["cells"], members, cov["provinces"])
    result = {
        "synthetic": _synthetic(db),
        "graph": {"members": G.number_of_nodes(), "collaborations": G.number_of_edges(),
                  "components": sum(1 for c in nx.connected_components(G) if len(c) > 1)},
        "brokers": [dict(b, **info[b["member"]]) for b in centrality.brokers(G, TOP_BROKERS, scores=scores)],
        "betweenness": {"exact": exact, "pivots": None if exact else centrality.BETWEENNESS_PIVOTS},
        "articulation_points": [{"member": m, **info[m], "partners": G.degree(m)}
                                for m in resilience.articulation_points(G)],
        "bridges": [list(e) for e in all_bridges],
        "bridges_between_groups": [list(e) for e in all_bridges if min(G.degree(e[0]), G.degree(e[1])) > 1],
        "isolates": centrality.isolates(G),
        "communities": {"count": len(groups), "modularity": round(centrality.modularity(G, groups), 4),
                        "sizes": [len(g) for g in groups],
                        "largest": [{"size": len(g), "provinces": _top_provinces(g, info)} for g in groups[:10]]},
        "single_providers": resilience.single_providers(members, cov["provinces"]),
        "critical_members": [{"member": m, **info[m], "needs": needs} for m, needs in critical.items()],
    }
    return result, G, groups


def _top_provinces(group, info, n: int = 3) -> list[str]:
    counts: dict = {}
    for m in group:
        counts[info[m]["province"]] = counts.get(info[m]["province"], 0) + 1
    return [p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


# -- KPIs --------------------------------------------------------------------------------------------

def _budget_rows(db, ref, budget) -> tuple[list[dict], str]:
    """Budget rows and their source: the store's, or an override (total baht or per-province rows)."""
    if budget is None:
        rows = store.budgets(db)
        if not rows:
            return rows, "none"
        return rows, "synthetic" if all(r["synthetic"] for r in rows) else "store"
    if isinstance(budget, bool) or not isinstance(budget, (int, float, list, tuple)):
        raise Unprocessable("budget must be a total in baht (a number) or a list of {province, year, baht}.",
                            field="budget")
    if isinstance(budget, (int, float)):
        if budget < 0 or budget != budget:
            raise Unprocessable(f"budget must be a positive amount in baht; got {budget!r}.", field="budget")
        return [{"province": None, "year": None, "baht": float(budget)}], "override"
    rows = []
    for i, r in enumerate(budget):
        try:
            rows.append({"province": ref.resolve_province(r["province"], field=f"budget.{i}.province"),
                         "year": int(r["year"]), "baht": float(r["baht"])})
        except (KeyError, TypeError, ValueError):
            raise Unprocessable(f"budget row {i} must be {{province, year, baht}} with a numeric year and baht; "
                                f"got {r!r}.", field=f"budget.{i}") from None
        if rows[-1]["baht"] < 0:
            raise Unprocessable(f"budget row {i}: baht must not be negative.", field=f"budget.{i}.baht")
    return rows, "override"


def kpis(db, ref, budget=None) -> dict:
    """Programme KPIs, computed from the store now.

    ``budget``: None (the store's budgets table), a total in baht, or a list of ``{province, year,
    baht}`` rows. Keys (plain numbers): ``value_baht``, ``completed_legs``, ``referrals``,
    ``multi_agency_referrals``, ``multi_agency_share``, ``completion_rate``, ``budget_baht``,
    ``value_per_baht``, ``provinces_live``, ``provinces_live_by_year`` (``{year, live, target, met}``).
    """
    budget_rows, budget_source = _budget_rows(db, ref, budget)
    agg = store.referral_aggregates(db)
    totals = kpi_analysis.referral_totals(agg)
    by_year = kpi_analysis.totals_by(agg, "year")
    years_live = kpi_analysis.live_years(store.province_live_years(db))
    members = kpi_analysis.members_by_province(store.members_by_province(db))
    budget_sum = kpi_analysis.budget_totals(budget_rows)
    years = [y for y in by_year if y is not None]
    progress = kpi_analysis.targets_progress(years_live, until=max(years) if years else None)
    live_by_year = {r["year"]: r for r in progress}
    return {
        "synthetic": _synthetic(db),
        "agencies": sum(v["agencies"] for v in members.values()),
        "consultants": sum(v["consultants"] for v in members.values()),
        "referrals": totals["referrals"], "multi_agency_referrals": totals["multi_agency"],
        "multi_agency_share": totals["multi_agency_share"], "completed_referrals": totals["completed_referrals"],
        "legs": totals["legs"], "finished_legs": totals["finished_legs"], "completed_legs": totals["completed_legs"],
        "declined_legs": totals["declined_legs"], "completion_rate": totals["completion_rate"],
        "value_baht": totals["value_baht"], "budget_baht": budget_sum["total"] if budget_rows else None,
        "budget_source": budget_source,
        "budget_note": None if budget_rows else {
            "th": "ยังไม่มีข้อมูลงบประมาณ: นำเข้าด้วย flask --app api import-budgets FILE หรือระบุ budget",
            "en": "No budget recorded: import one with flask --app api import-budgets FILE, or pass budget="},
        "value_per_baht": kpi_analysis.value_per_baht(totals["value_baht"], budget_sum["total"]),
        "provinces_live": len(years_live),
        "next_target": kpi_analysis.next_target(len(years_live)),
        "provinces_live_by_year": progress,
        "targets": [r for r in progress if r["target"] is not None],
        "by_year": [_year_row(y, t, budget_sum, live_by_year) for y, t in by_year.items() if y is not None],
        "by_province": {p: {**members.get(p, {"agencies": 0, "consultants": 0}), **_province_row(t, budget_sum, p)}
                        for p, t in _province_totals(agg, members).items()},
    }


def _year_row(year, t, budget_sum, live_by_year) -> dict:
    budget = budget_sum["by_year"].get(year)
    return {"year": year, "referrals": t["referrals"], "multi_agency_referrals": t["multi_agency"],
            "multi_agency_share": t["multi_agency_share"], "completed_legs": t["completed_legs"],
            "completion_rate": t["completion_rate"], "value_baht": t["value_baht"], "budget_baht": budget,
            "value_per_baht": kpi_analysis.value_per_baht(t["value_baht"], budget),
            "provinces_live": live_by_year.get(year, {}).get("live")}


def _province_totals(agg, members) -> dict:
    by_province = kpi_analysis.totals_by([r for r in agg if r["province"]], "province")
    for p in members:
        by_province.setdefault(p, kpi_analysis.referral_totals([]))
    return dict(sorted(by_province.items()))


def _province_row(t, budget_sum, province) -> dict:
    budget = budget_sum["by_province"].get(province)
    return {"referrals": t["referrals"], "multi_agency_share": t["multi_agency_share"],
            "completion_rate": t["completion_rate"], "value_baht": t["value_baht"], "budget_baht": budget,
            "value_per_baht": kpi_analysis.value_per_baht(t["value_baht"], budget)}


def synthetic_budgets(provinces, referrals: int = PUBLISHED_REFERRALS) -> list[dict]:
    """A SYNTHETIC budget per live province and year, shaped by the published 2017-2018 figure.

    For the demo network (16 provinces, 400 referrals in 2017-2018) it totals 13 million baht: hub
    provinces 500,000 baht in 2017 and 550,000 in 2018, neighbours 290,000 in the year they went live
    (2018). Larger networks get the same split scaled by their referrals in 2017-2018 over 400, so that
    budget per referral stays at the published scale.
    """
    factor = max(referrals, 1) / PUBLISHED_REFERRALS
    rows = []
    for p in provinces:
        if not p.get("live_since"):
            continue
        plan = SYNTHETIC_BUDGET["hub" if p["is_hub"] else "neighbour"]
        rows += [{"province": p["code"], "year": y, "baht": round(baht * factor, -3), "source": BUDGET_SOURCE,
                  "synthetic": True} for y, baht in plan.items() if y >= int(p["live_since"])]
    return rows


def seed_synthetic_budgets(db) -> int:
    """Write the synthetic budget into a store that has none yet; return the rows written."""
    if store.number_of_budget_rows(db):
        return 0
    referrals = store.number_of_referrals(db, "2017-01-01", "2019-01-01")
    return store.write_budgets(db, synthetic_budgets(directory.provinces(db), referrals))


# -- rollout -----------------------------------------------------------------------------------------

def demand_weights(db, provinces) -> tuple[dict, set]:
    """Province -> cases a year (observed), and the provinces whose weight is estimated.

    Provinces with no case yet get the median yearly cases of the provinces that have some: with no data
    on them, every unseen province is assumed to bring a typical province's demand.
    """
    period = store.case_period(db)
    years = max(1.0, months_between(period["first"], period["last"]) / 12.0)
    observed = {r["province"]: r["cases"] / years for r in store.cases_by_province(db) if r["cases"] > 0}
    typical = statistics.median(observed.values()) if observed else 1.0
    estimated = {p["code"] for p in provinces if p["code"] not in observed}
    return {p["code"]: round(observed.get(p["code"], typical), 4) for p in provinces}, estimated


def rollout_plan(db, ref, target: int | None = None) -> dict:
    """The next provinces to bring in to reach ``target`` provinces live (default: the next published
    target), in order, each with its reason; see ``graphs.rollout`` for the objective."""
    provinces = directory.provinces(db)
    years_live = kpi_analysis.live_years(store.province_live_years(db))
    live = set(years_live)
    if target is None:
        target = kpi_analysis.next_target(len(live)) or len(provinces)
    if isinstance(target, bool) or not isinstance(target, int) or not 1 <= target <= len(provinces):
        raise Unprocessable(f"target must be a number of provinces from 1 to {len(provinces)}; got {target!r}.",
                            field="target")
    demand, estimated = demand_weights(db, provinces)
    near = rollout.neighbours(provinces, rollout.RADIUS_KM)
    priority = {p["code"]: ref.province_by_code[p["code"]]["distance_to_hub_km"] for p in provinces}
    k = max(0, target - len(live))
    steps = rollout.greedy_plan(demand, near, live, k, priority=priority)
    chosen = [s["province"] for s in steps]
    before = rollout.objective(live, demand, near)
    after = rollout.objective(live | set(chosen), demand, near)
    bound = rollout.upper_bound(chosen, demand, near, live, len(chosen))
    names, by_code = _names(provinces), {p["code"]: p for p in provinces}
    return {
        "synthetic": _synthetic(db), "target": target, "live_now": len(live), "to_add": len(steps),
        "met_already": k == 0,
        "objective": {
            "en": "maximise the yearly cases served: a live province serves all of its own demand and "
                  f"{rollout.ALPHA:.0%} of the demand of provinces within {rollout.RADIUS_KM:.0f} km of it; demand "
                  "is observed cases a year, or the median province's for provinces with no cases yet",
            "th": "เลือกจังหวัดที่ทำให้จำนวนผู้ประกอบการที่ได้รับบริการต่อปีมากที่สุด: "
                  "จังหวัดที่มีเครือข่ายให้บริการความต้องการของตนเองได้ทั้งหมด "
                  f"และให้บริการจังหวัดที่อยู่ในระยะ {rollout.RADIUS_KM:.0f} กม. ได้ "
                  f"{rollout.ALPHA:.0%}"},
        "radius_km": rollout.RADIUS_KM, "alpha": rollout.ALPHA,
        "value_before": round(before, 4), "value_after": round(after, 4), "upper_bound": round(bound, 4),
        "quality": rollout.quality(before, after, bound),
        "steps": [{"order": i, **s, "name_th": names[s["province"]]["name_th"],
                   "name_en": names[s["province"]]["name_en"], "region": by_code[s["province"]]["region"],
                   "hub": by_code[s["province"]]["hub_code"], "demand_estimated": s["province"] in estimated,
                   "reason": rollout.step_reason(s, names, rollout.RADIUS_KM)}
                  for i, s in enumerate(steps, start=1)],
    }


# -- clusters ----------------------------------------------------------------------------------------

def _cluster_inputs(db, cluster_id=None) -> dict:
    return {"stages": store.cluster_stage_counts(db), "needs": store.cluster_needs(db, cluster_id),
            "services": store.cluster_services(db, cluster_id)}


def _providers_in_reach(sup: dict, hub: str | None) -> dict[str, list]:
    return {cat: cell["members"] for (level, area, cat), cell in sup.items() if level == "hub" and area == hub}


def _cluster_summary(cl, rows, sup, provinces_by_code) -> dict:
    counts = cluster_analysis.stage_counts(rows["stages"], cl["id"])
    needs = cluster_analysis.needs_profile(rows["needs"], rows["services"], cl["id"])
    hub = provinces_by_code.get(cl["province"], {}).get("hub_code")
    missing = cluster_analysis.missing_services(needs, _providers_in_reach(sup, hub))
    return {"id": cl["id"], "name_en": cl["name_en"], "name_th": cl["name_th"], "province": cl["province"],
            "hub": hub, "sector": cl["sector"], "cda_member_id": cl.get("cda_member_id"),
            "synthetic": bool(cl.get("synthetic")), "enterprises": sum(counts.values()), "stages": counts,
            "missing_stages": cluster_analysis.missing_stages(counts), "needs": needs,
            "missing_services": missing,
            "shared_needs": cluster_analysis.shared_needs(needs, sum(counts.values()))}


def clusters(db, ref) -> dict:
    """Every SME cluster with its enterprises by stage, missing stages and services, shared needs."""
    return _clusters(db, directory.all_members(db), directory.provinces(db))


def _clusters(db, members, province_rows) -> dict:
    provinces = {p["code"]: p for p in province_rows}
    sup = coverage.supply(members, province_rows)
    rows = _cluster_inputs(db)
    items = [_cluster_summary(cl, rows, sup, provinces) for cl in directory.clusters(db)]
    for item in items:
        item["needs"] = item["needs"][:5]
    return {"synthetic": _synthetic(db), "items": items, "total": len(items)}


def cluster_gaps(db, ref, cluster_id, snapshot) -> dict:
    """One cluster in detail: members by stage, missing stages and services with reasons, and a
    cluster-level bundle (``matcher.matching.match``) for the needs its enterprises share."""
    known = {cl["id"]: cl for cl in directory.clusters(db)}
    if cluster_id not in known:
        raise NotFound(f"No cluster with id {cluster_id!r}; GET /api/v1/clusters lists them "
                       f"({', '.join(known) or 'none yet'}).", field="cluster_id", allowed=list(known))
    provinces = {p["code"]: p for p in directory.provinces(db)}
    members = directory.all_members(db)
    info = _member_info(members)
    sup = coverage.supply(members, list(provinces.values()))
    out = _cluster_summary(known[cluster_id], _cluster_inputs(db, cluster_id), sup, provinces)
    labels = _labels(directory.categories(db))
    out["members_by_stage"] = {
        stage: [dict(r, **info.get(r["member"], {})) for r in rows]
        for stage, rows in cluster_analysis.members_by_stage(store.cluster_services(db, cluster_id),
                                                             cluster_id).items()}
    out["missing_services"] = [dict(m, **labels.get(m["category"], {}), reason=_missing_reason(m, labels))
                               for m in out["missing_services"]]
    out["missing_stages_reason"] = [{"stage": s, "th": f"ยังไม่มีสมาชิกคลัสเตอร์ในขั้น{cluster_analysis.STAGE_TH[s]}",
                                     "en": f"no enterprise of the cluster at the {s} stage"}
                                    for s in out["missing_stages"]]
    out["bundle"] = _cluster_bundle(snapshot, known[cluster_id], out["shared_needs"])
    out["synthetic"] = _synthetic(db)
    return out


def _missing_reason(m: dict, labels) -> dict:
    label = labels.get(m["category"], {})
    if m["why"] == "no_provider_in_reach":
        return {"th": f"ไม่มีสมาชิกเครือข่ายให้บริการ{label.get('label_th', m['category'])}ในกลุ่มจังหวัดของคลัสเตอร์",
                "en": f"no member offers {label.get('label_en', m['category'])} in the cluster's hub area"}
    return {"th": f"มีผู้ให้บริการ{label.get('label_th', m['category'])} แต่ยังไม่เคยส่งต่อสำเร็จให้สมาชิกคลัสเตอร์",
            "en": f"{label.get('label_en', m['category'])} is offered in reach but no referral for the cluster "
                  f"completed it yet"}


def _cluster_bundle(snapshot, cl, needs) -> dict | None:
    """The best bundle for the cluster's shared needs in its province, or None without needs."""
    if not needs or not cl.get("province"):
        return None
    from .matching import match
    try:
        result = match(snapshot, {"needs": list(needs), "province": cl["province"], "sector": cl.get("sector"),
                                  "top_k": 1})
    except RismepError as error:
        return {"needs": list(needs), "error": error.message}
    best = (result.get("bundles") or [None])[0]
    return {"needs": list(needs), "covered": result.get("covered", []), "uncovered": result.get("uncovered", []),
            "members": [{k: m.get(k) for k in ("id", "type", "name_th", "name_en", "province", "needs")}
                        for m in (best or {}).get("members", [])],
            "success_chance": (best or {}).get("success_chance")}


# -- figures and the report ---------------------------------------------------------------------------

def coverage_heatmap_png(db, ref) -> bytes:
    """A PNG of the province x category coverage heatmap (for the analyst dashboard)."""
    from graphs import report
    cov = coverage_cells(db, ref)
    return report.heatmap_png(_heatmap_data(cov))


def _heatmap_data(cov) -> dict:
    """The heatmap's rows (provinces grouped by hub area, the hub first), columns, depths and gap marks."""
    order = sorted(cov["provinces"], key=lambda p: (p["hub_code"], not p["is_hub"], p["code"]))
    provinces = [p["code"] for p in order]
    categories = [c["code"] for c in cov["categories"]]
    gap_cells = sorted({(g["province"], g["category"]) for g in coverage.gaps(cov["cells"])})
    return {"provinces": provinces, "categories": categories,
            "province_labels": [f"{p['name_th']} {p['name_en']}" + (" ★" if p["is_hub"] else "") for p in order],
            "category_labels": [c["label_th"] for c in cov["categories"]],
            "levels": coverage.coverage_grid(cov["cells"], provinces, categories),
            "legend": {str(k): v for k, v in coverage.DEPTHS.items()},
            "gaps": [list(g) for g in gap_cells]}


def build_report(db, ref, snapshot, progress=None, *, budget=None) -> tuple[str, dict]:
    """One self-contained HTML report (figures inline, works offline) and the same figures as data.

    ``snapshot`` (``matcher.snapshot.Snapshot``, or None to skip them) is used for the clusters' bundles;
    ``progress(label)`` is called after each of the ``REPORT_STEPS``; ``budget`` as in ``kpis``.
    """
    from graphs import report
    tick = progress or (lambda label: None)
    cov = coverage_cells(db, ref)
    gap_data = _gaps_view(db, ref, cov)
    tick(REPORT_STEPS[0])
    metrics, G, groups = _network(db, cov)
    tick(REPORT_STEPS[1])
    kpi = kpis(db, ref, budget=budget)
    tick(REPORT_STEPS[2])
    plan = rollout_plan(db, ref)
    tick(REPORT_STEPS[3])
    cluster_data = _clusters(db, cov["members"], cov["provinces"])
    for item in cluster_data["items"]:
        item["bundle"] = _cluster_bundle(snapshot, item, item["shared_needs"]) if snapshot is not None else None
    tick(REPORT_STEPS[4])
    figures, data = {}, {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": directory.dataset_info(db), "synthetic": _synthetic(db), "period": cov["period"],
        "coverage": _heatmap_data(cov), "province_coverage": coverage.province_coverage(cov["cells"]),
        "gaps": {"summary": gap_data["summary"], "items": gap_data["gaps"]},
        "network": metrics, "kpis": kpi, "rollout": plan, "clusters": cluster_data}
    figures["heatmap"] = report.heatmap_png(data["coverage"])
    tick(REPORT_STEPS[5])
    map_data = report.map_data(cov["provinces"], data["province_coverage"], plan)
    figures["map"] = report.map_png(map_data)
    tick(REPORT_STEPS[6])
    figures["kpis"] = report.kpi_png(kpi)
    tick(REPORT_STEPS[7])
    net = report.network_data(G, metrics, groups, cov["members"], cov["provinces"])
    figures["network"] = report.network_png(net)
    tick(REPORT_STEPS[8])
    figures["rollout"] = report.rollout_png(map_data, plan)
    tick(REPORT_STEPS[9])
    data["figures"] = {"map": map_data, "network": {k: v for k, v in net.items() if k != "edges"}}
    html = report.render_html(data, figures)
    tick(REPORT_STEPS[10])
    return html, data
