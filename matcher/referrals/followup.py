"""Following a referral to its end: the desk closes or re-opens a need, records the enterprise's satisfaction,
works its needs-action queue (declined legs, legs not accepted in time, legs past their expected duration),
prints the referral slip; anyone with the tracking code reads the case's steps and statuses.

Each function takes the store, the caller's principal dict where one is needed, and plain data; writes go
through ``matcher.store.progress`` and ``matcher.store.referrals`` (one transaction each, with their events
and notifications).
"""

from __future__ import annotations

import re

from matcher import access, clock, lifecycle
from matcher.errors import Conflict, NotFound, Unprocessable
from matcher.referrals.parsing import _optional_text
from matcher.referrals.service import _referral_view
from matcher.store import progress
from matcher.store import referrals as store
from matcher.vocabulary import MAX_NOTE, SATISFACTION

TRACKING_CODE = re.compile(r"^[0-9A-F]{16}$")


# -- needs -----------------------------------------------------------------------------------------------

def close_need(db, referral_id, need, body, principal) -> dict:
    """Close a need unmet with a reason (``enterprise_withdrew``, ``met_elsewhere``, ``no_provider``,
    ``not_needed``, ``other`` with a note). Legs left with only closed needs are withdrawn; a need closed as
    met elsewhere lets the steps after it go ahead. Returns the referral's view for the principal."""
    view = _case_for(db, referral_id, need, principal)
    body = body if isinstance(body, dict) else {}
    reason = body.get("reason")
    if reason not in lifecycle.CLOSE_REASONS:
        raise Unprocessable(f"Closing a need needs a reason from the list; got {reason!r}. Expected one of: "
                            f"{', '.join(lifecycle.CLOSE_REASONS)}.", field="reason", allowed=lifecycle.CLOSE_REASONS)
    note = _optional_text(body.get("note"), "note", MAX_NOTE)
    if reason == "other" and not note:
        raise Unprocessable("reason 'other' needs a note saying why the need is closed.", field="note")
    done = progress.close_need(db, referral_id=view["id"], need=need, reason=reason, note=note,
                               actor=access.actor_of(principal), at=clock.now_text())
    if not done["closed"]:
        raise Conflict(f"ความต้องการ {need} อยู่ในสถานะ '{done['current']}' จึงปิดไม่ได้ / Need {need} is "
                       f"'{done['current']}': only a need that is not met or closed can be closed.", field="need")
    return _after(db, view["id"], principal, withdrawn=done["withdrawn"])


def reopen_need(db, referral_id, need, principal) -> dict:
    """Re-open a need the desk closed: it takes its legs' status again (needs action when none is live)."""
    view = _case_for(db, referral_id, need, principal)
    done = progress.reopen_need(db, referral_id=view["id"], need=need, actor=access.actor_of(principal),
                                at=clock.now_text())
    if not done["reopened"]:
        raise Conflict(f"ความต้องการ {need} ไม่ได้ถูกปิดไว้ / Need {need} is '{done['current']}', not closed; "
                       f"nothing to re-open.", field="need")
    return _after(db, view["id"], principal)


def _case_for(db, referral_id, need, principal) -> dict:
    view = _referral_view(db, referral_id)
    access.require(principal, "close_need")
    access.check_can_view(principal, view)
    if need not in {n["need"] for n in view["needs"]}:
        raise NotFound(f"Referral {view['id']} has no need {need!r}; its needs are "
                       f"{', '.join(n['need'] for n in view['needs'])}.", field="need",
                       allowed=[n["need"] for n in view["needs"]])
    return view


def _after(db, referral_id: int, principal: dict, **extra) -> dict:
    view = access.redact(principal, _referral_view(db, referral_id))
    return {"id": view["id"], "status": view["status"], "needs": view["needs"], "unmet": view["unmet"],
            "legs": view["legs"], **extra}


# -- satisfaction --------------------------------------------------------------------------------------

def record_satisfaction(db, referral_id, body, principal) -> dict:
    """The enterprise's satisfaction (``score`` 1-5) and a ``note``, once its case is closed."""
    view = _referral_view(db, referral_id)
    access.require(principal, "record_satisfaction")
    access.check_can_view(principal, view)
    body = body if isinstance(body, dict) else {}
    score, (low, high) = body.get("score"), SATISFACTION
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score)
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise Unprocessable(f"score must be a whole number from {low} (very dissatisfied) to {high} (very "
                            f"satisfied); got {score!r}.", field="score", allowed=list(range(low, high + 1)))
    note = _optional_text(body.get("note"), "note", MAX_NOTE)
    done = store.record_satisfaction(db, referral_id=view["id"], score=score, note=note,
                                     actor=access.actor_of(principal), at=clock.now_text())
    if not done["recorded"]:
        raise Conflict(f"การส่งต่อ {view['id']} ยังไม่ปิด / Referral {view['id']} is '{done['status']}': record the "
                       f"enterprise's satisfaction once the case is completed or closed.", field="score",
                       allowed=list(lifecycle.CLOSED_REFERRAL_STATUSES))
    return {"id": view["id"], "status": done["status"], "satisfaction": {"score": score, "note": note}}


# -- overdue legs and the needs-action queue --------------------------------------------------------------

def overdue_legs(db, ref, now=None) -> list[tuple[dict, str]]:
    """Open legs past a deadline now: (leg, ``not_accepted`` | ``past_due``)."""
    now = now or clock.now()
    found = []
    for leg in progress.open_legs_with_times(db):
        kind = lifecycle.overdue_kind(leg, now, holidays=ref.holidays, durations=ref.expected_days)
        if kind:
            found.append((leg, kind))
    return found


def sweep_overdue(db, ref, now=None) -> int:
    """Record every leg that became overdue (event, notifications, the case's roll-up); how many."""
    found = overdue_legs(db, ref, now)
    return progress.record_overdue(db, found, clock.now_text()) if found else 0


def needs_action_queue(db, ref, principal, *, now=None) -> dict:
    """The desk's queue: its needs that need action now, grouped as the desk works them (legs to re-match,
    legs not accepted in time, legs past their expected duration, needs with no member or blocked)."""
    principal = access.require(principal, "view_queue")
    sweep_overdue(db, ref, now)
    desk = principal.get("desk") if principal["role"] == "desk" else None
    if principal["role"] == "desk" and not desk:
        desk = ""
    items = [queue_item(row, ref) for row in progress.needs_action(db, desk=desk)]
    groups = {g: [i for i in items if i["group"] == g] for g in QUEUE_GROUPS}
    return {"items": items, "total": len(items), "groups": {g: len(v) for g, v in groups.items()}}


QUEUE_GROUPS = ("rematch", "not_accepted", "past_due", "unassigned")
_GROUP_OF = {"declined": "rematch", "closed_unresolved": "rematch", "withdrawn": "rematch",
             "not_accepted": "not_accepted", "past_due": "past_due", "unassigned": "unassigned",
             "blocked": "unassigned"}


def queue_item(row: dict, ref) -> dict:
    deadline = None
    if row["detail"] == "not_accepted" and row.get("sent_at"):
        deadline = lifecycle.accept_by(row["sent_at"], ref.holidays).isoformat(timespec="seconds")
    elif row["detail"] == "past_due" and row.get("accepted_at"):
        due = lifecycle.due_by({"accepted_at": row["accepted_at"], "needs": row["needs"]}, ref.expected_days)
        deadline = due.isoformat(timespec="seconds") if due else None
    return {"referral_id": row["referral_id"], "need": row["need"], "step": row["step"], "detail": row["detail"],
            "group": _GROUP_OF.get(row["detail"], "unassigned"), "leg_id": row["leg_id"],
            "member": row["member_id"], "leg_status": row["leg_status"], "decline_reason": row["decline_reason"],
            "province": row["province"], "since": row["updated_at"], "deadline": deadline}


# -- the public status page -----------------------------------------------------------------------------

def normal_tracking_code(code) -> str:
    """The code as stored: upper case, without spaces or dashes; 404 for anything that cannot be one."""
    text = re.sub(r"[\s-]", "", str(code or "")).upper()
    if not TRACKING_CODE.match(text):
        raise NotFound("ไม่พบรหัสติดตามนี้ / No referral has this tracking code; check the 16 characters printed on "
                       "the referral slip.", field="code")
    return text


def track(db, code) -> dict:
    """Steps and statuses of the case with this tracking code: no names, members, contact or notes."""
    record = store.tracking_record(db, normal_tracking_code(code))
    if record is None:
        normal_tracking_code("")
    steps: dict[int, list] = {}
    for need in record["needs"]:
        steps.setdefault(need["step"], []).append({"need": need["need"], "status": need["status"],
                                                   "updated_at": need["updated_at"]})
    return {"status": record["status"], "created_at": record["created_at"], "updated_at": record["updated_at"],
            "steps": [{"step": k, "needs": steps[k]} for k in sorted(steps)]}


def format_tracking_code(code: str | None) -> str:
    """``3F9A0C41D2E7B865`` -> ``3F9A-0C41-D2E7-B865`` (as printed on the slip)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4)) if code else ""


# -- the referral slip ------------------------------------------------------------------------------------

def slip(db, referral_id, principal, ref) -> dict:
    """What the printed referral slip shows: the enterprise, the plan in steps with each organisation's public
    address and phone (consultants: name only), what to bring, and the tracking code."""
    view = _referral_view(db, referral_id)
    access.require(principal, "print_slip")
    access.check_can_view(principal, view)
    view = access.redact(principal, view)
    members = store.organisations(db, [leg["member"] for leg in view["legs"]])
    live = [leg for leg in view["legs"] if leg["status"] not in lifecycle.REMATCHABLE]
    steps = []
    for step in view["plan"]:
        legs = [dict(leg, organisation=members.get(leg["member"], {"id": leg["member"]}),
                     bring=[ref.services.get(n, {}) for n in leg["needs"]])
                for leg in live if leg["id"] in step["legs"]]
        if legs:
            steps.append({"step": step["step"], "legs": legs})
    return {"referral": view, "steps": steps, "tracking_code": format_tracking_code(view.get("tracking_code")),
            "printed_at": clock.now_text()}
