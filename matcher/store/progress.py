"""How a referral progresses, in SQL: its needs' statuses, the release of legs that waited for the plan,
the roll-up of the case's status, the desk closing and re-opening a need, and overdue legs.

``refresh`` runs inside the transaction of every change: it applies ``matcher.lifecycle`` to the stored
needs and legs, releases waiting legs whose prerequisites are done (with their events and notifications),
stores each need's status and the case's, and records an event whenever the case's status changes.
"""

from __future__ import annotations

import json

from matcher import lifecycle
from matcher.clock import now_text

from . import bump_data_version, transaction
from .outbox import desk_recipient, member_recipient, notify

SYSTEM_ACTOR = "system"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def insert_event(db, referral_id, leg_id, actor, at, from_status, to_status, data) -> int:
    return db.execute(
        "INSERT INTO referral_events (referral_id, leg_id, actor, at, from_status, to_status, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [referral_id, leg_id, actor, at, from_status, to_status, _dumps(data) if data else None]).lastrowid


# -- reads ---------------------------------------------------------------------------------------------

def need_rows(db, referral_id: int) -> list[dict]:
    """The case's needs in order, with their plan step, prerequisites, status and closure."""
    return [dict(r, prerequisites=json.loads(r["prerequisites"] or "[]")) for r in db.query(
        "SELECT * FROM referral_needs WHERE referral_id = ? ORDER BY position", [referral_id])]


def _legs(db, referral_id: int) -> list[dict]:
    return [dict(r, needs=json.loads(r["needs"])) for r in db.query(
        "SELECT id, member_id, needs, status, step, overdue FROM referral_legs WHERE referral_id = ? ORDER BY id",
        [referral_id])]


def referral_desk(db, referral_id: int) -> str | None:
    row = db.execute("SELECT desk FROM referrals WHERE id = ?", [referral_id]).fetchone()
    return row[0] if row else None


# -- the roll-up ---------------------------------------------------------------------------------------

def refresh(db, referral_id: int, *, actor: str, at: str) -> dict:
    """Release ready legs, store every need's status and the case's; ``{"status", "released": [ids]}``.

    Call inside a transaction. A release may make more needs ready only through completions, so one pass
    releases everything that is ready now.
    """
    needs, legs = need_rows(db, referral_id), _legs(db, referral_id)
    states = lifecycle.need_states(needs, legs)
    released = [release(db, referral_id, leg, at) for leg in lifecycle.ready_legs(needs, legs, states)]
    if released:
        legs = _legs(db, referral_id)
        states = lifecycle.need_states(needs, legs)
    for row in needs:
        _store_need(db, referral_id, row, states[row["need"]], at)
    return {"status": _store_status(db, referral_id, lifecycle.referral_status(states), actor, at),
            "released": released}


def release(db, referral_id: int, leg: dict, at: str) -> int:
    """A waiting leg becomes actionable: status, event and a "leg ready" notification to its member."""
    db.execute("UPDATE referral_legs SET status = 'sent', sent_at = ?, updated_at = ? WHERE id = ? "
               "AND status = 'waiting'", [at, at, leg["id"]])
    event = insert_event(db, referral_id, leg["id"], SYSTEM_ACTOR, at, "waiting", "sent",
                         {"event": "released", "step": leg["step"]})
    notify(db, recipient=member_recipient(leg["member_id"]), kind="leg_ready", referral_id=referral_id,
           leg_id=leg["id"], event_id=event, data={"needs": leg["needs"], "step": leg["step"]}, at=at)
    return leg["id"]


def _store_need(db, referral_id: int, row: dict, state: dict, at: str) -> None:
    if (row["status"], row["detail"], row["leg_id"]) == (state["status"], state["detail"], state["leg_id"]):
        return
    met_at = at if state["status"] == "met" else None
    db.execute("UPDATE referral_needs SET status = ?, detail = ?, leg_id = ?, met_at = ?, updated_at = ? "
               "WHERE referral_id = ? AND need = ?",
               [state["status"], state["detail"], state["leg_id"], met_at, at, referral_id, row["need"]])


def _store_status(db, referral_id: int, new: str, actor: str, at: str) -> str:
    old = db.execute("SELECT status FROM referrals WHERE id = ?", [referral_id]).fetchone()[0]
    if new != old:
        db.execute("UPDATE referrals SET status = ?, updated_at = ? WHERE id = ?", [new, at, referral_id])
        insert_event(db, referral_id, None, actor, at, old, new, {"event": "status_rollup"})
    return new


# -- needs closed and re-opened by the desk ------------------------------------------------------------

def close_need(db, *, referral_id: int, need: str, reason: str, note: str | None, actor: str, at: str) -> dict:
    """Close a need unmet (with its event); open legs left with only closed needs are withdrawn.

    Returns ``{"closed": True, "status", "withdrawn": [leg ids]}``, or ``{"closed": False, "current":
    <the need's status>}`` when it is met or already closed (nothing written).
    """
    with transaction(db):
        row = _need(db, referral_id, need)
        if row is None or row["status"] in ("met", "closed_unmet"):
            return {"closed": False, "current": row["status"] if row else None}
        db.execute("UPDATE referral_needs SET closed_reason = ?, closed_note = ?, closed_by = ?, closed_at = ? "
                   "WHERE referral_id = ? AND need = ?", [reason, note, actor, at, referral_id, need])
        insert_event(db, referral_id, None, actor, at, row["status"], "closed_unmet",
                     {"event": "need_closed", "need": need, "reason": reason, **({"note": note} if note else {})})
        withdrawn = _withdraw_closed_legs(db, referral_id, actor, at)
        done = refresh(db, referral_id, actor=actor, at=at)
        bump_data_version(db, "load")
        return {"closed": True, "status": done["status"], "withdrawn": withdrawn}


def reopen_need(db, *, referral_id: int, need: str, actor: str, at: str) -> dict:
    """Re-open a need the desk closed; ``{"reopened": True, "status", "need_status"}`` or ``{"reopened":
    False, "current"}`` when it is not closed."""
    with transaction(db):
        row = _need(db, referral_id, need)
        if row is None or row["status"] != "closed_unmet":
            return {"reopened": False, "current": row["status"] if row else None}
        db.execute("UPDATE referral_needs SET closed_reason = NULL, closed_note = NULL, closed_by = NULL, "
                   "closed_at = NULL WHERE referral_id = ? AND need = ?", [referral_id, need])
        done = refresh(db, referral_id, actor=actor, at=at)
        now = _need(db, referral_id, need)
        insert_event(db, referral_id, None, actor, at, "closed_unmet", now["status"],
                     {"event": "need_reopened", "need": need})
        bump_data_version(db, "load")
        return {"reopened": True, "status": done["status"], "need_status": now["status"]}


def _need(db, referral_id: int, need: str) -> dict | None:
    rows = list(db.query("SELECT * FROM referral_needs WHERE referral_id = ? AND need = ?", [referral_id, need]))
    return rows[0] if rows else None


def _withdraw_closed_legs(db, referral_id: int, actor: str, at: str) -> list[int]:
    closed = {r[0] for r in db.execute("SELECT need FROM referral_needs WHERE referral_id = ? AND "
                                       "closed_reason IS NOT NULL", [referral_id])}
    out = []
    for leg in _legs(db, referral_id):
        if leg["status"] in lifecycle.OPEN and set(leg["needs"]) <= closed:
            db.execute("UPDATE referral_legs SET status = 'withdrawn', finished_at = ?, updated_at = ? WHERE id = ?",
                       [at, at, leg["id"]])
            event = insert_event(db, referral_id, leg["id"], actor, at, leg["status"], "withdrawn",
                                 {"event": "withdrawn", "needs": leg["needs"]})
            notify(db, recipient=member_recipient(leg["member_id"]), kind="withdrawn", referral_id=referral_id,
                   leg_id=leg["id"], event_id=event, data={"needs": leg["needs"], "step": leg["step"]}, at=at)
            out.append(leg["id"])
    return out


# -- overdue legs --------------------------------------------------------------------------------------

def open_legs_with_times(db) -> list[dict]:
    """Sent, accepted and in-progress legs not yet recorded overdue, with what their deadlines need."""
    return [dict(r, needs=json.loads(r["needs"])) for r in db.query(
        "SELECT id, referral_id, member_id, needs, status, step, sent_at, accepted_at FROM referral_legs "
        "WHERE status IN ('sent', 'accepted', 'in_progress') AND overdue IS NULL")]


def record_overdue(db, found: list[tuple[dict, str]], at: str) -> int:
    """Record each (leg, kind) as overdue once: the leg's mark, its event, notifications to the desk and the
    member, and the case's roll-up. How many were recorded (a leg moved meanwhile is skipped)."""
    recorded = 0
    with transaction(db):
        for leg, kind in found:
            cur = db.execute("UPDATE referral_legs SET overdue = ? WHERE id = ? AND status = ? AND overdue IS NULL",
                             [kind, leg["id"], leg["status"]])
            if cur.rowcount != 1:
                continue
            event = insert_event(db, leg["referral_id"], leg["id"], SYSTEM_ACTOR, at, leg["status"], leg["status"],
                                 {"event": "overdue", "kind": kind})
            data = {"needs": leg["needs"], "step": leg["step"], "overdue": kind, "member": leg["member_id"]}
            for recipient in (desk_recipient(referral_desk(db, leg["referral_id"])),
                              member_recipient(leg["member_id"])):
                notify(db, recipient=recipient, kind="overdue", referral_id=leg["referral_id"], leg_id=leg["id"],
                       event_id=event, data=data, at=at)
            refresh(db, leg["referral_id"], actor=SYSTEM_ACTOR, at=at)
            recorded += 1
        if recorded:
            bump_data_version(db, "load")
    return recorded


def needs_action(db, *, desk: str | None = None, limit: int = 200) -> list[dict]:
    """The needs that need action (oldest first), with their case, member and leg: the desk's queue.
    ``desk`` narrows it to one desk's referrals."""
    where, params = ("AND r.desk = ?", [desk]) if desk is not None else ("", [])
    return [dict(r, needs=json.loads(r["needs"]) if r["needs"] else []) for r in db.query(
        "SELECT n.referral_id, n.need, n.step, n.detail, n.leg_id, n.updated_at, r.desk, r.created_at, "
        "c.province, l.member_id, l.status AS leg_status, l.sent_at, l.accepted_at, l.needs, l.decline_reason "
        "FROM referral_needs n JOIN referrals r ON r.id = n.referral_id LEFT JOIN cases c ON c.id = r.case_id "
        f"LEFT JOIN referral_legs l ON l.id = n.leg_id WHERE n.status = 'needs_action' {where} "
        "ORDER BY n.updated_at, n.referral_id, n.position LIMIT ?", [*params, limit])]


# -- every referral at once (migration, seeding) -------------------------------------------------------

def recompute_all(db) -> int:
    """Give every referral its need rows (from its case) and its true status; how many referrals.

    Reads only columns present since the referral-loop migration; releases nothing and sends nothing (a
    leg written before the plan was kept in the legs never waits). A status that changes gets its event.
    """
    db.execute("INSERT OR IGNORE INTO referral_needs (referral_id, need, position, status) "
               "SELECT r.id, j.value, j.key, 'needs_action' FROM referrals r JOIN cases c ON c.id = r.case_id, "
               "json_each(c.needs) j")
    db.execute("UPDATE referral_legs SET sent_at = created_at WHERE sent_at IS NULL AND status != 'waiting'")
    accepted = db.execute("SELECT e.leg_id, min(e.at) FROM referral_events e JOIN referral_legs l ON l.id = e.leg_id "
                          "WHERE e.to_status = 'accepted' AND l.accepted_at IS NULL GROUP BY e.leg_id").fetchall()
    db.conn.executemany("UPDATE referral_legs SET accepted_at = ? WHERE id = ?", [(at, leg) for leg, at in accepted])
    finished = db.execute("SELECT e.leg_id, max(e.at) FROM referral_events e JOIN referral_legs l ON l.id = e.leg_id "
                          "WHERE e.to_status = l.status AND l.finished_at IS NULL AND l.status IN ('completed', "
                          "'closed_unresolved', 'declined', 'withdrawn') GROUP BY e.leg_id").fetchall()
    db.conn.executemany("UPDATE referral_legs SET finished_at = ? WHERE id = ?", [(at, leg) for leg, at in finished])
    db.execute("UPDATE referrals SET tracking_code = upper(hex(randomblob(8))) WHERE tracking_code IS NULL")
    ids = [r[0] for r in db.execute("SELECT id FROM referrals ORDER BY id")]
    legs_by: dict[int, list] = {i: [] for i in ids}
    for r in db.query("SELECT id, referral_id, needs, status, overdue FROM referral_legs ORDER BY id"):
        legs_by.setdefault(r["referral_id"], []).append(dict(r, needs=json.loads(r["needs"])))
    needs_by: dict[int, list] = {i: [] for i in ids}
    for r in db.query("SELECT * FROM referral_needs ORDER BY referral_id, position"):
        needs_by.setdefault(r["referral_id"], []).append(dict(r, prerequisites=json.loads(r["prerequisites"])))
    last_at = dict(db.execute("SELECT referral_id, max(at) FROM referral_events GROUP BY referral_id").fetchall())
    stored = dict(db.execute("SELECT id, status FROM referrals").fetchall())
    at = now_text()
    finished_at = dict(db.execute("SELECT id, finished_at FROM referral_legs WHERE status = 'completed'").fetchall())
    for rid in ids:
        states, status = lifecycle.roll_up(needs_by[rid], legs_by[rid])
        db.conn.executemany(
            "UPDATE referral_needs SET status = ?, detail = ?, leg_id = ?, met_at = ?, updated_at = ? "
            "WHERE referral_id = ? AND need = ?",
            [(s["status"], s["detail"], s["leg_id"], finished_at.get(s["leg_id"]) if s["status"] == "met" else None,
              last_at.get(rid), rid, need) for need, s in states.items()])
        if status != stored[rid]:
            db.execute("UPDATE referrals SET status = ? WHERE id = ?", [status, rid])
            insert_event(db, rid, None, SYSTEM_ACTOR, at, stored[rid], status,
                         {"event": "status_rollup", "recomputed": True})
    return len(ids)
