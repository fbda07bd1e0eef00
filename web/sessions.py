"""Desk sessions: the cookie is signed with a key every worker shares, and the session itself lives in the
store, so that signing out (or an administrator) ends it at once and idle and absolute timeouts hold.

- The signing key is ``RISMEP_SECRET_KEY`` when set; otherwise the one ``matcher.store.secrets`` generated
  once and keeps in the database, read per request, so a rotation reaches every worker at once. Only when
  there is no database key and the store cannot take writes does a worker fall back to a key of its own
  (logged): reads still work, and sign-ins need a writable store anyway.
- The cookie carries a random session token (plus the CSRF token and the language); the store keeps the
  token's hash, the account and the times (``matcher.store.sessions``). Nothing in the cookie alone signs
  anyone in.
"""

from __future__ import annotations

import logging
import secrets as random
from datetime import timedelta

from flask import current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from matcher.errors import RismepError
from matcher.store import secrets, sessions

from .context import get_db

log = logging.getLogger(__name__)
TOKEN = "sid"


class StoredKeySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with the signing key from the settings or the store."""

    def get_signing_serializer(self, app):
        return URLSafeTimedSerializer(signing_key(app), salt=self.salt, serializer=self.serializer,
                                      signer_kwargs={"key_derivation": self.key_derivation,
                                                     "digest_method": self.digest_method})

    def open_session(self, app, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # no cookie (every API call): no key needed, no store read
        return super().open_session(app, request)


def signing_key(app) -> str:
    """``SECRET_KEY`` when configured, else the store's key (read once per request)."""
    if app.config.get("SECRET_KEY"):
        return app.config["SECRET_KEY"]
    if "session_key" not in g:
        try:
            g.session_key = secrets.session_key(get_db())
        except RismepError:  # no database yet (503 follows on any page that needs it)
            g.session_key = None
        if g.session_key is None:
            g.session_key = _process_key(app)
    return g.session_key


def _process_key(app) -> str:
    key = app.extensions.get("process_session_key")
    if key is None:
        key = app.extensions["process_session_key"] = random.token_urlsafe(48)
        log.warning("no session key in the store and it cannot take writes: this worker signs desk cookies "
                    "with a key of its own until the store is writable again")
    return key


def _idle() -> timedelta:
    return timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))


def lifetime() -> timedelta:
    return timedelta(hours=int(current_app.config["SESSION_HOURS"]))


def begin(user_id: int) -> None:
    """Start a fresh session for the account (the old cookie's contents are dropped: no fixation)."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session[TOKEN] = sessions.start_session(get_db(), user_id, lifetime=lifetime(), idle=_idle())
    if lang:
        session["lang"] = lang


def signed_in_user_id() -> int | None:
    """The account of this request's live session, or None (and a dead token is dropped from the cookie)."""
    token = session.get(TOKEN)
    if not token:
        return None
    user_id = sessions.session_user_id(get_db(), token, idle=_idle())
    if user_id is None:
        session.pop(TOKEN, None)
    return user_id


def end() -> None:
    """End this request's session in the store and empty the cookie (the language is kept)."""
    sessions.end_session(get_db(), session.get(TOKEN))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def register(app) -> None:
    app.session_interface = StoredKeySessionInterface()
