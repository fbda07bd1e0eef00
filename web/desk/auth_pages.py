"""Sign-in, sign-out, the home redirect and the language switch."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for

from matcher import accounts
from matcher.errors import RismepError
from web import sessions
from web.context import get_db

from . import bp, csrf, i18n
from .common import current_user, home_url, page, safe_next


@bp.get("/")
def home():
    """The desk: the signed-in account's home page, or the sign-in page."""
    return redirect(home_url(current_user()))


@bp.get("/desk/signin")
def signin():
    if current_user():
        return redirect(safe_next(request.args.get("next")) or home_url(current_user()))
    return page("desk/signin.html", next=safe_next(request.args.get("next")) or "")


@bp.post("/desk/signin")
def signin_post():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    if not username or not password:
        return _signin_failed(username, target, i18n.t("signin_missing"))
    try:
        _count_attempt(username)
    except RismepError as error:
        return _signin_failed(username, target, i18n.message(error), error.status)
    user = accounts.authenticate(get_db(), username, password)
    if user is None:
        return _signin_failed(username, target, i18n.t("signin_failed"), 401)
    sessions.begin(user["id"])  # a fresh session in the store (no fixation)
    csrf.rotate()
    return redirect(target or home_url(user))


def _count_attempt(username: str) -> None:
    """Attempts per address, then per username and address: both counted, before any password hash."""
    if "rate_limits" in current_app.extensions:
        from web.security import rate_limit
        rate_limit("sign_in_address", "any-user", "sign-in attempts from this address / "
                   "มีการพยายามเข้าสู่ระบบจากที่อยู่นี้บ่อยเกินไป")
        rate_limit("sign_in", username.lower(), "sign-in attempts / พยายามเข้าสู่ระบบบ่อยเกินไป")


def _signin_failed(username: str, target, message: str, status: int = 422):
    return page("desk/signin.html", status, error=message, username=username, next=target or "")


@bp.post("/desk/signout")
def signout():
    sessions.end()  # the session ends in the store: a copied cookie no longer works
    flash(i18n.t("signed_out"), "info")
    return redirect(url_for("desk.signin"))


@bp.get("/desk/lang/<code>")
def switch_language(code):
    """Switch the pages' language (th or en) and go back where the user was."""
    if code in i18n.LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("desk.home"))
