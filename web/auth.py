"""API keys on the HTTP layer: ``@require(action)`` for protected views.

A key is sent as ``Authorization: Bearer <key>`` and looked up (hashed) in the store. No key or an unknown
or revoked one answers 401, a role the action is not permitted to (``matcher.vocabulary.PERMISSIONS``) 403, both in the one JSON error shape. On success
``flask.g.principal`` is ``{"role", "member_id", "desk", "key_id", "name"}``; the engine's service
functions take that dict, so desk pages that sign in by session build the same dict and call them directly.

Put ``@require`` right under the route decorator, above ``@bp.input``, so the key is checked before
the body: an unauthenticated caller learns nothing about valid input. The operation is documented with
the bearer scheme (``init_app`` registers it on the app).
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from matcher import access
from matcher.errors import Unauthorized
from matcher.store.keys import principal_for_key
from matcher.vocabulary import PERMISSIONS

from .context import get_db

SECURITY_SCHEME = "ApiKey"
SECURITY_SCHEMES = {SECURITY_SCHEME: {
    "type": "http", "scheme": "bearer",
    "description": "An API key from `flask --app api create-key --role ROLE`, sent as "
                   "`Authorization: Bearer <key>`. Roles: desk, member, analyst, admin."}}
CHALLENGE = 'Bearer realm="rismep"'


def bearer_key() -> str | None:
    """The key in ``Authorization: Bearer <key>``; None when the header is absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("The Authorization header must be \"Bearer <key>\" / ส่งกุญแจในรูปแบบ Bearer <key>.",
                           field="Authorization")
    return key.strip()


def authenticate() -> dict:
    """The principal of the request's key, or Unauthorized."""
    key = bearer_key()
    if key is None:
        access.check_principal(None)
    principal = principal_for_key(get_db(), key)
    if "rate_limits" in current_app.extensions:  # web/security.py: requests per key; failures per address
        from .security import rate_limit
        if principal is None:
            rate_limit("bad_key", "unknown-key", "requests with unknown API keys / ใช้กุญแจที่ไม่ถูกต้องบ่อยเกินไป")
        else:
            rate_limit("api_key", f"key:{principal['key_id']}", "requests with this API key / ใช้กุญแจนี้บ่อยเกินไป",
                       per_address=False)
    if principal is None:
        raise Unauthorized("กุญแจ API ไม่ถูกต้องหรือถูกยกเลิกแล้ว / Unknown or revoked API key; ask an administrator "
                           "for a new one (flask --app api create-key).", field="Authorization")
    return principal


def current_principal() -> dict | None:
    return g.get("principal")


def require(action: str):
    """Decorator: the view runs only for a valid key whose role may do ``action`` (a key of
    ``matcher.vocabulary.PERMISSIONS``); 401 without a valid key, 403 for another role."""
    if action not in PERMISSIONS:
        raise ValueError(f"require needs an action of matcher.vocabulary.PERMISSIONS; got {action!r}")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.principal = access.require(authenticate(), action)
            return view(*args, **kwargs)

        wrapper._spec = {**getattr(view, "_spec", {}), "security": SECURITY_SCHEME}
        return wrapper

    return decorator


def init_app(app) -> None:
    """Register the bearer scheme in the OpenAPI description and the 401 challenge header (idempotent)."""
    app.config["SECURITY_SCHEMES"] = {**(app.config.get("SECURITY_SCHEMES") or {}), **SECURITY_SCHEMES}
    if app.extensions.get("rismep_auth"):
        return
    app.extensions["rismep_auth"] = True

    @app.after_request
    def challenge(response):
        if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
            response.headers["WWW-Authenticate"] = CHALLENGE
        return response
