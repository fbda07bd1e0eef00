"""CSRF protection for the desk's forms: one random token per session, checked on every desk POST.

Forms carry it in a hidden ``csrf_token`` field (``{{ csrf_field() }}``); scripts may send it in the
``X-CSRF-Token`` header. Only the desk blueprint checks it: the JSON API authenticates with bearer keys,
which a cross-site form cannot send. The session cookie is also ``SameSite=Lax`` and ``HttpOnly``.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from markupsafe import Markup, escape

from matcher.errors import BadRequest

from .i18n import both

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def csrf_token() -> str:
    """The session's token, created on first use."""
    token = session.get(FIELD)
    if not token:
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(csrf_token())}">')


def rotate() -> None:
    """A new token (on sign-in, so a token seen before signing in is useless after)."""
    session[FIELD] = secrets.token_urlsafe(32)


def is_valid(sent: str | None) -> bool:
    expected = session.get(FIELD)
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


class CSRFError(BadRequest):
    """A desk form arrived without this session's token."""


def check() -> None:
    """Raise CSRFError on an unsafe request that lacks this session's token (a before_request hook)."""
    if request.method not in UNSAFE:
        return
    sent = request.form.get(FIELD) or request.headers.get(HEADER)
    if not is_valid(sent):
        raise CSRFError(both("csrf_failed"), field=FIELD)
