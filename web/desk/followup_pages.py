"""Following cases to their end on the desk: close and re-open a need, the enterprise's satisfaction, the
needs-action queue, notifications with their unread count and settings, the printable referral slip, and
the public status page by tracking code. The rules are the services' (``matcher.referrals.followup``,
``matcher.notifications``); the pages only shape and show."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from matcher.errors import RismepError
from matcher.lifecycle import CLOSE_REASONS
from matcher.notifications import inbox
from matcher.notifications import settings as notify_settings
from matcher.referrals import followup
from web.context import get_db, get_reference

from . import bp, i18n
from .common import current_principal, page, requires
from .followup_views import notification_text, queue_groups


@bp.post("/desk/referrals/<int:referral_id>/needs/<need>/close")
@requires("desk")
def close_need(referral_id, need):
    """Close a need unmet with a reason (and a note for "other")."""
    from .referrals_pages import render_referral
    reason = request.form.get("reason") or None
    if reason not in CLOSE_REASONS:
        return render_referral(referral_id, error=i18n.t("err_close_reason"), error_need=need, status=422)
    body = {"reason": reason, "note": request.form.get("note", "").strip() or None}
    try:
        followup.close_need(get_db(), referral_id, need, body, current_principal())
    except RismepError as error:
        if error.status == 404 and error.field != "need":
            raise
        return render_referral(referral_id, error=i18n.message(error), error_need=need, status=error.status)
    flash(i18n.t("need_closed", need=_label(need)), "success")
    return redirect(url_for("desk.referral", referral_id=referral_id) + "#needs-h")


@bp.post("/desk/referrals/<int:referral_id>/needs/<need>/reopen")
@requires("desk")
def reopen_need(referral_id, need):
    from .referrals_pages import render_referral
    try:
        followup.reopen_need(get_db(), referral_id, need, current_principal())
    except RismepError as error:
        if error.status == 404 and error.field != "need":
            raise
        return render_referral(referral_id, error=i18n.message(error), error_need=need, status=error.status)
    flash(i18n.t("need_reopened", need=_label(need)), "success")
    return redirect(url_for("desk.referral", referral_id=referral_id) + "#needs-h")


@bp.post("/desk/referrals/<int:referral_id>/satisfaction")
@requires("desk")
def satisfaction(referral_id):
    """The enterprise's satisfaction (1-5) and its words, once the case is closed."""
    from .referrals_pages import render_referral
    score = request.form.get("score", "")
    if not score.isdigit():
        return render_referral(referral_id, error=i18n.t("err_score"), error_need="satisfaction", status=422)
    body = {"score": int(score), "note": request.form.get("note", "").strip() or None}
    try:
        followup.record_satisfaction(get_db(), referral_id, body, current_principal())
    except RismepError as error:
        if error.status == 404:
            raise
        return render_referral(referral_id, error=i18n.message(error), error_need="satisfaction", status=error.status)
    flash(i18n.t("satisfaction_saved"), "success")
    return redirect(url_for("desk.referral", referral_id=referral_id) + "#satisfaction-h")


def _label(need: str) -> str:
    from .common import category_label
    return category_label(need)


# -- the queue and notifications ---------------------------------------------------------------------------

@bp.get("/desk/queue")
@requires("desk")
def queue():
    """The needs-action queue: declined legs to re-match, legs not accepted in 3 working days, legs past their
    expected duration, needs with no member."""
    result = followup.needs_action_queue(get_db(), get_reference(), current_principal())
    from .referrals_pages import member_name
    return page("desk/queue.html", result=result, groups=queue_groups(result), member_name=member_name)


@bp.get("/desk/notifications")
@requires("desk", "member")
def notifications():
    result = inbox.notifications(get_db(), current_principal(), {"limit": 100})
    items = [dict(item, text=notification_text(item)) for item in result["items"]]
    return page("desk/notifications.html", result=result, items=items)


@bp.post("/desk/notifications/read")
@requires("desk", "member")
def notifications_read():
    done = inbox.mark_read(get_db(), current_principal())
    flash(i18n.t("marked_read", n=done["marked"]), "success")
    return redirect(url_for("desk.notifications"))


@bp.get("/desk/settings/notifications")
@requires("desk", "member")
def notification_settings():
    return page("desk/notification_settings.html",
                settings=notify_settings.get_settings(get_db(), current_principal()), error=None, field=None)


@bp.post("/desk/settings/notifications")
@requires("desk", "member")
def notification_settings_post():
    form = request.form
    body = {"email": form.get("email", "").strip() or None, "webhook_url": form.get("webhook_url", "").strip() or None,
            "channels": form.getlist("channels"), "language": form.get("language") or "th",
            "rotate_secret": form.get("rotate_secret") == "1"}
    try:
        saved = notify_settings.save_settings(get_db(), current_principal(), body)
    except RismepError as error:
        typed = dict(body, webhook_secret_set=False, recipient="")
        return page("desk/notification_settings.html", error.status, settings=typed, error=i18n.message(error),
                    field=error.field)
    flash(i18n.t("settings_saved"), "success")
    if saved.get("webhook_secret"):
        return page("desk/notification_settings.html", settings=saved, error=None, field=None,
                    secret=saved["webhook_secret"])
    return redirect(url_for("desk.notification_settings"))


# -- the slip and the public status page ---------------------------------------------------------------------

@bp.get("/desk/referrals/<int:referral_id>/slip")
@requires("desk")
def slip(referral_id):
    """The printable referral slip (A4): the enterprise, the plan in steps with each organisation's public
    address and phone, what to bring, and the tracking code."""
    data = followup.slip(get_db(), referral_id, current_principal(), get_reference())
    from .lists import actor_name
    return page("desk/slip.html", slip=data, track_url=request.host_url.rstrip("/") + url_for("desk.track"),
                desk_name=actor_name(data["referral"].get("desk")))


@bp.get("/track")
def track():
    """The public status page: steps and statuses only, by tracking code (rate-limited per address)."""
    code = request.args.get("code", "").strip()
    if not code:
        return page("desk/track.html", result=None, code="", error=None)
    from web.notifications import limit_tracking
    limit_tracking()
    try:
        result = followup.track(get_db(), code)
    except RismepError as error:
        if error.status != 404:
            raise
        return page("desk/track.html", 404, result=None, code=code, error=i18n.t("track_none"))
    return page("desk/track.html", result=result, code=followup.format_tracking_code(
        followup.normal_tracking_code(code)), error=None)
