"""Reading notifications (the desk pages' unread markers) and the admin's dead-letter list and replay."""

from __future__ import annotations

from matcher import access
from matcher.clock import now_text
from matcher.notifications.settings import recipient_of
from matcher.errors import Unprocessable
from matcher.store import outbox
from matcher.vocabulary import MAX_OFFSET, MAX_PAGE


def _int_in(value, field: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Unprocessable(f"{field} must be a whole number from {low} to {high}; got {value!r}.", field=field)
    return value


def _positive_int(value, field: str) -> int:
    return _int_in(value, field, 1, 2 ** 63 - 1)


def notifications(db, principal: dict, filters: dict | None = None) -> dict:
    """A page of the principal's notifications (newest first) with the unread count."""
    filters = filters or {}
    who = recipient_of(principal, filters.get("recipient"))
    limit = _int_in(filters.get("limit", 50), "limit", 1, MAX_PAGE)
    offset = _int_in(filters.get("offset", 0), "offset", 0, MAX_OFFSET)
    items, total = outbox.notifications_of(db, who, limit=limit, offset=offset)
    return {"recipient": who, "unread": outbox.unread_count(db, who), "items": items, "total": total,
            "limit": limit, "offset": offset}


def unread(db, principal: dict) -> int:
    return outbox.unread_count(db, recipient_of(principal))


def mark_read(db, principal: dict, referral_id=None) -> dict:
    """Mark the principal's notifications read (those of one referral, or all)."""
    who = recipient_of(principal)
    rid = _positive_int(referral_id, "referral_id") if referral_id is not None else None
    marked = outbox.mark_read(db, who, referral_id=rid, at=now_text())
    return {"recipient": who, "marked": marked, "unread": outbox.unread_count(db, who)}


def dead_letters(db, principal: dict, filters: dict | None = None) -> dict:
    """Deliveries that used up their attempts (admins)."""
    access.require(principal, "replay_deliveries")
    filters = filters or {}
    limit = _int_in(filters.get("limit", 50), "limit", 1, MAX_PAGE)
    offset = _int_in(filters.get("offset", 0), "offset", 0, MAX_OFFSET)
    items, total = outbox.dead_letters(db, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "counts": outbox.delivery_counts(db)}


def replay(db, principal: dict, ids=None) -> dict:
    """Queue dead deliveries again (these ids, or all), keeping their delivery ids."""
    access.require(principal, "replay_deliveries")
    if ids is not None:
        ids = [_positive_int(i, "ids") for i in ids]
    return {"replayed": outbox.replay(db, ids), "counts": outbox.delivery_counts(db)}
