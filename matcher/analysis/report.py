"""The network report: every analysis in one self-contained HTML page and the same figures as JSON."""

from __future__ import annotations

from graphs import coverage
from matcher.analysis.inputs import _synthetic, coverage_cells
from matcher.analysis.kpis import kpis
from matcher.analysis.network import (
    _cluster_bundle,
    _clusters,
    _gaps_view,
    _network,
    rollout_plan,
)
from matcher.clock import now_text
from matcher.store import directory

REPORT_STEPS = ("coverage and gaps", "single points of failure and brokers", "KPIs", "rollout plan",
                "clusters", "heatmap", "map", "KPI chart", "network figure", "rollout figure", "HTML page")

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

    ``snapshot`` (``matcher.engine.snapshot.Snapshot``, or None to skip them) is used for the clusters' bundles;
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
        "generated_at": now_text(),
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
