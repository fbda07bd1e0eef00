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

import statistics

import networkx as nx

from graphs import centrality, coverage, resilience, rollout
from graphs import clusters as cluster_analysis
from graphs import kpis as kpi_analysis
from graphs.network import collaboration_graph
from matcher import render
from matcher.analysis.inputs import (
    _labels,
    _names,
    _synthetic,
    coverage_cells,
    months_between,
)
from matcher.errors import NotFound, RismepError, Unprocessable
from matcher.store import analysis as store
from matcher.store import directory, history

TOP_BROKERS = 10
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
    cluster-level bundle (``matcher.engine.matching.match``) for the needs its enterprises share."""
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
    from matcher.engine.matching import match
    from matcher.engine.request import MatchRequest
    try:
        result = match(snapshot, MatchRequest(needs=list(needs), province=cl["province"], sector=cl.get("sector"),
                                              top_k=1).checked(snapshot))
    except RismepError as error:
        return {"needs": list(needs), "error": error.message}
    best = result.bundles[0] if result.bundles else None
    return {"needs": list(needs), "covered": result.covered, "uncovered": [u.need for u in result.uncovered],
            "members": [{"id": leg.member, "type": leg.type, "name_th": leg.name_th, "name_en": leg.name_en,
                         "province": leg.province, "needs": leg.needs} for leg in (best.legs if best else [])],
            "success_chance": best.chance if best else None,
            "chance_meaning": {lang: render.chance_text(best.chance, lang) for lang in render.LANGS} if best else None}

