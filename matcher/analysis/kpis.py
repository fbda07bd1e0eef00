"""Key performance indicators against the programme's targets, and the programme budget they are measured by."""

from __future__ import annotations

from graphs import kpis as kpi_analysis
from matcher import clock
from matcher.analysis.inputs import _synthetic
from matcher.errors import Unprocessable
from matcher.store import analysis as store


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
    ``multi_agency_referrals``, ``multi_agency_share``, ``completion_rate``, ``needs``, ``needs_met``,
    ``needs_met_share``, ``completed_referrals`` (cases with every need met), ``closed_referrals``,
    ``fully_met_share``, ``time_to_accept_days`` and ``time_to_complete_days`` (``{p50, p90, n}``),
    ``satisfaction`` (``{mean, responses, scores}``), ``budget_baht``, ``value_per_baht`` (value created in
    the years with a budget over the budget of those years: ``value_per_baht_period``), ``provinces_live``,
    ``provinces_live_by_year`` (``{year, live, target, met}``), ``by_year`` and ``by_province``.
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
    value_rows = store.value_by_completion_year(db)
    times = _times(db)
    period = _value_per_baht(value_rows, budget_sum, totals["value_baht"])
    scores = store.satisfaction_scores(db)
    return {
        "synthetic": _synthetic(db),
        "agencies": sum(v["agencies"] for v in members.values()),
        "consultants": sum(v["consultants"] for v in members.values()),
        "referrals": totals["referrals"], "multi_agency_referrals": totals["multi_agency"],
        "multi_agency_share": totals["multi_agency_share"], "completed_referrals": totals["completed_referrals"],
        "closed_referrals": totals["closed_referrals"], "fully_met_share": totals["fully_met_share"],
        "needs": totals["needs"], "needs_met": totals["needs_met"], "needs_closed_unmet": totals["needs_closed_unmet"],
        "needs_met_share": totals["needs_met_share"],
        "legs": totals["legs"], "finished_legs": totals["finished_legs"], "completed_legs": totals["completed_legs"],
        "declined_legs": totals["declined_legs"], "completion_rate": totals["completion_rate"],
        "time_to_accept_days": times["accept"][None], "time_to_complete_days": times["complete"][None],
        "satisfaction": {"mean": totals["satisfaction_mean"], "responses": totals["satisfaction_responses"],
                         "scores": {str(k): int(scores.get(k, 0)) for k in range(1, 6)}},
        "value_baht": totals["value_baht"], "budget_baht": budget_sum["total"] if budget_rows else None,
        "budget_source": budget_source,
        "budget_note": None if budget_rows else {
            "th": "ยังไม่มีข้อมูลงบประมาณ: นำเข้าด้วย flask --app api import-budgets FILE หรือระบุ budget",
            "en": "No budget recorded: import one with flask --app api import-budgets FILE, or pass budget="},
        "value_per_baht": period["value_per_baht"], "value_per_baht_period": period,
        "provinces_live": len(years_live),
        "next_target": kpi_analysis.next_target(len(years_live)),
        "provinces_live_by_year": progress,
        "targets": [r for r in progress if r["target"] is not None],
        "by_year": [_year_row(y, t, budget_sum, live_by_year, value_rows, times) for y, t in by_year.items()
                    if y is not None],
        "by_province": {p: {**members.get(p, {"agencies": 0, "consultants": 0}),
                            **_province_row(p, t, budget_sum, value_rows, times)}
                        for p, t in _province_totals(agg, members).items()},
    }


def _value_per_baht(value_rows, budget_sum, value_total, province=None) -> dict:
    """Value per baht of the same period: each budgeted year's value over that year's budget; a budget given
    as one total (no years) divides all value by it."""
    rows = [r for r in value_rows if province is None or r["province"] == province]
    by_year: dict = {}
    for r in rows:
        by_year[r["year"]] = by_year.get(r["year"], 0.0) + float(r["value_baht"] or 0)
    budgets = budget_sum["by_year"] if province is None else budget_sum["by_province_year"].get(province, {})
    if not budgets:
        total = budget_sum["total"] if province is None else budget_sum["by_province"].get(province)
        return {"value_baht": float(value_total), "budget_baht": total, "years": None,
                "value_per_baht": kpi_analysis.value_per_baht(value_total, total)}
    return kpi_analysis.value_per_baht_by_period(by_year, budgets)


def _times(db) -> dict:
    """Days to accept (legs) and to complete (cases), as percentiles overall (key None), by year and province."""
    out = {}
    for name, rows, start, end in (("accept", store.acceptance_times(db), "sent_at", "accepted_at"),
                                   ("complete", store.completion_times(db), "created_at", "met_at")):
        groups: dict = {None: []}
        for r in rows:
            if not r[start] or not r[end]:
                continue
            days = (clock.parse(r[end]) - clock.parse(r[start])).total_seconds() / 86400
            for key in (None, ("year", r["year"]), ("province", r["province"])):
                groups.setdefault(key, []).append(days)
        out[name] = {k: kpi_analysis.percentiles(v) for k, v in groups.items()}
    return out


def _year_row(year, t, budget_sum, live_by_year, value_rows, times) -> dict:
    budget = budget_sum["by_year"].get(year)
    value = float(sum(r["value_baht"] or 0 for r in value_rows if r["year"] == year))
    empty = kpi_analysis.percentiles([])
    return {"year": year, "referrals": t["referrals"], "multi_agency_referrals": t["multi_agency"],
            "multi_agency_share": t["multi_agency_share"], "completed_legs": t["completed_legs"],
            "completion_rate": t["completion_rate"], "needs": t["needs"], "needs_met": t["needs_met"],
            "needs_met_share": t["needs_met_share"], "completed_referrals": t["completed_referrals"],
            "closed_referrals": t["closed_referrals"], "satisfaction_mean": t["satisfaction_mean"],
            "time_to_accept_days": times["accept"].get(("year", year), empty),
            "time_to_complete_days": times["complete"].get(("year", year), empty),
            "value_baht": t["value_baht"], "value_completed_baht": value, "budget_baht": budget,
            "value_per_baht": kpi_analysis.value_per_baht(value, budget),
            "provinces_live": live_by_year.get(year, {}).get("live")}


def _province_totals(agg, members) -> dict:
    by_province = kpi_analysis.totals_by([r for r in agg if r["province"]], "province")
    for p in members:
        by_province.setdefault(p, kpi_analysis.referral_totals([]))
    return dict(sorted(by_province.items()))


def _province_row(province, t, budget_sum, value_rows, times) -> dict:
    period = _value_per_baht(value_rows, budget_sum, t["value_baht"], province)
    empty = kpi_analysis.percentiles([])
    return {"referrals": t["referrals"], "multi_agency_share": t["multi_agency_share"],
            "completion_rate": t["completion_rate"], "needs": t["needs"], "needs_met": t["needs_met"],
            "needs_met_share": t["needs_met_share"], "completed_referrals": t["completed_referrals"],
            "satisfaction_mean": t["satisfaction_mean"],
            "time_to_accept_days": times["accept"].get(("province", province), empty),
            "time_to_complete_days": times["complete"].get(("province", province), empty),
            "value_baht": t["value_baht"], "budget_baht": budget_sum["by_province"].get(province),
            "value_per_baht": period["value_per_baht"]}
