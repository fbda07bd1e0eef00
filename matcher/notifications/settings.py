"""Who wants which channel: a member's or a desk's notification settings, checked and shaped.

A recipient (``member:<id>`` or ``desk:<name>``) names an e-mail address and/or a webhook URL, the channels
it wants (``email``, ``webhook``) and its language (``th`` first, ``en`` for English-speaking accounts). The
webhook secret is made here and shown once when a webhook is first set (or ``rotate_secret``); it signs
every delivery.
"""

from __future__ import annotations

import re
import secrets

from matcher import access
from matcher.errors import Conflict, Forbidden, Unprocessable
from matcher.store import outbox

# No space or control character (written out, so that the OpenAPI pattern means the same in every engine)
EMAIL = re.compile(r"^[^@\x00-\x20\x7f-\x9f]+@[^@\x00-\x20\x7f-\x9f]+\.[^@\x00-\x20\x7f-\x9f]+$")
URL = re.compile(r"^https?://[^\x00-\x20\x7f-\x9f]+$")
LANGUAGES = ("th", "en")
RECIPIENT_PATTERN = r"^(member|desk):[\w\-]{1,64}$"  # member:<id> or desk:<name>


def recipient_of(principal: dict, recipient: str | None = None) -> str:
    """The recipient a principal reads and sets: its member or desk; an admin may name any."""
    principal = access.require(principal, "manage_notifications")
    own = {"member": outbox.member_recipient(principal.get("member_id") or ""),
           "desk": outbox.desk_recipient(principal.get("desk") or "")}.get(principal["role"])
    if principal["role"] == "admin":
        if recipient and re.match(RECIPIENT_PATTERN, recipient):
            return recipient
        if recipient:
            raise Unprocessable("recipient must be member:<id> or desk:<name>, e.g. member:A0001.", field="recipient")
        return outbox.desk_recipient(principal.get("desk")) or "desk:admin"
    if recipient and recipient != own:
        raise Forbidden(f"ตั้งค่าได้เฉพาะของตนเอง / You may only read and set {own}.", field="recipient", allowed=[own])
    return own


def public_view(settings: dict | None, recipient: str) -> dict:
    """The settings as the API shows them: never the secret, only whether one is set."""
    s = settings or {}
    return {"recipient": recipient, "email": s.get("email"), "webhook_url": s.get("webhook_url"),
            "webhook_secret_set": bool(s.get("webhook_secret")), "channels": s.get("channels", []),
            "language": s.get("language", "th")}


def get_settings(db, principal: dict, recipient: str | None = None) -> dict:
    who = recipient_of(principal, recipient)
    return public_view(outbox.settings_of(db, who), who)


def save_settings(db, principal: dict, body, recipient: str | None = None) -> dict:
    """Check and store ``{email, webhook_url, channels, language, rotate_secret}``; the answer carries the
    new webhook secret once, when one was made."""
    who = recipient_of(principal, recipient)
    if not isinstance(body, dict):
        raise Unprocessable("The body must be a JSON object with email, webhook_url, channels and language.",
                            field="body")
    current = outbox.settings_of(db, who) or {}
    email = _optional(body, current, "email", EMAIL, "an e-mail address such as desk@example.org")
    url = _optional(body, current, "webhook_url", URL, "an http(s) URL such as https://example.org/hooks/rismep")
    channels = body.get("channels", current.get("channels", []))
    if not isinstance(channels, list) or any(c not in outbox.CHANNELS for c in channels):
        raise Unprocessable(f"channels must be a list of {', '.join(outbox.CHANNELS)}; got {channels!r}.",
                            field="channels", allowed=list(outbox.CHANNELS))
    given = "channels" in body  # channels sent now come with their addresses in the same request
    for channel, field, address, what in (("email", "email", email, "an e-mail address"),
                                          ("webhook", "webhook_url", url, "a webhook_url")):
        if channel in channels and not (body.get(field) if given else address):
            if given:
                raise Unprocessable(f"The {channel} channel needs {what} (send {field} with channels).", field=field)
            # the stored channels still use the address this request removes: the data, not the body, says no
            raise Conflict(f"The saved channels include {channel}, which needs {what}; send channels without "
                           f"{channel} to remove it, or keep {field}.", field=field)
    language = body.get("language", current.get("language", "th"))
    if language not in LANGUAGES:
        raise Unprocessable(f"language must be th or en; got {language!r}.", field="language", allowed=LANGUAGES)
    secret = current.get("webhook_secret")
    made = None
    if url and (not secret or body.get("rotate_secret")):
        secret = made = "whsec_" + secrets.token_urlsafe(32)
    saved = outbox.save_settings(db, who, {"email": email, "webhook_url": url, "webhook_secret": secret,
                                          "channels": sorted(set(channels)), "language": language})
    out = public_view(saved, who)
    if made:
        out["webhook_secret"] = made
    return out


def _optional(body: dict, current: dict, field: str, pattern, example: str):
    value = body.get(field, current.get(field))
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 500 or not pattern.match(value):
        raise Unprocessable(f"{field} {value!r} does not look like {example}.", field=field)
    return value
