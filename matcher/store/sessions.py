"""Desk sessions kept in the store, so that every worker sees the same ones and signing out ends one at once.

The browser holds a random token (inside the signed session cookie); the store keeps only its SHA-256 hash,
the account, when the session began, when it was last seen and when it ends at the latest. A session is
live while it is seen within the idle timeout and before its absolute end; ``end_session`` (sign-out) and
``end_user_sessions`` (an administrator) delete it. Expired rows are pruned whenever a session starts.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from datetime import datetime, timedelta

from matcher import clock

from . import transaction, unavailable

TOUCH_EVERY = timedelta(seconds=60)  # seen_at is refreshed at most this often (not on every page)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _text(when: datetime) -> str:
    return clock.as_bangkok(when).isoformat(timespec="seconds")


def start_session(db, user_id: int, *, lifetime: timedelta, idle: timedelta, now: datetime | None = None) -> str:
    """A new session for ``user_id``; returns its token (the only time it exists in clear)."""
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    with transaction(db):
        db.execute("DELETE FROM desk_sessions WHERE expires_at < ? OR seen_at < ?",
                   [_text(now), _text(now - idle)])
        db.execute("INSERT INTO desk_sessions (token_hash, user_id, created_at, seen_at, expires_at) "
                   "VALUES (?, ?, ?, ?, ?)", [_hash(token), user_id, _text(now), _text(now), _text(now + lifetime)])
    return token


def session_user_id(db, token, *, idle: timedelta, now: datetime | None = None) -> int | None:
    """The account of a live session, or None (unknown, ended, idle too long or past its end).

    Refreshes ``seen_at`` when it is older than ``TOUCH_EVERY``; on a store that cannot take writes the
    session is still read (and simply not refreshed).
    """
    if not isinstance(token, str) or not token:
        return None
    now = now or clock.now()
    row = db.execute("SELECT user_id, seen_at, expires_at FROM desk_sessions WHERE token_hash = ?",
                     [_hash(token)]).fetchone()
    if row is None or row[2] < _text(now) or row[1] < _text(now - idle):
        return None
    if row[1] < _text(now - TOUCH_EVERY):
        _touch(db, token, now)
    return row[0]


def _touch(db, token: str, now: datetime) -> None:
    try:
        with transaction(db):
            db.execute("UPDATE desk_sessions SET seen_at = ? WHERE token_hash = ?", [_text(now), _hash(token)])
    except sqlite3.OperationalError as error:
        if unavailable(error) is None:
            raise


def end_session(db, token) -> bool:
    """End one session (sign-out); True when there was one."""
    if not isinstance(token, str) or not token:
        return False
    with transaction(db):
        return db.execute("DELETE FROM desk_sessions WHERE token_hash = ?", [_hash(token)]).rowcount > 0


def end_user_sessions(db, user_id: int) -> int:
    """End every session of an account; returns how many there were."""
    with transaction(db):
        return db.execute("DELETE FROM desk_sessions WHERE user_id = ?", [user_id]).rowcount


def end_all_sessions(db) -> int:
    with transaction(db):
        return db.execute("DELETE FROM desk_sessions").rowcount


def live_sessions(db, user_id: int, *, idle: timedelta, now: datetime | None = None) -> int:
    """How many live sessions an account has."""
    now = now or clock.now()
    return db.execute("SELECT count(*) FROM desk_sessions WHERE user_id = ? AND expires_at >= ? AND seen_at >= ?",
                      [user_id, _text(now), _text(now - idle)]).fetchone()[0]
