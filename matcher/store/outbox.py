"""Notifications and their outbox, in SQL.

``notify`` is called inside the transaction of the event it announces: it writes the notification (the
desk pages' unread marker) and one outbox row per channel the recipient wants, so an event and its
deliveries are written together or not at all. A worker then ``claim``\\s due rows (a lease, so a worker
killed mid-batch leaves them to the next one), delivers them, and marks each ``delivered`` or schedules a
retry; after the last attempt a row is ``dead`` until an admin replays it. Every row keeps its
``delivery_id``, so a receiver can drop a message delivered twice.

Recipients are ``member:<id>`` or ``desk:<name>``. Outbox times are epoch seconds (``matcher.clock.epoch``).
"""

from __future__ import annotations

import json
import uuid

from matcher.clock import epoch, now_text

from . import transaction

CHANNELS = ("email", "webhook")


def member_recipient(member_id: str) -> str:
    return f"member:{member_id}"


def desk_recipient(desk: str | None) -> str | None:
    return f"desk:{desk}" if desk else None


# -- settings ------------------------------------------------------------------------------------------

def settings_of(db, recipient: str) -> dict | None:
    """The recipient's notification settings (webhook secret included), or None."""
    rows = list(db.query("SELECT * FROM notification_settings WHERE recipient = ?", [recipient]))
    return dict(rows[0], channels=json.loads(rows[0]["channels"])) if rows else None


def save_settings(db, recipient: str, settings: dict) -> dict:
    """Insert or replace the recipient's settings ``{email, webhook_url, webhook_secret, channels, language}``."""
    row = dict(settings, recipient=recipient, channels=json.dumps(list(settings.get("channels") or [])),
               updated_at=now_text())
    with transaction(db):
        db["notification_settings"].upsert(row, pk="recipient")
    return settings_of(db, recipient)


# -- writing (inside the event's transaction) ----------------------------------------------------------

def notify(db, *, recipient: str | None, kind: str, referral_id: int, leg_id: int | None, event_id: int | None,
           data: dict, at: str) -> int | None:
    """Write one notification and its outbox rows (one per channel the recipient wants); its id."""
    if not recipient:
        return None
    notification_id = db["notifications"].insert({
        "recipient": recipient, "kind": kind, "referral_id": referral_id, "leg_id": leg_id, "event_id": event_id,
        "data": json.dumps(data, ensure_ascii=False), "created_at": at}).last_pk
    settings = settings_of(db, recipient)
    now = epoch()
    for channel in (settings or {}).get("channels", []):
        if channel in CHANNELS and _has_address(settings, channel):
            db["outbox"].insert({"delivery_id": str(uuid.uuid4()), "notification_id": notification_id,
                                 "channel": channel, "created_ts": now, "next_attempt_ts": now})
    return notification_id


def _has_address(settings: dict, channel: str) -> bool:
    return bool(settings.get("email") if channel == "email" else settings.get("webhook_url"))


# -- the desk's unread markers -------------------------------------------------------------------------

def unread_count(db, recipient: str) -> int:
    return db.execute("SELECT count(*) FROM notifications WHERE recipient = ? AND read_at IS NULL",
                      [recipient]).fetchone()[0]


def notifications_of(db, recipient: str, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """A page of the recipient's notifications (newest first) and its total."""
    total = db.execute("SELECT count(*) FROM notifications WHERE recipient = ?", [recipient]).fetchone()[0]
    rows = [_notification(r) for r in db.query(
        "SELECT * FROM notifications WHERE recipient = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        [recipient, limit, offset])]
    return rows, total


def mark_read(db, recipient: str, *, referral_id: int | None = None, at: str) -> int:
    """Mark the recipient's unread notifications read (of one referral, or all); how many."""
    where, params = ("AND referral_id = ?", [referral_id]) if referral_id is not None else ("", [])
    with transaction(db):
        return db.execute(f"UPDATE notifications SET read_at = ? WHERE recipient = ? AND read_at IS NULL {where}",
                          [at, recipient, *params]).rowcount


def _notification(row: dict) -> dict:
    return dict(row, data=json.loads(row["data"]) if row.get("data") else {})


# -- delivery (the worker) -------------------------------------------------------------------------------

def claim(db, *, limit: int, lease_seconds: float, now: float | None = None) -> list[dict]:
    """Take up to ``limit`` due pending deliveries for ``lease_seconds`` (others skip them meanwhile),
    oldest first, each with its notification and the recipient's settings."""
    now = epoch() if now is None else now
    with transaction(db):
        ids = [r[0] for r in db.execute(
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_ts <= ? "
            "AND (claimed_until_ts IS NULL OR claimed_until_ts <= ?) ORDER BY id LIMIT ?", [now, now, limit])]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        db.execute(f"UPDATE outbox SET claimed_until_ts = ? WHERE id IN ({marks})", [now + lease_seconds, *ids])
        rows = list(db.query(
            f"SELECT o.*, n.recipient, n.kind, n.referral_id, n.leg_id, n.event_id, n.data, n.created_at "
            f"FROM outbox o JOIN notifications n ON n.id = o.notification_id WHERE o.id IN ({marks}) ORDER BY o.id",
            ids))
    settings: dict[str, dict | None] = {}
    out = []
    for row in rows:
        if row["recipient"] not in settings:
            settings[row["recipient"]] = settings_of(db, row["recipient"])
        out.append(dict(_notification(row), settings=settings[row["recipient"]]))
    return out


def mark_delivered(db, outbox_id: int, *, now: float | None = None) -> None:
    with transaction(db):
        db.execute("UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_ts = ?, "
                   "claimed_until_ts = NULL, last_error = NULL WHERE id = ?", [epoch() if now is None else now,
                                                                                outbox_id])


def mark_failed(db, outbox_id: int, *, error: str, retry_at: float | None) -> None:
    """Record a failed attempt: retry at ``retry_at``, or ``dead`` when it is None."""
    with transaction(db):
        db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_until_ts = NULL, "
                   "status = CASE WHEN ? IS NULL THEN 'dead' ELSE 'pending' END, "
                   "next_attempt_ts = coalesce(?, next_attempt_ts) WHERE id = ?",
                   [error[:1000], retry_at, retry_at, outbox_id])


def dead_letters(db, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Deliveries that used up their attempts (newest first), and their total."""
    total = db.execute("SELECT count(*) FROM outbox WHERE status = 'dead'").fetchone()[0]
    rows = [_notification(r) for r in db.query(
        "SELECT o.id, o.delivery_id, o.channel, o.attempts, o.last_error, o.created_ts, n.recipient, n.kind, "
        "n.referral_id, n.leg_id, n.data FROM outbox o JOIN notifications n ON n.id = o.notification_id "
        "WHERE o.status = 'dead' ORDER BY o.id DESC LIMIT ? OFFSET ?", [limit, offset])]
    return rows, total


def replay(db, ids=None, *, now: float | None = None) -> int:
    """Put dead deliveries (these ids, or all) back in the queue with fresh attempts; how many."""
    now = epoch() if now is None else now
    where, params = "status = 'dead'", []
    if ids is not None:
        ids = list(ids)
        if not ids:
            return 0
        where += f" AND id IN ({','.join('?' * len(ids))})"
        params = ids
    with transaction(db):
        return db.execute(f"UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ts = ?, "
                          f"claimed_until_ts = NULL WHERE {where}", [now, *params]).rowcount


def delivery_counts(db) -> dict[str, int]:
    """Outbox rows by status: ``{"pending", "delivered", "dead"}``."""
    counts = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    return {s: int(counts.get(s, 0)) for s in ("pending", "delivered", "dead")}


def delivery_delays(db, since_id: int = 0) -> list[float]:
    """Seconds from the event's outbox row to its delivery, for delivered rows after ``since_id``."""
    return [r[0] for r in db.execute("SELECT delivered_ts - created_ts FROM outbox WHERE status = 'delivered' "
                                     "AND id > ? ORDER BY id", [since_id])]
