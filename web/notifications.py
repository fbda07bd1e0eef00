"""Notifications over HTTP: settings (which channels), the notification list with unread counts, the admin's
dead-letter list and replay, and the public status of a case by its tracking code (rate-limited)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Integer, List, String
from apiflask.validators import Length, OneOf, Range, Regexp
from flask import current_app, request

from matcher.errors import BadRequest
from matcher.notifications import inbox
from matcher.notifications import settings as notify_settings
from matcher.notifications.settings import RECIPIENT_PATTERN
from matcher.referrals import followup

from . import auth
from .context import get_db
from .schemas import Page, StrictBoolean

bp = APIBlueprint("notifications", __name__, tag="Notifications")
bp.record_once(lambda state: auth.init_app(state.app))
ERRORS = {401: "No API key, or an unknown or revoked one", 403: "Outside the role's scope",
          422: "Invalid input; the error names the field and the fix"}


class RecipientQuery(Schema):
    recipient = String(validate=[Length(1, 80), Regexp(RECIPIENT_PATTERN)],
                       metadata={"description": "admins: member:<id> or desk:<name>"})


class SettingsIn(Schema):
    email = String(allow_none=True, validate=[Length(0, 500), Regexp(notify_settings.EMAIL.pattern + "|^$",
                                                                    error="Not an e-mail address such as desk@example.org.")],
                   metadata={"example": "desk-th50@example.org", "description": "empty or null: no e-mail"})
    webhook_url = String(allow_none=True, validate=[Length(0, 500), Regexp(notify_settings.URL.pattern + "|^$",
                                                                          error="Not an http(s) URL.")],
                         metadata={"example": "https://example.org/hooks/rismep", "description": "empty or null: none"})
    channels = List(String(validate=OneOf(("email", "webhook"))), metadata={"example": ["email", "webhook"]})
    language = String(validate=OneOf(("th", "en")), metadata={"description": "th first; en for English speakers"})
    rotate_secret = StrictBoolean(metadata={"description": "make a new webhook secret (shown once)"})


class NotificationQuery(Page):
    recipient = String(validate=[Length(1, 80), Regexp(RECIPIENT_PATTERN)],
                       metadata={"description": "admins: member:<id> or desk:<name>"})


class ReadIn(Schema):
    referral_id = Integer(allow_none=True, validate=Range(1, 2 ** 63 - 1),
                          metadata={"description": "only this referral's; all when absent"})


class ReplayIn(Schema):
    ids = List(Integer(validate=Range(1, 2 ** 63 - 1)), allow_none=True,
               metadata={"description": "outbox ids to replay; all dead ones when absent"})


@bp.get("/api/v1/notification-settings")
@auth.require("manage_notifications")
@bp.input(RecipientQuery, location="query", arg_name="query")
@bp.doc(responses={200: "The recipient's settings (never the secret)", **ERRORS})
def get_settings(query):
    """Which channels the caller's member or desk wants (roles: member, desk, admin)."""
    return notify_settings.get_settings(get_db(), auth.current_principal(), query.get("recipient"))


@bp.put("/api/v1/notification-settings")
@auth.require("manage_notifications")
@bp.input(RecipientQuery, location="query", arg_name="query")
@bp.input(SettingsIn, arg_name="body")
@bp.doc(responses={200: "The saved settings; a new webhook secret once", **ERRORS,
                    409: "The saved channels still need the address this request removes"})
def put_settings(query, body):
    """Set the e-mail address, webhook URL, channels and language; a new webhook secret is shown once."""
    _require_json_body("Send a JSON object with email, webhook_url, channels and language; {} changes nothing.")
    return notify_settings.save_settings(get_db(), auth.current_principal(), body, query.get("recipient"))


@bp.get("/api/v1/notifications")
@auth.require("manage_notifications")
@bp.input(NotificationQuery, location="query", arg_name="query")
@bp.doc(responses={200: "A page of notifications and the unread count", **ERRORS})
def list_notifications(query):
    """The caller's notifications, newest first, with the unread count (roles: member, desk, admin)."""
    return inbox.notifications(get_db(), auth.current_principal(), query)


@bp.post("/api/v1/notifications/read")
@auth.require("manage_notifications")
@bp.input(ReadIn, arg_name="body")
@bp.doc(responses={200: "How many were marked read, and the unread count", **ERRORS})
def read_notifications(body):
    """Mark the caller's notifications read (of one referral, or all: send ``{}``)."""
    _require_json_body("Send a JSON object: {\"referral_id\": 12} marks one referral's notifications read, "
                       "{} marks them all.")
    return inbox.mark_read(get_db(), auth.current_principal(), body.get("referral_id"))


@bp.get("/api/v1/admin/deliveries/dead")
@auth.require("replay_deliveries")
@bp.input(Page, location="query", arg_name="query")
@bp.doc(responses={200: "A page of dead deliveries and the counts by status", **ERRORS})
def dead_deliveries(query):
    """Deliveries that used up their attempts, with the last error (role: admin)."""
    return inbox.dead_letters(get_db(), auth.current_principal(), query)


@bp.post("/api/v1/admin/deliveries/replay")
@auth.require("replay_deliveries")
@bp.input(ReplayIn, arg_name="body")
@bp.doc(responses={200: "How many were queued again", **ERRORS})
def replay_deliveries(body):
    """Queue dead deliveries again with their delivery ids (role: admin)."""
    _require_json_body("Send a JSON object: {\"ids\": [\"...\"]} replays those deliveries, {} replays every dead one.")
    return inbox.replay(get_db(), auth.current_principal(), body.get("ids"))


@bp.get("/api/v1/track/<code>")
@bp.doc(responses={200: "The case's status and each need's step and status", 404: "No such tracking code",
                   429: "Too many look-ups from this address"})
def track(code):
    """The steps and statuses of a case by its tracking code (printed on the referral slip). Open, with no
    personal data, names or members; rate-limited per address."""
    limit_tracking()
    return followup.track(get_db(), code)


def _require_json_body(fix: str) -> None:
    """A 400 naming the body when the request carries no JSON object (an empty body is not "{}")."""
    if request.get_json(silent=True) is None:
        raise BadRequest(fix, field="body")


def limit_tracking() -> None:
    if "rate_limits" in current_app.extensions:
        from .security import rate_limit
        rate_limit("track", "track", "tracking-code look-ups / ค้นหารหัสติดตามบ่อยเกินไป")
