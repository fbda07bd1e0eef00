"""The analyst dashboard: KPIs against targets, the gap heatmap, single points of failure, the rollout
plan, and the full report (built once per data version by ``web.cache``)."""

from __future__ import annotations

import time

from flask import Response, render_template, request, url_for
from markupsafe import Markup

from matcher.errors import Unavailable
from web.cache import versioned, versioned_entry
from web.context import get_db, get_reference, get_snapshot

from . import bp, i18n, services
from .common import page, requires
from .lists import province_choices

# Thai for the coverage depths the analysis names (graphs.coverage.DEPTHS); unknown ones show in English.
DEPTH_TH = {"no member in reach": "ไม่มีสมาชิกในระยะให้บริการ",
            "only elsewhere in the hub area": "มีเฉพาะในจังหวัดอื่นของพื้นที่ศูนย์ภาค",
            "one member in the province": "มีสมาชิก 1 รายในจังหวัด",
            "2-4 members in the province": "มีสมาชิก 2-4 รายในจังหวัด",
            "5 or more members in the province": "มีสมาชิก 5 รายขึ้นไปในจังหวัด"}
REFRESH_AFTER_S = 30.0  # a burst of writes starts one refresh, not one per write


@bp.get("/desk/dashboard")
@requires("analyst")
def dashboard():
    """KPIs, the province x service heatmap, single points of failure and the next provinces."""
    try:
        kpi = services.kpis()  # live: cheap, and the figure people check after every outcome
        network, as_of = _latest("network", _network_analyses)
    except Unavailable as error:
        return page("desk/dashboard.html", 503, unavailable=i18n.message(error))
    gap, metrics, plan = network["gaps"], network["metrics"], network["plan"]
    chosen, errors = _chosen(kpi)
    return page("desk/dashboard.html", 422 if errors else 200, kpi=kpi, kpi_rows=kpi_rows(kpi), heatmap=heatmap(gap),
                chosen=chosen, errors=errors, selection=selection_tables(kpi, chosen),
                years=sorted((r["year"] for r in kpi.get("by_year", [])), reverse=True),
                provinces=province_choices(),
                heatmap_html=heatmap_html(gap, network["stamp"]),
                critical=critical_rows(metrics.get("critical_members", []))[:15], single=gap.get("single_providers", []),
                articulation=metrics.get("articulation_points", [])[:10], plan=plan, unavailable=None,
                as_of=as_of)


def _chosen(kpi: dict) -> tuple[dict, dict]:
    """The year (Christian era in the address, shown in the Buddhist era) and province asked for."""
    chosen, errors = {"year": "", "province": ""}, {}
    year = (request.args.get("year") or "").strip()
    if year:
        if year.isdigit() and int(year) in {r["year"] for r in kpi.get("by_year", [])}:
            chosen["year"] = int(year)
        else:
            errors["year"] = i18n.t("err_choice", value=year[:20])
    province = (request.args.get("province") or "").strip()
    if province:
        if province in get_reference().province_by_code:
            chosen["province"] = province
        else:
            errors["province"] = i18n.t("err_province", value=province[:40])
    return chosen, errors


def selection_tables(kpi: dict, chosen: dict) -> list[dict]:
    """The programme's figures for the year and for the province chosen, each computed by the KPIs."""
    pct = lambda v: "-" if v is None else f"{100 * v:.0f}%"  # noqa: E731
    num = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
    tables = []
    sources = []
    if chosen["year"]:
        row = next(r for r in kpi["by_year"] if r["year"] == chosen["year"])
        sources.append((i18n.t("year_be", year=chosen["year"] + 543) if i18n.current_language() == "th"
                        else i18n.t("year_be", year=chosen["year"]), row, "sel-year"))
    if chosen["province"]:
        row = kpi.get("by_province", {}).get(chosen["province"]) or {}
        sources.append((i18n.localized(get_reference().province_by_code[chosen["province"]]), row, "sel-province"))
    for title, row, key in sources:
        tables.append({"title": title, "id": key, "rows": [
            (i18n.t("sel_referrals"), num(row.get("referrals"))),
            (i18n.t("sel_multi_share"), pct(row.get("multi_agency_share"))),
            (i18n.t("sel_completion"), pct(row.get("completion_rate"))),
            (i18n.t("sel_needs_met"), f"{num(row.get('needs_met'))} / {num(row.get('needs'))}"),
            (i18n.t("sel_value"), num(row.get("value_baht"))),
            (i18n.t("sel_accept_days"), _days(row.get("time_to_accept_days")))]})
    return tables


def critical_rows(critical: list[dict]) -> list[dict]:
    """Each critical member once, with each service it alone keeps in reach once: the cases that asked for
    it and the provinces they came from (the analysis lists one entry per province and service)."""
    rows = []
    for m in critical:
        services_: dict = {}
        for n in m.get("needs", []):
            s = services_.setdefault(n["category"], {"category": n["category"], "cases": 0, "provinces": set()})
            s["cases"] += n.get("cases", 0)
            s["provinces"].add(n.get("province"))
        listed = sorted(({**s, "provinces": len(s["provinces"])} for s in services_.values()),
                        key=lambda s: (-s["cases"], s["category"]))
        rows.append({**m, "services": listed})
    return rows


def _network_analyses() -> dict:
    return {"gaps": services.gaps(), "metrics": services.network_metrics(), "plan": services.rollout_plan(),
            "stamp": time.monotonic_ns()}


def kpi_rows(kpi: dict) -> list[dict]:
    """(label, value, target, met) rows; targets are the programme's published figures."""
    pct = lambda v: "-" if v is None else f"{100 * v:.0f}%"  # noqa: E731
    num = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
    th = i18n.current_language() == "th"
    rows = [
        (("มูลค่าทางเศรษฐกิจที่เกิดขึ้น (บาท)", "Economic value created (baht)"), num(kpi.get("value_baht")), None, None,
         "kpi-value"),
        (("งานของสมาชิกที่สำเร็จ", "Completed member tasks"), num(kpi.get("completed_legs")), None, None, "kpi-completed"),
        (("การส่งต่อทั้งหมด", "Referrals"), num(kpi.get("referrals")), None, None, "kpi-referrals"),
        (("การส่งต่อหลายหน่วยงาน", "Multi-agency referrals"), num(kpi.get("multi_agency_referrals")), "72+",
         _met(kpi.get("multi_agency_referrals"), 72), "kpi-multi"),
        (("สัดส่วนการส่งต่อหลายหน่วยงาน", "Multi-agency share"), pct(kpi.get("multi_agency_share")), None, None,
         "kpi-multi-share"),
        (("อัตราความสำเร็จของงานของสมาชิก", "Completion rate of member tasks"), pct(kpi.get("completion_rate")), None, None,
         "kpi-completion"),
        (("ความต้องการที่ได้รับการแก้ไข", "Needs met"),
         f"{num(kpi.get('needs_met'))} / {num(kpi.get('needs'))} ({pct(kpi.get('needs_met_share'))})", None, None,
         "kpi-needs-met"),
        (("เรื่องที่สำเร็จครบทุกความต้องการ", "Cases with every need met"),
         f"{num(kpi.get('completed_referrals'))} / {num(kpi.get('closed_referrals'))}", None, None, "kpi-fully-met"),
        (("วันจนรับเรื่อง (มัธยฐาน / 90%)", "Days to accept (p50 / p90)"), _days(kpi.get("time_to_accept_days")),
         None, None, "kpi-accept-days"),
        (("วันจนสำเร็จทั้งเรื่อง (มัธยฐาน / 90%)", "Days to complete a case (p50 / p90)"),
         _days(kpi.get("time_to_complete_days")), None, None, "kpi-complete-days"),
        (("ความพึงพอใจของผู้ประกอบการ (เต็ม 5)", "Enterprise satisfaction (out of 5)"),
         _satisfaction(kpi.get("satisfaction"), th), None, None, "kpi-satisfaction"),
        (("มูลค่าต่องบประมาณ 1 บาท", "Value per baht of budget"),
         "-" if kpi.get("value_per_baht") is None else f"{kpi['value_per_baht']:.2f}", "5.4",
         _met(kpi.get("value_per_baht"), 70 / 13), "kpi-value-per-baht"),
        (("หน่วยงาน / ที่ปรึกษา", "Agencies / consultants"),
         f"{num(kpi.get('agencies'))} / {num(kpi.get('consultants'))}", "245 / 217", None, "kpi-members"),
    ]
    for t in kpi.get("targets", []):
        rows.append(((f"จังหวัดที่มีเครือข่าย ปี {t['year'] + 543}", f"Provinces live, {t['year']}"), num(t.get("live")),
                     num(t.get("target")), t.get("met"), f"kpi-provinces-{t['year']}"))
    return [{"label": label[0] if th else label[1], "value": value, "target": target or "-", "met": met, "id": key}
            for label, value, target, met, key in rows]


def _days(figures) -> str:
    if not figures or figures.get("p50") is None:
        return "-"
    return f"{figures['p50']:.1f} / {figures['p90']:.1f}"


def _satisfaction(figures, th: bool) -> str:
    if not figures or not figures.get("responses"):
        return "-"
    answers = f"{figures['responses']:,} เรื่องที่ตอบ" if th else f"{figures['responses']:,} answers"
    return f"{figures['mean']:.2f} ({answers})"


def _met(value, target):
    return None if value is None else value >= target


def heatmap_html(gap: dict, stamp: int) -> Markup:
    """The heatmap table (1,700 cells), rendered once per computed analysis (``stamp``) and language."""
    lang = i18n.current_language()
    return versioned(f"heatmap_html:{lang}", lambda: Markup(render_template("desk/_heatmap.html", heatmap=heatmap(gap))),
                     stamp=(stamp,))


def heatmap(gap: dict) -> dict:
    """The coverage matrix as table rows (province x category, coverage depth, gaps marked)."""
    matrix = gap.get("matrix") or {}
    ref = get_reference()
    labels = {c: i18n.localized(ref.category_by_code.get(c), "label") or c for c in matrix.get("categories", [])}
    gap_cells = {(g.get("province"), g.get("category")) for g in gap.get("gaps", [])}
    rows = []
    for province, levels in zip(matrix.get("provinces", []), matrix.get("levels", [])):
        name = i18n.localized(ref.province_by_code.get(province))
        rows.append({"province": province, "name": name,
                     "cells": [{"category": c, "level": int(lvl), "gap": (province, c) in gap_cells,
                                "title": f"{name} · {labels[c]}: {lvl}"}
                               for c, lvl in zip(matrix.get("categories", []), levels)]})
    th = i18n.current_language() == "th"
    legend = [{"level": int(k), "label": DEPTH_TH.get(text, text) if th else text}
              for k, text in sorted((matrix.get("legend") or {}).items(), key=lambda kv: int(kv[0]))]
    return {"categories": [{"code": c, "label": labels[c]} for c in matrix.get("categories", [])], "rows": rows,
            "legend": legend,
            "gaps": gap.get("gaps", [])[:15], "summary": gap.get("summary", {})}


@bp.get("/desk/dashboard/heatmap.png")
@requires("analyst")
def heatmap_png():
    """The same heatmap as a PNG (for slides), drawn once per data version."""
    png = _cached("heatmap", services.coverage_heatmap_png)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


@bp.get("/desk/dashboard/report")
@requires("analyst")
def report():
    """The full analysis report (self-contained HTML), built once per data version."""
    def build():
        from matcher.analysis import report
        html, _data = report.build_report(get_db(), get_reference(), get_snapshot())
        return html
    try:
        html = _cached("report", build)
    except ImportError:
        raise Unavailable(i18n.both("analysis_unavailable")) from None
    back = (f'<p class="back"><a href="{url_for("desk.dashboard")}">‹ {i18n.t("back_to_dashboard")}</a></p>')
    return Response(html.replace("<body>", "<body>" + back, 1), mimetype="text/html")


def _latest(name: str, build) -> tuple[dict, str]:
    """The network analyses (about a second to compute) for the store's data version, with when they were
    computed; after a change, the figures computed less than ``REFRESH_AFTER_S`` ago are still served, so a
    burst of writes costs one recomputation (the KPIs beside them are always live)."""
    entry = versioned_entry(name, build, grace_s=REFRESH_AFTER_S)
    return entry.value, entry.built_at


def _cached(name: str, build):
    """``build()`` once per data version of the store."""
    return versioned(name, build)
