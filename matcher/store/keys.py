"""API keys: stored only as a SHA-256 hash, found by a short public prefix.

A key is ``rk_`` followed by 43 URL-safe characters from 32 random bytes, so a plain SHA-256 (no salt, no
stretching) is enough: there is nothing to guess. The first 12 characters are stored in clear as the
lookup prefix; the rest never leaves ``create_key``'s return value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from matcher.clock import now_text
from matcher.errors import NotFound, Unprocessable
from matcher.vocabulary import ROLES

from . import transaction

KEY_PREFIX = "rk_"
PREFIX_LENGTH = 12


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db, *, role: str, member_id: str | None = None, desk: str | None = None,
               name: str | None = None) -> dict:
    """Store a new key for ``role``; return its row with the clear ``key`` (the only time it exists)."""
    if role not in ROLES:
        raise Unprocessable(f"Unknown role {role!r}; expected one of: {', '.join(ROLES)}.", field="role",
                            allowed=ROLES)
    if role == "member" and not member_id:
        raise Unprocessable("A member key needs --member ID (an agency A0001 or consultant C0001).",
                            field="member")
    if role == "desk" and not desk:
        raise Unprocessable("A desk key needs --desk NAME, e.g. --desk desk-TH-50.", field="desk")
    if member_id and db.execute("SELECT 1 FROM members WHERE id = ?", [member_id]).fetchone() is None:
        raise NotFound(f"No member with id {member_id!r}; list them with GET /api/v1/agencies or "
                       f"GET /api/v1/consultants.", field="member")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = {"prefix": key[:PREFIX_LENGTH], "key_hash": hash_key(key), "role": role, "member_id": member_id,
           "desk": desk, "name": name or _default_name(role, member_id, desk), "created_at": now_text()}
    with transaction(db):
        row["id"] = db["api_keys"].insert(row).last_pk
    return {**{k: v for k, v in row.items() if k != "key_hash"}, "key": key}


def _default_name(role, member_id, desk) -> str:
    return member_id or desk or role


def principal_for_key(db, key: str) -> dict | None:
    """The principal dict of a live key, or None for an unknown, revoked or malformed one."""
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or len(key) < PREFIX_LENGTH + 8:
        return None
    row = db.execute("SELECT id, key_hash, role, member_id, desk, name FROM api_keys "
                     "WHERE prefix = ? AND revoked_at IS NULL", [key[:PREFIX_LENGTH]]).fetchone()
    if row is None or not hmac.compare_digest(row[1], hash_key(key)):
        return None
    return {"role": row[2], "member_id": row[3], "desk": row[4], "key_id": row[0], "name": row[5]}


def revoke_key(db, key_id: int) -> dict:
    """Mark a key revoked (kept for the audit trail); return its row without the hash."""
    with transaction(db):
        found = db.execute("SELECT 1 FROM api_keys WHERE id = ?", [key_id]).fetchone()
        if found is None:
            raise NotFound(f"No API key with id {key_id}; list them with flask --app api list-keys.",
                           field="id")
        db.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", [now_text(), key_id])
    return next(iter(list_keys(db, key_id=key_id)))


def list_keys(db, key_id: int | None = None) -> list[dict]:
    """Every key (or one) without its hash: id, prefix, role, member, desk, name, created, revoked."""
    where, params = ("WHERE id = ?", [key_id]) if key_id is not None else ("", [])
    return list(db.query(f"SELECT id, prefix, role, member_id, desk, name, created_at, revoked_at FROM api_keys "
                         f"{where} ORDER BY id", params))
