"""What every desk page shares: the signed-in account, role checks, the template context, error pages."""

from __future__ import annotations

import functools
import logging
import re
from urllib.parse import urlsplit

from flask import g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from matcher.accounts import principal as principal_of
from matcher.errors import Forbidden, RismepError
from matcher import store
from matcher.store import directory
from matcher.store import users as user_store
from web import sessions
from web.context import get_db, get_reference

from . import csrf, i18n

log = logging.getLogger(__name__)

HOME_BY_ROLE = {"desk": "desk.new_case", "admin": "desk.new_case", "member": "desk.inbox",
                "analyst": "desk.dashboard"}
NAV_BY_ROLE = {
    "desk": ("new_case", "referrals"),
    "member": ("inbox",),
    "analyst": ("dashboard",),
    "admin": ("new_case", "referrals", "inbox", "dashboard"),
}
NAV_ITEMS = {"new_case": ("desk.new_case", "nav_new_case"), "referrals": ("desk.referrals", "nav_referrals"),
             "inbox": ("desk.inbox", "nav_inbox"), "dashboard": ("desk.dashboard", "nav_dashboard")}


def current_user() -> dict | None:
    """The signed-in account: its session is checked in the store on each request (signed out, ended by an
    administrator, idle or past its end: nobody), and so is the account (a disabled one is out at once)."""
    if "desk_user" not in g:
        uid = sessions.signed_in_user_id()
        g.desk_user = user_store.get_user(get_db(), uid) if uid else None
    return g.desk_user


def current_principal() -> dict:
    return principal_of(current_user())


def requires(*roles):
    """View decorator: signed in (else to the sign-in page) with one of ``roles`` (admin always passes)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("desk.signin", next=safe_next(request.full_path.rstrip("?"))))
            if roles and user["role"] not in roles and user["role"] != "admin":
                raise Forbidden(i18n.both("error_403"), field="role", allowed=list(roles))
            return view(*args, **kwargs)
        return wrapped
    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (never another host), else None. Control characters (a
    header could not carry them) and backslashes (browsers read ``/\\host`` as ``//host``) are refused."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if UNSAFE_IN_PATH.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


UNSAFE_IN_PATH = re.compile(r"[\x00-\x1f\x7f\\]")
DIGITS = re.compile(r"[0-9]{1,18}")


def whole_number(text) -> int | None:
    """A non-negative whole number typed as ASCII digits (at most 18 of them), else None. ``str.isdigit``
    also accepts digits such as "²" that ``int`` refuses, and ``int`` refuses more than 4,300 digits."""
    text = (text or "").strip() if isinstance(text, str) else ""
    return int(text) if DIGITS.fullmatch(text) else None


def home_url(user: dict | None) -> str:
    return url_for(HOME_BY_ROLE[user["role"]]) if user else url_for("desk.signin")


def is_synthetic() -> bool:
    try:
        return directory.dataset_info(get_db())["synthetic"]
    except Exception:  # the banner must never break a page (e.g. the error page of a broken store)
        return True


def nav_items(user) -> list[dict]:
    if not user:
        return []
    return [{"url": url_for(NAV_ITEMS[k][0]), "label": i18n.t(NAV_ITEMS[k][1]), "endpoint": NAV_ITEMS[k][0]}
            for k in NAV_BY_ROLE[user["role"]]]


def template_context() -> dict:
    user = _user_or_none()
    return {
        "t": i18n.t, "lang": i18n.current_language(), "localized": i18n.localized,
        "status_label": i18n.status_label, "reason_label": i18n.reason_label, "user": user,
        "role_label": (lambda role: i18n.t(i18n.ROLE_KEYS[role])), "nav": nav_items(user),
        "synthetic": is_synthetic(), "csrf_field": csrf.csrf_field,
        "category_label": category_label, "province_name": province_name, "both_languages": both_languages,
        "baht": format_baht, "percent": format_percent, "when": i18n.format_when,
    }


def category_label(code: str) -> str:
    return i18n.localized(get_reference().category_by_code.get(code), "label") or code


def province_name(code: str | None) -> str:
    return i18n.localized(get_reference().province_by_code.get(code)) or (code or "")


def both_languages(key: str) -> tuple[str, str]:
    return i18n.STRINGS[key]


def _user_or_none():
    try:
        return current_user()
    except Exception:
        return None


def format_baht(value) -> str:
    if value is None:
        return "-"
    return f"{float(value):,.0f}"


def format_percent(value) -> str:
    if value is None:
        return "-"
    return f"{100 * float(value):.0f}%"


def page(template: str, http_status: int = 200, /, **context):
    """The rendered template and its HTTP status (``status`` stays free for the templates)."""
    return render_template(template, **context), http_status


def error_page(status: int, message: str, details: list | None = None, headers: dict | None = None):
    """The desk's HTML error page (layout, both languages' title, the message, no stack trace)."""
    titles = {403: "error_403", 404: "error_404", 500: "error_500", 503: "error_503"}
    headline = i18n.t(titles[status]) if status in titles else i18n.t("error_title")
    try:
        body, status = page("desk/error.html", status, status=status, headline=headline, message=message,
                            details=details or [])
        return body, status, headers or {}
    except Exception:  # the layout itself failed: fall back to the plain page, still no trace
        log.exception("desk error page failed")
        from web.errors import respond
        return respond(status, message, headers=headers)


def register_error_pages(bp) -> None:
    @bp.errorhandler(RismepError)
    def engine_error(error: RismepError):
        details = [d for d in error.details() if d.get("message") != error.message]
        headers = {"Retry-After": "30"} if error.status == 503 else None
        return error_page(error.status, i18n.message(error), details, headers=headers)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        return error_page(status, i18n.t("error_404") if status == 404 else (error.description or ""))

    @bp.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, RismepError):
            return engine_error(error)
        busy = store.unavailable(error)
        if busy is not None:  # the same 503 as the API: the store cannot take writes right now
            log.error("store unavailable on %s %s: %s", request.method, request.path, error)
            return error_page(503, i18n.message(busy), headers={"Retry-After": "30"})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500, i18n.t("error_500"))


def configure_app(state) -> None:
    """On registration: session cookie defaults (create_app has already migrated the store)."""
    from datetime import timedelta

    app = state.app
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("PERMANENT_SESSION_LIFETIME") == timedelta(days=31):
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(app.config["SESSION_HOURS"]))
