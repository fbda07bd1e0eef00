"""Following a referral: the desk's list, a member's inbox, the referral page (legs, timeline, actions)
and re-matching a declined leg. Access rules are the referral service's (``matcher.access``)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from matcher.errors import RismepError
from matcher.lifecycle import CLOSE_REASONS, DECLINE_REASONS, REMATCHABLE, TRANSITIONS
from matcher.referrals.followup import format_tracking_code
from web.context import get_snapshot

from . import bp, i18n, services
from .common import current_principal, page, requires
from .lists import actor_name, list_page, member_name
from .followup_views import can_record_satisfaction, need_rows, plan_rows, unmet_text, waits_text
from .views import bundle_views, order_note

ACTIONS = {"accepted": "accept", "declined": "decline", "in_progress": "start", "completed": "complete",
           "closed_unresolved": "close_unresolved"}


@bp.get("/desk/referrals")
@requires("desk", "analyst")
def referrals():
    """The desk's referrals (an analyst: every desk's, without the enterprise's identity), newest first:
    search and filters, 20 a page."""
    return list_page("desk/referrals.html", "desk.referrals")


@bp.get("/desk/inbox")
@requires("member")
def inbox():
    """A member's tasks to answer and follow: search and filters, 20 a page."""
    return list_page("desk/inbox.html", "desk.inbox")


@bp.get("/desk/referrals/<int:referral_id>")
@requires("desk", "member")
def referral(referral_id):
    """One referral: its legs with status, what this account may do next, the timeline of events."""
    return render_referral(referral_id)


def render_referral(referral_id: int, *, error: str | None = None, error_leg=None, error_need=None,
                    status: int = 200, typed: dict | None = None):
    """The referral page: the case, each need's status, the plan with the organisations on it, the legs
    this account may act on, the satisfaction once closed, and the timeline. Opening it marks this
    account's notifications of the referral read."""
    principal = current_principal()
    view = services.get_referral(referral_id, principal)
    events = services.referral_events(referral_id, principal)
    replaced = {leg.get("replaces_leg_id") for leg in view["legs"] if leg.get("replaces_leg_id")}
    own = [leg for leg in view["legs"] if principal["role"] != "member" or leg["member"] == principal.get("member_id")]
    legs = [dict(leg, name=member_name(leg["member"]), next=_next_actions(principal, leg), waits=waits_text(leg),
                 can_rematch=_can_rematch(principal, leg, replaced)) for leg in own]
    can_close = principal["role"] in ("desk", "admin")
    services.mark_read(principal, referral_id)
    return page("desk/referral.html", status, referral=view, legs=legs, events=events, error=error,
                error_leg=error_leg, error_need=error_need, typed=typed or {}, reasons=DECLINE_REASONS,
                actor_name=actor_name, leg_members={leg["id"]: leg["member"] for leg in view["legs"]}, member_name=member_name,
                needs=need_rows(view, can_close), close_reasons=CLOSE_REASONS, unmet=unmet_text(view),
                plan=plan_rows(view, services.organisations([leg["member"] for leg in view["legs"]]), principal),
                can_satisfaction=can_record_satisfaction(principal, view), can_print=can_close,
                tracking_code=format_tracking_code(view.get("tracking_code")))




def _next_actions(principal: dict, leg: dict) -> list[str]:
    mine = principal["role"] in ("desk", "admin") or leg["member"] == principal.get("member_id")
    return list(TRANSITIONS.get(leg["status"], ())) if mine else []


def _can_rematch(principal: dict, leg: dict, replaced: set) -> bool:
    return principal["role"] in ("desk", "admin") and leg["status"] in REMATCHABLE and leg["id"] not in replaced


@bp.post("/desk/referrals/<int:referral_id>/legs/<int:leg_id>")
@requires("desk", "member")
def move_leg(referral_id, leg_id):
    """Accept, decline (with a reason), start, complete (with the value in baht and a note) or close."""
    form = request.form
    to = form.get("status", "")
    typed = {k: form.get(k, "") for k in ("status", "value_baht", "note", "reason")}  # shown again on an error
    if to not in ACTIONS:
        return render_referral(referral_id, error=i18n.t("err_action", value=to), error_leg=leg_id, status=422)
    change = {"status": to, "note": form.get("note", "").strip() or None}
    if to == "declined":
        change["reason"] = form.get("reason") or None
        if change["reason"] not in DECLINE_REASONS:
            return render_referral(referral_id, error=i18n.t("err_reason"), error_leg=leg_id, status=422,
                                   typed=typed)
    if to == "completed":
        value = parse_baht(form.get("value_baht", ""))
        if value is None:
            return render_referral(referral_id, error=i18n.t("err_value"), error_leg=leg_id, status=422,
                                   typed=typed)
        change["value_baht"] = value
    try:
        services.update_leg(referral_id, leg_id, change, current_principal())
    except RismepError as error:
        if error.status == 404:
            raise
        return render_referral(referral_id, error=i18n.message(error), error_leg=leg_id, status=error.status,
                               typed=typed)
    flash(i18n.t("leg_updated", status=i18n.status_label(to)), "success")
    return redirect(url_for("desk.referral", referral_id=referral_id) + f"#leg-{leg_id}")


def parse_baht(text: str) -> float | None:
    """A non-negative amount from what an officer types ("250,000", "250000.50", "฿ 1 200"), or None."""
    cleaned = text.replace(",", "").replace("฿", "").replace("บาท", "").replace(" ", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if 0 <= value < 1e12 and value == value else None


@bp.get("/desk/referrals/<int:referral_id>/legs/<int:leg_id>/rematch")
@requires("desk")
def rematch(referral_id, leg_id):
    """Proposals for the needs of a declined leg (members who declined are left out)."""
    proposals = services.rematch(referral_id, {"leg_id": leg_id}, current_principal())
    result = proposals["proposals"]
    return page("desk/rematch.html", referral_id=referral_id, leg_id=leg_id, proposals=proposals,
                bundles=bundle_views(result, get_snapshot()), order_note=order_note(),
                uncovered=[u.need for u in result.uncovered])


@bp.post("/desk/referrals/<int:referral_id>/legs/<int:leg_id>/rematch")
@requires("desk")
def rematch_send(referral_id, leg_id):
    """Send the chosen replacement as new legs of the same referral."""
    assignment = {k[len("assign."):]: v for k, v in request.form.items() if k.startswith("assign.") and v}
    try:
        services.rematch(referral_id, {"leg_id": leg_id, "assignment": assignment}, current_principal())
    except RismepError as error:
        if error.status == 404:
            raise
        return render_referral(referral_id, error=i18n.message(error), error_leg=leg_id, status=error.status)
    flash(i18n.t("rematched"), "success")
    return redirect(url_for("desk.referral", referral_id=referral_id))
