"""Desk accounts: the ``users`` table (plain dicts in and out).

Passwords arrive here already hashed (``matcher.accounts`` hashes them); this module never sees a
password. ``username`` is unique without regard to case.
"""

from __future__ import annotations

import sqlite3

from matcher.clock import now_text
from matcher.errors import Conflict, NotFound

from . import transaction

COLUMNS = ("id", "username", "role", "member_id", "desk", "province", "name", "demo", "active", "created_at",
           "last_sign_in_at")


def _now() -> str:
    return now_text()


def _public(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = {k: row[k] for k in COLUMNS}
    out["demo"], out["active"] = bool(out["demo"]), bool(out["active"])
    return out


def insert_user(db, *, username: str, password_hash: str, role: str, member_id=None, desk=None,
                province=None, name=None, demo: bool = False) -> dict:
    """Insert one account and return it (without the hash); Conflict when the username is taken."""
    row = {"username": username, "password_hash": password_hash, "role": role, "member_id": member_id,
           "desk": desk, "province": province, "name": name, "demo": int(demo), "active": 1,
           "created_at": _now()}
    try:
        with transaction(db):
            user_id = db["users"].insert(row).last_pk
    except sqlite3.IntegrityError as error:
        if "UNIQUE" in str(error):
            raise Conflict(f"The username {username!r} is taken; choose another.", field="username") from None
        raise
    return get_user(db, user_id)


def set_password_hash(db, username: str, password_hash: str) -> None:
    with transaction(db):
        cursor = db.execute("UPDATE users SET password_hash = ? WHERE username = ?", [password_hash, username])
    if cursor.rowcount == 0:
        raise NotFound(f"No account named {username!r}.", field="username")


def get_user(db, user_id: int) -> dict | None:
    """The active account with this id (no hash), or None."""
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND active = 1", [user_id]))
    return _public(rows[0]) if rows else None


def credentials(db, username: str) -> dict | None:
    """``{"user": account, "password_hash": ...}`` for an active username, or None."""
    rows = list(db.query("SELECT * FROM users WHERE username = ? AND active = 1", [username]))
    if not rows:
        return None
    return {"user": _public(rows[0]), "password_hash": rows[0]["password_hash"]}


def user_id_of(db, username: str) -> int | None:
    """The id of the account with this username (active or not), or None."""
    row = db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()
    return row[0] if row else None


def record_sign_in(db, user_id: int) -> None:
    with transaction(db):
        db.execute("UPDATE users SET last_sign_in_at = ? WHERE id = ?", [_now(), user_id])


def list_users(db) -> list[dict]:
    return [_public(r) for r in db.query("SELECT * FROM users ORDER BY role, username")]


def has_users_table(db) -> bool:
    return db["users"].exists()
