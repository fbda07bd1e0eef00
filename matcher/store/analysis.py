"""Queries for the batch analysis of the network: demand, declines, budgets, KPI and cluster aggregates.

Every function returns plain dicts (aggregates only: no enterprise names or contact fields ever leave
this module). Periods are half-open ``[since, until)`` on ISO timestamps; ``None`` means unbounded.
A referral's province is its case's province, or its enterprise's when it has no case.
"""

from __future__ import annotations

from . import transaction

FINAL = ("completed", "closed_unresolved", "declined")
CLOSED_CASES = ("completed", "closed_partly_met", "closed_unmet")

_REFERRAL_PROVINCE = "coalesce(c.province, e.province)"
_REFERRAL_FROM = ("referrals r LEFT JOIN cases c ON c.id = r.case_id "
                  "LEFT JOIN enterprises e ON e.id = r.enterprise_id")


def _period(column: str, since=None, until=None) -> tuple[str, list]:
    """SQL condition and parameters for ``since <= column < until`` (either bound optional)."""
    where, params = ["1 = 1"], []
    if since:
        where.append(f"{column} >= ?")
        params.append(str(since))
    if until:
        where.append(f"{column} < ?")
        params.append(str(until))
    return " AND ".join(where), params


def case_period(db, since=None, until=None) -> dict:
    """First and last case timestamps in the period and the number of cases: ``{first, last, cases}``."""
    where, params = _period("created_at", since, until)
    first, last, n = db.execute(f"SELECT min(created_at), max(created_at), count(*) FROM cases WHERE {where}",
                                params).fetchone()
    return {"first": first, "last": last, "cases": n}


def cases_by_province(db, since=None, until=None) -> list[dict]:
    """Cases per province in the period: ``{province, cases}``."""
    where, params = _period("created_at", since, until)
    return list(db.query(f"SELECT province, count(*) AS cases FROM cases WHERE {where} GROUP BY province "
                         "ORDER BY province", params))


def number_of_referrals(db, since=None, until=None) -> int:
    """Referrals created in the period."""
    where, params = _period("created_at", since, until)
    return db.execute(f"SELECT count(*) FROM referrals WHERE {where}", params).fetchone()[0]

def case_demand(db, since=None, until=None) -> list[dict]:
    """Per (province, category): cases that needed it and how many of those needs no leg was sent for.

    ``{province, category, cases, unreferred}``; a need counts as referred when any leg of any referral of
    the case carries it (declined legs included: a decline is an answer, not a missing referral).
    """
    where, params = _period("c.created_at", since, until)
    return list(db.query(
        "WITH referred AS (SELECT DISTINCT r.case_id, k.value AS category FROM referrals r "
        "JOIN referral_legs l ON l.referral_id = r.id, json_each(l.needs) k WHERE r.case_id IS NOT NULL) "
        "SELECT c.province, j.value AS category, count(*) AS cases, sum(rf.case_id IS NULL) AS unreferred "
        "FROM cases c, json_each(c.needs) j "
        "LEFT JOIN referred rf ON rf.case_id = c.id AND rf.category = j.value "
        f"WHERE {where} GROUP BY c.province, j.value", params))


def monthly_case_demand(db, since=None, until=None) -> list[dict]:
    """Per (province, category, month ``YYYY-MM``): cases that needed the category."""
    where, params = _period("c.created_at", since, until)
    return list(db.query(
        "SELECT c.province, j.value AS category, substr(c.created_at, 1, 7) AS month, count(*) AS cases "
        f"FROM cases c, json_each(c.needs) j WHERE {where} GROUP BY 1, 2, 3", params))


def leg_demand(db, since=None, until=None) -> list[dict]:
    """Per (referral province, category): legs sent, completed, declined for lack of capacity, value.

    ``{province, category, legs, completed, declined, declined_capacity, value_baht}``.
    """
    where, params = _period("l.created_at", since, until)
    return list(db.query(
        f"SELECT {_REFERRAL_PROVINCE} AS province, j.value AS category, count(*) AS legs, "
        "sum(l.status = 'completed') AS completed, sum(l.status = 'declined') AS declined, "
        "sum(l.status = 'declined' AND l.decline_reason = 'no_capacity') AS declined_capacity, "
        "sum(CASE WHEN l.status = 'completed' THEN coalesce(l.value_baht, 0) ELSE 0 END) AS value_baht "
        "FROM referral_legs l JOIN referrals r ON r.id = l.referral_id LEFT JOIN cases c ON c.id = r.case_id "
        "LEFT JOIN enterprises e ON e.id = r.enterprise_id, json_each(l.needs) j "
        f"WHERE {where} AND {_REFERRAL_PROVINCE} IS NOT NULL GROUP BY 1, 2", params))


# -- KPIs --------------------------------------------------------------------------------------------

def members_by_province(db) -> list[dict]:
    """Active members per province and type: ``{province, type, members}``."""
    return list(db.query("SELECT province, type, count(*) AS members FROM members WHERE active = 1 "
                         "GROUP BY province, type ORDER BY province, type"))


def referral_aggregates(db) -> list[dict]:
    """Per (year sent, province): referrals, multi-agency referrals, legs by outcome, value created, needs met
    and closed, cases fully met and closed, and the enterprises' satisfaction.

    A referral is multi-agency when two or more distinct members hold legs of it. ``{year, province,
    referrals, multi_agency, completed_referrals (every need met), closed_referrals, legs, finished_legs,
    completed_legs, declined_legs, value_baht, needs, needs_met, needs_closed_unmet, satisfaction_sum,
    satisfaction_responses}``. Read at call time: nothing is cached.
    """
    final = ",".join(f"'{s}'" for s in FINAL)
    return list(db.query(
        "WITH per_referral AS ("
        f"SELECT r.id, CAST(substr(r.created_at, 1, 4) AS INTEGER) AS year, {_REFERRAL_PROVINCE} AS province, "
        "r.status, r.satisfaction, count(DISTINCT l.member_id) AS members, count(l.id) AS legs, "
        f"coalesce(sum(l.status IN ({final})), 0) AS finished, coalesce(sum(l.status = 'completed'), 0) AS completed, "
        "coalesce(sum(l.status = 'declined'), 0) AS declined, "
        "coalesce(sum(CASE WHEN l.status = 'completed' THEN coalesce(l.value_baht, 0) END), 0) AS value "
        f"FROM {_REFERRAL_FROM} LEFT JOIN referral_legs l ON l.referral_id = r.id GROUP BY r.id), "
        "per_needs AS (SELECT referral_id, count(*) AS needs, sum(status = 'met') AS met, "
        "sum(status = 'closed_unmet') AS closed FROM referral_needs GROUP BY referral_id) "
        "SELECT year, province, count(*) AS referrals, sum(members >= 2) AS multi_agency, "
        "sum(status = 'completed') AS completed_referrals, "
        f"sum(status IN ({','.join(repr(s) for s in CLOSED_CASES)})) AS closed_referrals, "
        "sum(legs) AS legs, sum(finished) AS finished_legs, "
        "sum(completed) AS completed_legs, sum(declined) AS declined_legs, sum(value) AS value_baht, "
        "coalesce(sum(n.needs), 0) AS needs, coalesce(sum(n.met), 0) AS needs_met, "
        "coalesce(sum(n.closed), 0) AS needs_closed_unmet, coalesce(sum(satisfaction), 0) AS satisfaction_sum, "
        "count(satisfaction) AS satisfaction_responses "
        "FROM per_referral p LEFT JOIN per_needs n ON n.referral_id = p.id "
        "GROUP BY year, province ORDER BY year, province"))


def value_by_completion_year(db) -> list[dict]:
    """Value created per (year the leg was completed, referral province): ``{year, province, value_baht}``;
    what value per baht divides by the budget of the same year."""
    return list(db.query(
        f"SELECT CAST(substr(coalesce(l.finished_at, l.updated_at), 1, 4) AS INTEGER) AS year, "
        f"{_REFERRAL_PROVINCE} AS province, sum(coalesce(l.value_baht, 0)) AS value_baht "
        f"FROM {_REFERRAL_FROM} JOIN referral_legs l ON l.referral_id = r.id "
        f"WHERE l.status = 'completed' GROUP BY 1, 2 ORDER BY 1, 2"))


def acceptance_times(db) -> list[dict]:
    """Every accepted leg: ``{year, province, sent_at, accepted_at}`` (year and province of its referral)."""
    return list(db.query(
        f"SELECT CAST(substr(r.created_at, 1, 4) AS INTEGER) AS year, {_REFERRAL_PROVINCE} AS province, "
        f"l.sent_at, l.accepted_at FROM {_REFERRAL_FROM} JOIN referral_legs l ON l.referral_id = r.id "
        f"WHERE l.accepted_at IS NOT NULL AND l.sent_at IS NOT NULL"))


def completion_times(db) -> list[dict]:
    """Every case with every need met: ``{year, province, created_at, met_at}`` (met_at: its last need's)."""
    return list(db.query(
        f"SELECT CAST(substr(r.created_at, 1, 4) AS INTEGER) AS year, {_REFERRAL_PROVINCE} AS province, "
        f"r.created_at, (SELECT max(n.met_at) FROM referral_needs n WHERE n.referral_id = r.id) AS met_at "
        f"FROM {_REFERRAL_FROM} WHERE r.status = 'completed'"))


def satisfaction_scores(db) -> dict[int, int]:
    """How many closed cases gave each satisfaction score (1-5)."""
    return dict(db.execute("SELECT satisfaction, count(*) FROM referrals WHERE satisfaction IS NOT NULL "
                           "GROUP BY satisfaction").fetchall())


def province_live_years(db) -> list[dict]:
    """Per province: the recorded year it went live and the year of its earliest active member.

    ``{code, live_since, first_member_year}`` (either may be None).
    """
    return list(db.query(
        "SELECT p.code, p.live_since, (SELECT min(CAST(substr(m.created_at, 1, 4) AS INTEGER)) FROM members m "
        "WHERE m.province = p.code AND m.active = 1) AS first_member_year FROM provinces p ORDER BY p.code"))


# -- budgets -----------------------------------------------------------------------------------------

def budgets(db) -> list[dict]:
    """Programme budget rows ``{province, year, baht, source, synthetic}``, by year then province."""
    return [dict(r, synthetic=bool(r["synthetic"]))
            for r in db.query("SELECT province, year, baht, source, synthetic FROM budgets ORDER BY year, province")]


def write_budgets(db, rows: list[dict]) -> int:
    """Insert or replace budget rows ``{province, year, baht[, source, synthetic]}`` in one transaction."""
    clean = [{"province": r["province"], "year": int(r["year"]), "baht": float(r["baht"]),
              "source": r.get("source"), "synthetic": int(bool(r.get("synthetic", False)))} for r in rows]
    with transaction(db):
        db["budgets"].upsert_all(clean, pk=("province", "year"))
    return len(clean)


def number_of_budget_rows(db) -> int:
    return db.execute("SELECT count(*) FROM budgets").fetchone()[0]


# -- clusters ----------------------------------------------------------------------------------------

def cluster_stage_counts(db) -> list[dict]:
    """Enterprises per cluster and value-chain stage: ``{cluster_id, stage, enterprises}`` (no names)."""
    return list(db.query("SELECT cluster_id, stage, count(*) AS enterprises FROM enterprises "
                         "WHERE cluster_id IS NOT NULL GROUP BY cluster_id, stage ORDER BY cluster_id, stage"))


def cluster_needs(db, cluster_id=None) -> list[dict]:
    """Per (cluster, stage, category): cases raising the need and distinct enterprises raising it.

    ``{cluster_id, stage, category, cases, enterprises}``.
    """
    where, params = ("e.cluster_id = ?", [cluster_id]) if cluster_id else ("e.cluster_id IS NOT NULL", [])
    return list(db.query(
        "SELECT e.cluster_id, e.stage, j.value AS category, count(*) AS cases, "
        "count(DISTINCT e.id) AS enterprises FROM cases c JOIN enterprises e ON e.id = c.enterprise_id, "
        f"json_each(c.needs) j WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", params))


def cluster_services(db, cluster_id=None) -> list[dict]:
    """Per (cluster, stage, member, category): legs the member held for the cluster's enterprises.

    ``{cluster_id, stage, member_id, category, legs, completed, value_baht}``.
    """
    where, params = ("e.cluster_id = ?", [cluster_id]) if cluster_id else ("e.cluster_id IS NOT NULL", [])
    return list(db.query(
        "SELECT e.cluster_id, e.stage, l.member_id, j.value AS category, count(*) AS legs, "
        "sum(l.status = 'completed') AS completed, "
        "sum(CASE WHEN l.status = 'completed' THEN coalesce(l.value_baht, 0) ELSE 0 END) AS value_baht "
        "FROM referral_legs l JOIN referrals r ON r.id = l.referral_id "
        "JOIN enterprises e ON e.id = r.enterprise_id, json_each(l.needs) j "
        f"WHERE {where} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4", params))

