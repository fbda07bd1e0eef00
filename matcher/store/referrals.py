"""The referral lifecycle in SQL: create (enterprise, case, referral, legs, events in one transaction), move
a leg (optimistic ``UPDATE ... WHERE status = ?`` plus its event and the roll-up), add re-matched legs, list
with filters, and the append-only log of personal-data reads.

Every write runs in one IMMEDIATE transaction and bumps ``data_version``, so member statistics, load and
the collaboration graph (``history.py``, read by the snapshot) follow each outcome. Rows go in and come
out as plain dicts; needs and event data are JSON text in the tables and lists/dicts here.
"""

from __future__ import annotations

import json
import sqlite3

from matcher import lifecycle
from matcher.lifecycle import FINAL

from . import bump_data_version, progress, transaction
from .outbox import desk_recipient, member_recipient, notify
from .progress import insert_event

LEG_COLUMNS = ("id, referral_id, member_id, needs, status, step, decline_reason, value_baht, note, "
               "replaces_leg_id, sent_at, accepted_at, finished_at, overdue, created_at, updated_at")




def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _leg(row: dict) -> dict:
    return dict(row, needs=json.loads(row["needs"]))


# -- create --------------------------------------------------------------------------------------------

def find_idempotent(db, idempotency_key: str) -> dict | None:
    """The referral created earlier under this (scoped) key: ``{"id", "request_hash"}``, or None."""
    row = db.execute("SELECT id, request_hash FROM referrals WHERE idempotency_key = ?",
                     [idempotency_key]).fetchone()
    return {"id": row[0], "request_hash": row[1]} if row else None


def enterprise_row(db, enterprise_id: int) -> dict | None:
    """The enterprise's row, personal fields included (the caller decides what leaves), or None."""
    return _one(db, "SELECT * FROM enterprises WHERE id = ?", [enterprise_id])


def enterprise_desks(db, enterprise_id: int) -> list[str]:
    """The desks that have handled a case of this enterprise."""
    return [r[0] for r in db.execute("SELECT DISTINCT desk FROM cases WHERE enterprise_id = ? AND desk IS NOT NULL",
                                     [enterprise_id]).fetchall()]


def create_referral(db, *, enterprise: dict | None, enterprise_id: int | None, case: dict, referral: dict,
                    needs: list[dict], legs: list[dict], actor: str, at: str, event_data: dict) -> tuple[int, bool]:
    """Write a referral and everything it needs in ONE transaction; return ``(referral id, created)``.

    ``enterprise`` is a new enterprise row (or None with ``enterprise_id``); ``needs`` are ``{"need", "step",
    "prerequisites"}`` in the case's order; ``legs`` are ``{"member_id", "needs", "step"}``. A leg whose
    needs have prerequisites starts ``waiting``, the others ``sent``; each member is notified. When
    ``referral["idempotency_key"]`` was used before, nothing is written and the earlier referral's id comes
    back with ``created=False`` (the caller compares ``request_hash``).
    """
    key = referral.get("idempotency_key")
    try:
        with transaction(db):
            earlier = find_idempotent(db, key) if key else None
            if earlier:
                return earlier["id"], False
            if enterprise is not None:
                enterprise_id = db["enterprises"].insert(dict(enterprise, created_at=at)).last_pk
            case_id = db["cases"].insert(dict(case, needs=_dumps(case["needs"]), enterprise_id=enterprise_id,
                                              created_at=at)).last_pk
            referral_id = db["referrals"].insert(dict(referral, case_id=case_id, enterprise_id=enterprise_id,
                                                      status="sent", created_at=at, updated_at=at)).last_pk
            insert_event(db, referral_id, None, actor, at, None, "sent", event_data)
            for position, need in enumerate(needs):
                db["referral_needs"].insert({"referral_id": referral_id, "need": need["need"], "position": position,
                                             "step": need.get("step", 1),
                                             "prerequisites": _dumps(need.get("prerequisites") or []),
                                             "status": "waiting", "updated_at": at})
            prerequisites = {n["need"]: n.get("prerequisites") or [] for n in needs}
            for leg in legs:
                _insert_leg(db, referral_id, leg, actor, at, prerequisites)
            progress.refresh(db, referral_id, actor=actor, at=at)
            bump_data_version(db, "load")
            return referral_id, True
    except sqlite3.IntegrityError:
        earlier = find_idempotent(db, key) if key else None
        if earlier is None:
            raise
        return earlier["id"], False


def _insert_leg(db, referral_id: int, leg: dict, actor: str, at: str, prerequisites: dict) -> int:
    status = "waiting" if lifecycle.waits_for(leg, prerequisites) else "sent"
    row = {"referral_id": referral_id, "member_id": leg["member_id"], "needs": _dumps(leg["needs"]),
           "status": status, "step": leg.get("step", 1), "replaces_leg_id": leg.get("replaces_leg_id"),
           "sent_at": at if status == "sent" else None, "created_at": at, "updated_at": at}
    leg_id = db["referral_legs"].insert(row).last_pk
    data = {"needs": leg["needs"], "step": row["step"]}
    if leg.get("replaces_leg_id"):
        data["replaces_leg_id"] = leg["replaces_leg_id"]
    event = insert_event(db, referral_id, leg_id, actor, at, None, status, data)
    notify(db, recipient=member_recipient(leg["member_id"]), kind="new_leg", referral_id=referral_id, leg_id=leg_id,
           event_id=event, data=dict(data, status=status), at=at)
    return leg_id


# -- read ----------------------------------------------------------------------------------------------

def referral_record(db, referral_id: int) -> dict | None:
    """The referral, its case, its enterprise (with personal fields) and its legs; None when absent."""
    ref = _one(db, "SELECT * FROM referrals WHERE id = ?", [referral_id])
    if ref is None:
        return None
    case = _one(db, "SELECT * FROM cases WHERE id = ?", [ref["case_id"]]) or {}
    enterprise = _one(db, "SELECT * FROM enterprises WHERE id = ?", [ref["enterprise_id"]]) or {}
    if case.get("needs"):
        case["needs"] = json.loads(case["needs"])
    return {"referral": ref, "case": case, "enterprise": enterprise, "legs": legs_of(db, [referral_id]),
            "needs": progress.need_rows(db, referral_id)}


def organisations(db, member_ids) -> dict[str, dict]:
    """Public facts of these members: name, type, province and, for agencies, kind, address, phone, website."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    return {r["id"]: r for r in db.query(
        f"SELECT m.id, m.type, m.name_th, m.name_en, m.province, a.kind, a.address, a.phone, a.website "
        f"FROM members m LEFT JOIN agencies a ON a.member_id = m.id WHERE m.id IN ({','.join('?' * len(ids))})",
        ids)}


def tracking_record(db, code: str) -> dict | None:
    """What the public status page shows for a tracking code: the case's status and each need's step and
    status, nothing else (no names, no members, no contact); None for an unknown code."""
    row = db.execute("SELECT id, status, created_at, updated_at FROM referrals WHERE tracking_code = ?",
                     [code]).fetchone()
    if row is None:
        return None
    needs = [{"need": r["need"], "step": r["step"], "status": r["status"], "updated_at": r["updated_at"]}
             for r in db.query("SELECT need, step, status, updated_at FROM referral_needs WHERE referral_id = ? "
                               "ORDER BY step, position", [row[0]])]
    return {"status": row[1], "created_at": row[2], "updated_at": row[3], "needs": needs}


def record_satisfaction(db, *, referral_id: int, score: int, note: str | None, actor: str, at: str) -> dict:
    """The enterprise's satisfaction (1-5) and a note, with its event; ``{"recorded": bool, "status"}``
    (not recorded while the case is still open)."""
    with transaction(db):
        status = db.execute("SELECT status FROM referrals WHERE id = ?", [referral_id]).fetchone()[0]
        if status not in lifecycle.CLOSED_REFERRAL_STATUSES:
            return {"recorded": False, "status": status}
        db.execute("UPDATE referrals SET satisfaction = ?, satisfaction_note = ?, satisfaction_at = ? WHERE id = ?",
                   [score, note, at, referral_id])
        insert_event(db, referral_id, None, actor, at, status, status,
                     {"event": "satisfaction", "score": score, **({"note": note} if note else {})})
        return {"recorded": True, "status": status}


def _one(db, sql: str, params) -> dict | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def legs_of(db, referral_ids) -> list[dict]:
    """The legs of these referrals, in referral then leg order."""
    ids = list(referral_ids)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return [_leg(r) for r in db.query(f"SELECT {LEG_COLUMNS} FROM referral_legs WHERE referral_id IN ({marks}) "
                                      f"ORDER BY referral_id, id", ids)]


def events_of(db, referral_id: int) -> list[dict]:
    """Every event of a referral, oldest first."""
    return [dict(r, data=json.loads(r["data"]) if r["data"] else {}) for r in db.query(
        "SELECT id, leg_id, actor, at, from_status, to_status, data FROM referral_events "
        "WHERE referral_id = ? ORDER BY id", [referral_id])]


def replacements_of(db, leg_id: int) -> list[int]:
    """Ids of the legs that replace a declined leg."""
    return [r[0] for r in db.execute("SELECT id FROM referral_legs WHERE replaces_leg_id = ? ORDER BY id",
                                     [leg_id]).fetchall()]


# -- move a leg ----------------------------------------------------------------------------------------

def move_leg(db, *, referral_id: int, leg_id: int, expected: str, to: str, changes: dict, actor: str, at: str,
             data: dict) -> dict:
    """Move one leg from ``expected`` to ``to`` with its event, its notification, the release of legs that
    waited for it and the case's roll-up, atomically.

    Returns ``{"moved": True, "referral_status": ..., "released": [leg ids]}``; when the leg is no longer in
    ``expected`` (another writer moved it first) nothing is written and ``{"moved": False, "current": <its
    status now>}`` returns.
    """
    with transaction(db):
        cur = db.execute(
            "UPDATE referral_legs SET status = ?, decline_reason = coalesce(?, decline_reason), "
            "value_baht = coalesce(?, value_baht), note = coalesce(?, note), updated_at = ?, overdue = NULL, "
            "accepted_at = CASE WHEN ? = 'accepted' THEN ? ELSE accepted_at END, "
            "finished_at = CASE WHEN ? IN ('completed', 'closed_unresolved', 'declined') THEN ? ELSE finished_at END "
            "WHERE id = ? AND referral_id = ? AND status = ?",
            [to, changes.get("decline_reason"), changes.get("value_baht"), changes.get("note"), at, to, at, to, at,
             leg_id, referral_id, expected])
        if cur.rowcount != 1:
            row = db.execute("SELECT status FROM referral_legs WHERE id = ?", [leg_id]).fetchone()
            return {"moved": False, "current": row[0] if row else None}
        event = insert_event(db, referral_id, leg_id, actor, at, expected, to, data)
        if to in ("declined", "completed"):
            leg = db.execute("SELECT member_id, needs, step FROM referral_legs WHERE id = ?", [leg_id]).fetchone()
            notify(db, recipient=desk_recipient(progress.referral_desk(db, referral_id)), kind=to,
                   referral_id=referral_id, leg_id=leg_id, event_id=event,
                   data={"member": leg[0], "needs": json.loads(leg[1]), "step": leg[2], **data}, at=at)
        done = progress.refresh(db, referral_id, actor=actor, at=at)
        bump_data_version(db, "outcomes" if to in FINAL else "load")
        return {"moved": True, "referral_status": done["status"], "released": done["released"]}


def add_replacement_legs(db, *, referral_id: int, replaces_leg_id: int, legs: list[dict], actor: str,
                         at: str) -> dict:
    """Add legs that replace a declined, withdrawn or unresolved leg (same plan step; waiting when their
    prerequisites are not done yet), with their events, notifications and the roll-up, in one transaction.

    Returns ``{"added": [leg ids], "referral_status"}``, or ``{"added": [], "blocked_by": [...]}`` when
    the leg cannot be replaced any more or already has replacements (another writer came first).
    """
    with transaction(db):
        row = db.execute("SELECT status, step FROM referral_legs WHERE id = ? AND referral_id = ?",
                         [replaces_leg_id, referral_id]).fetchone()
        existing = replacements_of(db, replaces_leg_id)
        if row is None or row[0] not in lifecycle.REMATCHABLE or existing:
            return {"added": [], "blocked_by": existing, "current": row[0] if row else None}
        needs = progress.need_rows(db, referral_id)
        done = {n["need"] for n in needs if lifecycle.is_done(n)}
        prerequisites = {n["need"]: [p for p in n["prerequisites"] if p not in done] for n in needs}
        added = [_insert_leg(db, referral_id, dict(leg, replaces_leg_id=replaces_leg_id, step=row[1]), actor, at,
                             prerequisites) for leg in legs]
        outcome = progress.refresh(db, referral_id, actor=actor, at=at)
        bump_data_version(db, "load")
        return {"added": added, "referral_status": outcome["status"]}


# -- list ----------------------------------------------------------------------------------------------

LIST_FROM = ("referrals r LEFT JOIN cases c ON c.id = r.case_id "
             "LEFT JOIN enterprises e ON e.id = r.enterprise_id")


def _list_filters(*, status=None, province=None, member=None, desk=None, date_from=None, date_before=None,
                  need=None, text=None, members=None):
    where, params = [], []
    for clause, value in (("r.status = ?", status), ("c.province = ?", province), ("r.desk = ?", desk),
                          ("r.created_at >= ?", date_from), ("r.created_at < ?", date_before)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if member is not None:
        where.append("EXISTS (SELECT 1 FROM referral_legs l WHERE l.referral_id = r.id AND l.member_id = ?)")
        params.append(member)
    if members is not None:  # any of these members has a leg (an empty list: none matches)
        marks = ", ".join("?" * len(members)) or "NULL"
        where.append(f"EXISTS (SELECT 1 FROM referral_legs l WHERE l.referral_id = r.id AND l.member_id IN ({marks}))")
        params.extend(members)
    if need is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(c.needs) n WHERE n.value = ?)")
        params.append(need)
    if text is not None:  # the enterprise's name contains it, or it is the referral's number
        where.append("(instr(lower(e.name), lower(?)) > 0 OR CAST(r.id AS TEXT) = ?)")
        params.extend([text, text.lstrip("#")])
    return (" WHERE " + " AND ".join(where)) if where else "", params


def list_referrals(db, *, limit: int = 50, offset: int = 0, **filters) -> tuple[list[dict], int]:
    """A page of referrals (newest first) with their legs, and the total matching the filters.

    Filters: ``status``, ``province`` (code), ``member`` (has a leg addressed to it), ``members`` (any of
    them has a leg), ``need`` (a category code of the case), ``text`` (in the enterprise's name, or the
    referral's number), ``desk``, ``date_from`` (created at or after, ISO text) and ``date_before``
    (created before, ISO text).
    """
    where, params = _list_filters(**filters)
    total = db.execute(f"SELECT count(*) FROM {LIST_FROM}{where}", params).fetchone()[0]
    rows = list(db.query(
        f"SELECT r.id, r.status, r.desk, r.created_by, r.created_at, r.updated_at, r.enterprise_id, "
        f"e.name AS enterprise_name, e.sector, e.size, e.cluster_id, e.synthetic, c.province, c.needs "
        f"FROM {LIST_FROM}{where} ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
        params + [limit, offset]))
    legs: dict[int, list] = {r["id"]: [] for r in rows}
    for leg in legs_of(db, legs):
        legs[leg["referral_id"]].append(leg)
    return [dict(r, needs=json.loads(r["needs"]) if r["needs"] else [], legs=legs[r["id"]]) for r in rows], total


def summary(db, **filters) -> dict:
    """Counts by referral status, legs by status and completed value (baht) over the filtered referrals.

    With ``member`` the leg figures count only that member's legs.
    """
    where, params = _list_filters(**filters)
    by_status = dict(db.execute(f"SELECT r.status, count(*) FROM {LIST_FROM}{where} GROUP BY r.status",
                                params).fetchall())
    leg_where, leg_params = "", []
    if filters.get("member") is not None:
        leg_where, leg_params = " AND l.member_id = ?", [filters["member"]]
    legs = dict(db.execute(
        f"SELECT l.status, count(*) FROM referral_legs l WHERE l.referral_id IN (SELECT r.id FROM {LIST_FROM}{where})"
        f"{leg_where} GROUP BY l.status", params + leg_params).fetchall())
    value = db.execute(
        f"SELECT coalesce(sum(l.value_baht), 0) FROM referral_legs l WHERE l.status = 'completed' AND "
        f"l.referral_id IN (SELECT r.id FROM {LIST_FROM}{where}){leg_where}", params + leg_params).fetchone()[0]
    return {"referrals_by_status": by_status, "legs_by_status": legs, "value_baht_completed": float(value)}


# -- personal-data read log ----------------------------------------------------------------------------

def log_personal_read(db, *, at: str, actor: str, role: str, key_id, referral_id, enterprise_id, fields,
                      action: str, user_id=None) -> None:
    """Append one row to the personal-data read log (never edited or deleted): who read (the API key, or the
    desk account), when, which referral and which fields."""
    with transaction(db):
        db.execute("INSERT INTO personal_data_reads (at, actor, role, key_id, user_id, referral_id, enterprise_id, "
                   "fields, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [at, actor, role, key_id, user_id, referral_id, enterprise_id, _dumps(list(fields)), action])


def personal_reads(db, *, referral_id: int | None = None, limit: int = 50, offset: int = 0):
    """A page of the personal-data read log (newest first) and its total: ``(rows, total)``."""
    where, params = ("WHERE referral_id = ?", [referral_id]) if referral_id is not None else ("", [])
    total = db.execute(f"SELECT count(*) FROM personal_data_reads {where}", params).fetchone()[0]
    rows = [dict(r, fields=json.loads(r["fields"])) for r in db.query(
        f"SELECT * FROM personal_data_reads {where} ORDER BY id DESC LIMIT ? OFFSET ?", params + [limit, offset])]
    return rows, total
