"""The session-signing key, generated once and kept in the store so that every worker of the service signs
and checks desk cookies with the same key without any configuration (``RISMEP_SECRET_KEY``, when set, is
used instead and nothing is stored). ``rotate_session_key`` replaces it and ends every desk session.
"""

from __future__ import annotations

import secrets
import sqlite3

from matcher.clock import now_text

from . import transaction, unavailable

SESSION_KEY = "session_key"


def session_key(db) -> str | None:
    """The stored key, created on first use; None when there is none and the store cannot take writes."""
    row = db.execute("SELECT value FROM app_secrets WHERE name = ?", [SESSION_KEY]).fetchone()
    if row is not None:
        return row[0]
    try:
        with transaction(db):
            db.execute("INSERT OR IGNORE INTO app_secrets (name, value, created_at) VALUES (?, ?, ?)",
                       [SESSION_KEY, secrets.token_urlsafe(48), now_text()])
    except sqlite3.OperationalError as error:
        if unavailable(error) is None:
            raise
        return None
    return db.execute("SELECT value FROM app_secrets WHERE name = ?", [SESSION_KEY]).fetchone()[0]


def rotate_session_key(db) -> dict:
    """A new key in place of the old one, and every desk session ended, in one transaction."""
    with transaction(db):
        db.execute("INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO "
                   "UPDATE SET value = excluded.value, created_at = excluded.created_at",
                   [SESSION_KEY, secrets.token_urlsafe(48), now_text()])
        ended = db.execute("DELETE FROM desk_sessions").rowcount
        created = db.execute("SELECT created_at FROM app_secrets WHERE name = ?", [SESSION_KEY]).fetchone()[0]
    return {"rotated_at": created, "sessions_ended": ended}
