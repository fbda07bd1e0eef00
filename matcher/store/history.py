"""Referral history: bulk writes (seeding, import) and the aggregates the engine learns from.

The referral lifecycle itself (creating referrals, moving legs, the event log) lives in
``matcher/store/referrals.py``; this module holds what the snapshot and the scorer read.
"""

from __future__ import annotations

import json

from . import bump_data_version, transaction

OPEN_STATUSES = ("sent", "accepted", "in_progress")
FINAL_STATUSES = ("completed", "closed_unresolved", "declined")


def write_history(db, *, cases, referrals, legs, events, truth=(), truth_members=()) -> None:
    """Insert a batch of historical cases, referrals, legs and events in one transaction."""
    with transaction(db):
        for table, rows in (("cases", cases), ("referrals", referrals), ("referral_legs", legs),
                            ("referral_events", events), ("demo_truth", truth),
                            ("demo_truth_members", truth_members)):
            if rows:
                db[table].insert_all(rows, batch_size=2000)
        forget_leg_changes(db)  # every reader rebuilds from the tables after this bump
        bump_data_version(db)


def open_load(db) -> dict[str, int]:
    """Open legs per member (sent, accepted or in progress): the current load against capacity."""
    marks = ",".join("?" * len(OPEN_STATUSES))
    return dict(db.execute(f"SELECT member_id, count(*) FROM referral_legs WHERE status IN ({marks}) "
                           f"GROUP BY member_id", OPEN_STATUSES).fetchall())


def leg_outcomes(db) -> list[dict]:
    """Every finished leg with what is needed to learn from it (one row per leg, oldest first)."""
    marks = ",".join("?" * len(FINAL_STATUSES))
    return list(db.query(
        f"SELECT l.id, l.referral_id, l.member_id, l.needs, l.status, l.value_baht, l.decline_reason, "
        f"l.created_at, c.province AS case_province, e.sector, e.cluster_id "
        f"FROM referral_legs l JOIN referrals r ON r.id = l.referral_id "
        f"LEFT JOIN cases c ON c.id = r.case_id LEFT JOIN enterprises e ON e.id = r.enterprise_id "
        f"WHERE l.status IN ({marks}) ORDER BY l.created_at, l.id", FINAL_STATUSES))


def member_category_stats(db) -> list[dict]:
    """Per (member, category): finished legs, completed legs and value created (from leg needs JSON)."""
    return list(db.query(
        "SELECT l.member_id, j.value AS category, count(*) AS finished, "
        "sum(l.status = 'completed') AS completed, sum(coalesce(l.value_baht, 0)) AS value_baht "
        "FROM referral_legs l, json_each(l.needs) j WHERE l.status IN ('completed', 'closed_unresolved', "
        "'declined') GROUP BY l.member_id, j.value"))


def collaborations(db) -> list[dict]:
    """Pairs of members who worked on the same referral: joint referrals and jointly completed ones."""
    return list(db.query(
        "SELECT a.member_id AS u, b.member_id AS v, count(DISTINCT a.referral_id) AS joint, "
        "sum(a.status = 'completed' AND b.status = 'completed') AS completed "
        "FROM referral_legs a JOIN referral_legs b ON a.referral_id = b.referral_id "
        "AND a.member_id < b.member_id WHERE a.status != 'declined' AND b.status != 'declined' "
        "GROUP BY a.member_id, b.member_id"))


def demo_truth(db) -> dict[int, float]:
    """The demo generator's hidden success probability per leg (evaluation only)."""
    return dict(db.execute("SELECT leg_id, p_success FROM demo_truth").fetchall())


def demo_truth_members(db) -> dict[str, float]:
    """The demo generator's hidden quality of each member (evaluation only; empty for other data)."""
    if not db["demo_truth_members"].exists():
        return {}
    return dict(db.execute("SELECT member_id, quality FROM demo_truth_members").fetchall())


def joint_referrals(db) -> list[dict]:
    """Pairs of members who were sent on the same referral, whatever became of their legs: ``u``, ``v``
    (u < v) and the number of referrals (``joint``). The synthetic generator's own count of past joint work
    (evaluation only; the engine reads ``collaborations``)."""
    return list(db.query(
        "SELECT a.member_id AS u, b.member_id AS v, count(DISTINCT a.referral_id) AS joint "
        "FROM referral_legs a JOIN referral_legs b ON a.referral_id = b.referral_id "
        "AND a.member_id < b.member_id GROUP BY a.member_id, b.member_id"))


def worked_legs(db, leg_ids=None) -> list[tuple]:
    """Every leg a member accepted and finished (completed or closed unresolved), as tuples: member id, the
    mean of its specialisation over the leg's needs (0 for a need it no longer offers), the case's province,
    the enterprise's sector and its cluster's sector, and whether it completed. What a member's record
    against expectation is computed from (``matcher.engine.record``). ``leg_ids``: only those legs."""
    only, params = ("AND l.id IN (SELECT value FROM json_each(?)) ", [json.dumps(list(leg_ids))]) \
        if leg_ids is not None else ("", [])
    return db.execute(
        "SELECT l.member_id, avg(coalesce(o.specialisation, 0)), c.province, e.sector, k.sector, "
        "l.status = 'completed' FROM referral_legs l JOIN json_each(l.needs) j "
        "LEFT JOIN offerings o ON o.member_id = l.member_id AND o.category = j.value "
        "JOIN referrals r ON r.id = l.referral_id LEFT JOIN cases c ON c.id = r.case_id "
        "LEFT JOIN enterprises e ON e.id = r.enterprise_id LEFT JOIN clusters k ON k.id = e.cluster_id "
        f"WHERE l.status IN ('completed', 'closed_unresolved') {only}GROUP BY l.id", params).fetchall()


def enterprise_profiles(db) -> list[dict]:
    """Every enterprise's province, sector and cluster (no names or contacts): what a case is drawn from
    when the engine is evaluated."""
    return list(db.query("SELECT id, province, sector, cluster_id FROM enterprises ORDER BY id"))


def history_span(db) -> dict:
    """Referrals in the history and the calendar months they span."""
    row = db.execute("SELECT count(*), min(created_at), max(created_at) FROM referrals").fetchone()
    months = 0
    if row[1] and row[2]:
        (y0, m0), (y1, m1) = (map(int, row[1][:7].split("-")), map(int, row[2][:7].split("-")))
        months = (y1 - y0) * 12 + m1 - m0 + 1
    return {"referrals": int(row[0]), "months": months}


def month_load(db, since: str) -> dict[str, int]:
    """Legs each member received at or after ``since`` (the start of the month: ISO text), whatever their
    status now: the load of the month against the member's monthly capacity."""
    return dict(db.execute("SELECT member_id, count(*) FROM referral_legs WHERE created_at >= ? "
                           "GROUP BY member_id", [since]).fetchall())


def next_ids(db) -> dict[str, int]:
    """The next free integer id of each history table (for bulk writers that assign ids)."""
    out = {}
    for table in ("cases", "referrals", "referral_legs", "referral_events", "enterprises"):
        out[table] = (db.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
    return out


def member_work(db, member_id: str) -> dict:
    """A member's referral legs in numbers: ``{"totals": {...}, "by_category": [{...}]}`` with the legs
    received, open, worked to the end (completed or closed unresolved), completed, declined and the value
    created (baht, completed legs). Totals count each leg once; a leg covering several categories counts
    under each of them in ``by_category``."""
    counts = ("count(*) AS received, sum(l.status IN ('sent', 'accepted', 'in_progress')) AS open, "
              "sum(l.status IN ('completed', 'closed_unresolved')) AS finished, "
              "sum(l.status = 'completed') AS completed, sum(l.status = 'declined') AS declined, "
              "sum(CASE WHEN l.status = 'completed' THEN coalesce(l.value_baht, 0) ELSE 0 END) AS value_baht")
    totals = next(db.query(f"SELECT {counts} FROM referral_legs l WHERE l.member_id = ?", [member_id]))
    by_category = list(db.query(
        f"SELECT j.value AS category, {counts} FROM referral_legs l, json_each(l.needs) j "
        f"WHERE l.member_id = ? GROUP BY j.value ORDER BY j.value", [member_id]))
    return {"totals": {k: v or 0 for k, v in totals.items()},
            "by_category": [{k: (v or 0) if k != "category" else v for k, v in row.items()} for row in by_category]}


# -- the journal of leg changes (written by triggers; see the schema) -----------------------------------------


def change_position(db) -> int:
    """The sequence number of the last journaled leg change (0 when none): where a snapshot built now stands."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'leg_changes'").fetchone()
    return int(row[0]) if row else 0


def leg_changes_since(db, position: int, limit: int) -> list[dict] | None:
    """The journaled leg changes after ``position``, oldest first; None when more than ``limit`` of them are
    waiting or when the journal no longer reaches back to ``position`` (the reader then rebuilds)."""
    first = db.execute("SELECT min(seq) FROM leg_changes").fetchone()[0]
    if first is not None and first > position + 1:
        return None
    rows = list(db.query("SELECT * FROM leg_changes WHERE seq > ? ORDER BY seq LIMIT ?", [position, limit + 1]))
    return None if len(rows) > limit else rows


def legs_of_referrals(db, referral_ids) -> list[tuple]:
    """(referral id, leg id, member id, status) of every leg of the given referrals."""
    return db.execute("SELECT referral_id, id, member_id, status FROM referral_legs "
                      "WHERE referral_id IN (SELECT value FROM json_each(?))",
                      [json.dumps(sorted(referral_ids))]).fetchall()


def forget_leg_changes(db) -> None:
    """Empty the journal of leg changes (after bulk writes that make every reader rebuild anyway); nothing on a
    store that predates the journal."""
    if db["leg_changes"].exists():
        db.execute("DELETE FROM leg_changes")


def trim_leg_changes(db, keep: int) -> int:
    """Delete all but the latest ``keep`` journaled leg changes (a reader further behind rebuilds); returns how
    many were deleted."""
    if not db["leg_changes"].exists():
        return 0
    with transaction(db):
        return db.execute("DELETE FROM leg_changes WHERE seq <= (SELECT max(seq) FROM leg_changes) - ?",
                          [keep]).rowcount
