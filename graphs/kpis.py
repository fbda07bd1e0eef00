"""Programme KPIs from aggregate rows: members, referrals, completion, value per baht, provinces live.

Published rollout targets: 22 provinces live in 2019, 44 in 2021 and all 77 (76 provinces and Bangkok)
in 2023. Every function returns plain numbers (ints, floats, None where undefined).
"""

from __future__ import annotations

from collections import defaultdict

TARGETS = {2019: 22, 2021: 44, 2023: 77}

_SUMS = ("referrals", "multi_agency", "completed_referrals", "closed_referrals", "legs", "finished_legs",
         "completed_legs", "declined_legs", "value_baht", "needs", "needs_met", "needs_closed_unmet",
         "satisfaction_sum", "satisfaction_responses")


def ratio(numerator, denominator) -> float | None:
    """numerator / denominator rounded to 4 places, or None when the denominator is 0."""
    return round(float(numerator) / float(denominator), 4) if denominator else None


def referral_totals(rows) -> dict:
    """Totals over ``matcher.store.analysis.referral_aggregates`` rows, with the derived rates.

    ``multi_agency_share`` = multi-agency referrals / referrals; ``completion_rate`` = completed legs /
    legs that reached a final status (completed, closed unresolved or declined); ``needs_met_share`` = needs
    met / needs; ``fully_met_share`` = cases with every need met / closed cases; ``satisfaction_mean`` =
    mean score (1-5) of the cases that gave one. O(rows).
    """
    total = {k: 0 for k in _SUMS}
    for r in rows:
        for k in _SUMS:
            total[k] += r.get(k) or 0
    total["value_baht"] = float(total["value_baht"])
    total["multi_agency_share"] = ratio(total["multi_agency"], total["referrals"])
    total["completion_rate"] = ratio(total["completed_legs"], total["finished_legs"])
    total["needs_met_share"] = ratio(total["needs_met"], total["needs"])
    total["fully_met_share"] = ratio(total["completed_referrals"], total["closed_referrals"])
    total["satisfaction_mean"] = (round(total["satisfaction_sum"] / total["satisfaction_responses"], 2)
                                  if total["satisfaction_responses"] else None)
    return total


def percentiles(values) -> dict:
    """``{"p50", "p90", "n"}`` of a list of numbers (days), rounded to 0.1; None when empty. O(n log n)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p90": None, "n": 0}

    def at(q: float) -> float:
        k = (len(ordered) - 1) * q
        low, high = int(k), min(int(k) + 1, len(ordered) - 1)
        return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low), 1)

    return {"p50": at(0.5), "p90": at(0.9), "n": len(ordered)}


def value_per_baht_by_period(value_by_year: dict, budget_by_year: dict) -> dict:
    """Value per baht over the years that have a budget, each year's value against that year's budget:
    ``{"value_baht", "budget_baht", "value_per_baht", "years"}``; value from years without a budget is left
    out (reported apart). O(years)."""
    years = sorted(y for y in budget_by_year if budget_by_year[y])
    value = float(sum(value_by_year.get(y, 0.0) for y in years))
    budget = float(sum(budget_by_year[y] for y in years))
    return {"value_baht": value, "budget_baht": budget if years else None,
            "value_per_baht": value_per_baht(value, budget), "years": years}


def totals_by(rows, key: str) -> dict:
    """``referral_totals`` per value of ``key`` (``year`` or ``province``), keys sorted. O(rows)."""
    groups: dict = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    return {k: referral_totals(groups[k]) for k in sorted(groups, key=lambda k: (k is None, k))}


def members_by_province(rows) -> dict[str, dict]:
    """Province -> ``{"agencies", "consultants"}`` from ``{province, type, members}`` rows. O(rows)."""
    out: dict = defaultdict(lambda: {"agencies": 0, "consultants": 0})
    for r in rows:
        out[r["province"]]["agencies" if r["type"] == "agency" else "consultants"] += int(r["members"])
    return dict(sorted(out.items()))


def live_years(rows) -> dict[str, int]:
    """Province -> the year it went live: its recorded ``live_since``, else the year of its first active
    member; provinces with neither are not live. O(rows)."""
    out = {}
    for r in rows:
        year = r.get("live_since") or r.get("first_member_year")
        if year:
            out[r["code"]] = int(year)
    return out


def provinces_live_by_year(years_live: dict[str, int], years) -> dict[int, int]:
    """Year -> number of provinces live by the end of that year. O(P * years)."""
    return {y: sum(1 for v in years_live.values() if v <= y) for y in years}


def targets_progress(years_live: dict[str, int], *, targets=None, until: int | None = None) -> list[dict]:
    """Provinces live each year from the first year live to the last target year (or ``until``).

    Each row: ``{year, live, target, met}``; ``target`` and ``met`` are None in years with no target.
    O(P * years).
    """
    targets = TARGETS if targets is None else targets
    first = min(list(years_live.values()) + list(targets))
    last = max([until or 0] + list(targets))
    live = provinces_live_by_year(years_live, range(first, last + 1))
    return [{"year": y, "live": n, "target": targets.get(y),
             "met": (n >= targets[y]) if y in targets else None} for y, n in live.items()]


def next_target(live_now: int, targets=None) -> int | None:
    """The smallest published target above ``live_now`` (None when all are met)."""
    above = [t for t in sorted((targets or TARGETS).values()) if t > live_now]
    return above[0] if above else None


def budget_totals(rows) -> dict:
    """``{"total": baht, "by_year": {year: baht}, "by_province": {code: baht}}`` from budget rows.

    A row without a year (or province) counts in the total only. O(rows).
    """
    by_year, by_province = defaultdict(float), defaultdict(float)
    by_province_year: dict = defaultdict(lambda: defaultdict(float))
    for r in rows:
        if r.get("year") is not None:
            by_year[int(r["year"])] += float(r["baht"])
        if r.get("province") is not None:
            by_province[r["province"]] += float(r["baht"])
            if r.get("year") is not None:
                by_province_year[r["province"]][int(r["year"])] += float(r["baht"])
    return {"total": float(sum(float(r["baht"]) for r in rows)), "by_year": dict(sorted(by_year.items())),
            "by_province": dict(sorted(by_province.items())),
            "by_province_year": {p: dict(v) for p, v in sorted(by_province_year.items())}}


def value_per_baht(value_baht: float, budget_baht: float | None) -> float | None:
    """Economic value created per baht of budget (None without a positive budget)."""
    return round(float(value_baht) / float(budget_baht), 4) if budget_baht and budget_baht > 0 else None
