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
    "desk": ("new_case", "referrals", "queue", "notifications", "directory"),
    "member": ("inbox", "notifications", "directory"),
    "analyst": ("dashboard", "referrals", "directory"),
    "admin": ("new_case", "referrals", "queue", "inbox", "dashboard", "directory"),
}
NAV_ITEMS = {"new_case": ("desk.new_case", "nav_new_case"), "referrals": ("desk.referrals", "nav_referrals"),
             "inbox": ("desk.inbox", "nav_inbox"), "dashboard": ("desk.dashboard", "nav_dashboard"),
             "queue": ("desk.queue", "nav_queue"), "notifications": ("desk.notifications", "nav_notifications"),
             "directory": ("desk.directory", "nav_directory")}


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
    unread = _unread(user)
    return [{"url": url_for(NAV_ITEMS[k][0]), "label": i18n.t(NAV_ITEMS[k][1]), "endpoint": NAV_ITEMS[k][0],
             "count": unread if k == "notifications" else None}
            for k in NAV_BY_ROLE[user["role"]]]


def _unread(user) -> int | None:
    """The account's unread notifications (desk and member accounts), for the menu's marker."""
    if user["role"] not in ("desk", "member"):
        return None
    from . import services
    try:
        return services.unread(current_principal())
    except RismepError:
        return None


def template_context() -> dict:
    user = _user_or_none()
    return {
        "t": i18n.t, "lang": i18n.current_language(), "localized": i18n.localized,
        "status_label": i18n.status_label, "reason_label": i18n.reason_label, "user": user,
        "detail_label": i18n.detail_label, "close_reason_label": i18n.close_reason_label,
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


ERROR_TEXTS = (400, 403, 404, 405, 413, 500, 503)  # statuses with their own title and explanation


def error_page(status: int, message: str | None = None, details: list | None = None, headers: dict | None = None):
    """The desk's HTML error page in the page's language: a title, a plain explanation (``message`` when the
    error itself explains what to fix, else the status's own text), what to do next, no stack trace."""
    try:
        body, status = page("desk/error.html", status, status=status, headline=_headline(status),
                            message=message or _text(status), details=details or [], next_steps=next_steps(status))
        return body, status, headers or {}
    except Exception:  # the layout itself failed: fall back to the plain page, still no trace
        log.exception("desk error page failed")
        from web.errors import plain_error_page
        return plain_error_page(status), status, headers or {}


def styled_error_page(status: int, message: str = "") -> str:
    """The styled page's HTML for errors outside the desk's views (unknown paths, wrong methods, ...):
    the same page, with the desk's template context (the blueprint's context processor does not run there)."""
    text = i18n.t("err_too_many", seconds=_wait_seconds(message)) if status == 429 else None
    body, _ = page("desk/error.html", status, **template_context(), status=status,
                   headline=_headline(status), message=text or _text(status), details=[],
                   next_steps=next_steps(status))
    return body


def _headline(status: int) -> str:
    key = f"err_page_title_{status}"
    return i18n.t(key) if key in i18n.STRINGS else i18n.t("err_page_title_other")


def _text(status: int) -> str:
    return i18n.t(f"err_page_text_{status}") if status in ERROR_TEXTS else ""


def _wait_seconds(message: str) -> str:
    import re
    found = re.search(r"(\d+)\s*s\b", message or "")
    return found.group(1) if found else "60"


def next_steps(status: int) -> list[dict]:
    """Links that help after an error: the page again (5xx), back where the user came from, the list the
    missing thing belongs to (404), the account's home page or the sign-in page."""
    user = _user_or_none()
    steps = []
    if status >= 500 and request.method == "GET":
        steps.append({"url": request.full_path.rstrip("?"), "label": i18n.t("err_page_retry")})
    if status == 404 and user:
        steps += _lists_for(request.path, user["role"])
    back = _same_site_referrer()
    if back and back != request.full_path.rstrip("?"):
        steps.append({"url": back, "label": i18n.t("err_page_back")})
    if user:
        steps.append({"url": home_url(user), "label": i18n.t("err_page_home")})
    else:
        steps.append({"url": url_for("desk.signin"), "label": i18n.t("err_page_signin")})
    seen: set = set()
    return [s for s in steps if not (s["url"] in seen or seen.add(s["url"]))]


def _lists_for(path: str, role: str) -> list[dict]:
    if path.startswith("/desk/referrals") and role in ("desk", "admin"):
        return [{"url": url_for("desk.referrals"), "label": i18n.t("err_page_referrals")}]
    if path.startswith("/desk/referrals") and role == "member":
        return [{"url": url_for("desk.inbox"), "label": i18n.t("err_page_inbox")}]
    return [{"url": url_for("desk.directory"), "label": i18n.t("err_page_directory")}]


def _same_site_referrer() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def engine_error_message(error: RismepError) -> str | None:
    """What a desk page says about an engine error: the desk's own words for 403, 404, 500 and 503 (never
    API instructions), the error's own message (which names the fix) otherwise."""
    if isinstance(error, csrf.CSRFError):
        return i18n.t("csrf_failed")
    if error.status == 404:
        view_args = request.view_args or {}
        if error.field == "referral_id" and "referral_id" in view_args:
            return i18n.t("err_referral_missing", id=view_args["referral_id"])
        if error.field == "leg_id":
            return i18n.t("err_leg_missing")
        if error.field == "member_id" and "member_id" in view_args:
            return i18n.t("err_member", value=view_args["member_id"])
        return None
    if error.status in (403, 500, 503):
        return None
    return i18n.message(error)


def register_error_pages(bp) -> None:
    @bp.errorhandler(RismepError)
    def engine_error(error: RismepError):
        message = engine_error_message(error)
        details = ([d for d in error.details() if d.get("message") not in (error.message, message)]
                   if message and error.status not in (403, 404, 429) else [])
        headers = {"Retry-After": "30"} if error.status == 503 else None
        return error_page(error.status, message, details, headers=headers)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_page(error.code or 500)

    @bp.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, RismepError):
            return engine_error(error)
        busy = store.unavailable(error)
        if busy is not None:  # the same 503 as the API: the store cannot take writes right now
            log.error("store unavailable on %s %s: %s", request.method, request.path, error)
            return error_page(503, i18n.message(busy), headers={"Retry-After": "30"})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500)


def configure_app(state) -> None:
    """On registration: session cookie defaults (create_app has already migrated the store)."""
    from datetime import timedelta

    app = state.app
    app.extensions["html_error_page"] = styled_error_page  # browsers' errors outside the desk's views too
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("PERMANENT_SESSION_LIFETIME") == timedelta(days=31):
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(app.config["SESSION_HOURS"]))
