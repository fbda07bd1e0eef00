"""Case drafts: what a desk officer has typed and chosen so far for a new case, kept in the store between
the steps, so that every step is a page of its own (reload and Back are safe) and step 2 can send the
officer back to step 1 with everything still filled in.

A draft belongs to one desk account and is read only by it. It holds the enterprise's contact details
before consent is recorded, so it is kept only as long as a case takes to enter (``DRAFT_HOURS``): older
drafts are deleted whenever a draft is written, and a sent draft keeps only the referral it became.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from matcher import clock

from . import transaction

DRAFT_HOURS = 12


def _now_text() -> str:
    return clock.now().isoformat(timespec="seconds")


def save_draft(db, user_id: int, data: dict, token: str | None = None) -> str:
    """Store ``data`` as the account's draft ``token`` (a new token when it is None or not the account's
    own live draft); returns the token. Drafts older than ``DRAFT_HOURS`` are deleted on the way."""
    now = clock.now()
    stale = (now - timedelta(hours=DRAFT_HOURS)).isoformat(timespec="seconds")
    with transaction(db):
        db.execute("DELETE FROM case_drafts WHERE updated_at < ?", [stale])
        owned = token and db.execute("SELECT 1 FROM case_drafts WHERE token = ? AND user_id = ? AND referral_id IS NULL",
                                     [token, user_id]).fetchone()
        if owned:
            db.execute("UPDATE case_drafts SET data = ?, updated_at = ? WHERE token = ?",
                       [json.dumps(data, ensure_ascii=False), now.isoformat(timespec="seconds"), token])
            return token
        token = secrets.token_hex(16)
        db.execute("INSERT INTO case_drafts (token, user_id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                   [token, user_id, json.dumps(data, ensure_ascii=False), now.isoformat(timespec="seconds"),
                    now.isoformat(timespec="seconds")])
    return token


def get_draft(db, token: str, user_id: int) -> dict | None:
    """``{"token", "data", "referral_id"}`` of the account's draft, or None (unknown, another account's,
    or older than ``DRAFT_HOURS``). A sent draft has ``referral_id`` and no data."""
    if not isinstance(token, str) or not token:
        return None
    stale = (clock.now() - timedelta(hours=DRAFT_HOURS)).isoformat(timespec="seconds")
    row = db.execute("SELECT data, referral_id FROM case_drafts WHERE token = ? AND user_id = ? AND updated_at >= ?",
                     [token, user_id, stale]).fetchone()
    if row is None:
        return None
    return {"token": token, "data": json.loads(row[0]) if row[0] else {}, "referral_id": row[1]}


def mark_sent(db, token: str, user_id: int, referral_id: int) -> None:
    """The draft became ``referral_id``: its typed data is dropped (the referral holds it now, under consent)."""
    with transaction(db):
        db.execute("UPDATE case_drafts SET data = NULL, referral_id = ?, updated_at = ? WHERE token = ? AND user_id = ?",
                   [referral_id, _now_text(), token, user_id])
