"""The referral lifecycle as data: the leg state machine, the status of each need, and the case's status.

Legs (one member's part of one plan step)::

    waiting -> sent -> accepted -> in_progress -> completed
            \\      \\-> declined                 \\-> closed_unresolved
             \\-> declined
    (any open leg) -> withdrawn   when the desk closes every need it holds

``waiting -> sent`` (the plan's prerequisites are met) and ``-> withdrawn`` are made by the store, never
by a caller. A need is ``met`` (its current leg completed), ``in_progress``, ``waiting`` (its leg waits for
a prerequisite), ``needs_action`` (declined, closed unresolved, withdrawn, overdue, never assigned, or
blocked by a prerequisite closed unmet) or ``closed_unmet`` (the desk closed it, with a reason). A case is
``completed`` only when every need is met. Pure functions over plain dicts; the store applies them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from matcher import clock

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "waiting": ("declined",),
    "sent": ("accepted", "declined"),
    "accepted": ("in_progress",),
    "in_progress": ("completed", "closed_unresolved"),
    "declined": (),
    "completed": (),
    "closed_unresolved": (),
    "withdrawn": (),
}
OPEN = ("waiting", "sent", "accepted", "in_progress")
FINAL = ("declined", "completed", "closed_unresolved", "withdrawn")
# Moves the store makes by itself: a waiting leg is released; an open leg whose needs were all closed ends.
SYSTEM_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "waiting": ("sent", "withdrawn"), "sent": ("withdrawn",), "accepted": ("withdrawn",),
    "in_progress": ("withdrawn",)}
LEG_STATUSES = tuple(TRANSITIONS)
REMATCHABLE = ("declined", "closed_unresolved", "withdrawn")
DECLINE_REASONS = ("no_capacity", "out_of_scope", "out_of_area", "missing_documents", "other")

NEED_STATUSES = ("met", "in_progress", "waiting", "needs_action", "closed_unmet")
# Why a need needs action: its leg's end, its overdue kind, no leg at all, or a prerequisite closed unmet.
ACTION_DETAILS = ("declined", "closed_unresolved", "withdrawn", "not_accepted", "past_due", "unassigned", "blocked")
CLOSE_REASONS = ("enterprise_withdrew", "met_elsewhere", "no_provider", "not_needed", "other")
REFERRAL_STATUSES = ("sent", "in_progress", "needs_action", "completed", "closed_partly_met", "closed_unmet")
CLOSED_REFERRAL_STATUSES = ("completed", "closed_partly_met", "closed_unmet")

ACCEPT_WITHIN_WORKING_DAYS = 3   # a sent leg not accepted by then is overdue
DEFAULT_EXPECTED_DAYS = 60       # calendar days from acceptance, for a category without its own figure


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS[status]


def is_allowed(current: str, new: str) -> bool:
    """True when a caller (member, desk, admin) may move a leg from ``current`` to ``new``."""
    return new in TRANSITIONS.get(current, ())


def is_system_move(current: str, new: str) -> bool:
    return new in SYSTEM_TRANSITIONS.get(current, ())


# -- needs ---------------------------------------------------------------------------------------------

def current_legs(legs) -> dict[str, dict]:
    """Need -> the latest leg holding it (a re-matched leg replaces the earlier one)."""
    out: dict[str, dict] = {}
    for leg in sorted(legs, key=lambda x: x["id"]):
        for need in leg["needs"]:
            out[need] = leg
    return out


def need_states(needs, legs) -> dict[str, dict]:
    """``{need: {"status", "detail", "leg_id"}}`` for a case's needs (``{"need", "prerequisites",
    "closed_reason"}`` rows) and its legs (``{"id", "needs", "status", "overdue"}``)."""
    current = current_legs(legs)
    states = {row["need"]: _need_state(row, current.get(row["need"])) for row in needs}
    for row in needs:
        state = states[row["need"]]
        if state["status"] == "waiting" and any(_is_closed_undone(states.get(p)) for p in
                                                row.get("prerequisites") or ()):
            state.update(status="needs_action", detail="blocked")
    return states


def _need_state(row: dict, leg: dict | None) -> dict:
    leg_id = leg["id"] if leg else None
    if row.get("closed_reason"):
        return {"status": "closed_unmet", "detail": row["closed_reason"], "leg_id": leg_id}
    if leg is None:
        return {"status": "needs_action", "detail": "unassigned", "leg_id": None}
    status = leg["status"]
    if status == "completed":
        return {"status": "met", "detail": None, "leg_id": leg_id}
    if status in REMATCHABLE:
        return {"status": "needs_action", "detail": status, "leg_id": leg_id}
    if leg.get("overdue"):
        return {"status": "needs_action", "detail": leg["overdue"], "leg_id": leg_id}
    if status == "waiting":
        return {"status": "waiting", "detail": None, "leg_id": leg_id}
    return {"status": "in_progress", "detail": status, "leg_id": leg_id}


def _is_closed_undone(state: dict | None) -> bool:
    return bool(state) and state["status"] == "closed_unmet" and state["detail"] != "met_elsewhere"


def is_done(state: dict | None) -> bool:
    """A prerequisite is done when its need is met, or closed because the enterprise has it from elsewhere."""
    return bool(state) and (state["status"] == "met" or (state["status"] == "closed_unmet"
                                                         and state["detail"] == "met_elsewhere"))


def waits_for(leg: dict, prerequisites: dict[str, list[str]]) -> list[str]:
    """The needs that must be done before ``leg`` may start (its needs' prerequisites, not its own)."""
    own = set(leg["needs"])
    return sorted({p for n in leg["needs"] for p in prerequisites.get(n, ()) if p not in own})


def ready_legs(needs, legs, states) -> list[dict]:
    """Waiting legs whose prerequisites are all done: the store releases them (``waiting -> sent``)."""
    prerequisites = {row["need"]: row.get("prerequisites") or [] for row in needs}
    return [leg for leg in legs if leg["status"] == "waiting"
            and all(is_done(states.get(p)) for p in waits_for(leg, prerequisites))]


# -- the case --------------------------------------------------------------------------------------------

def referral_status(states: dict[str, dict]) -> str:
    """The case's status from its needs' states.

    ``completed`` only when every need is met; every need met or closed: ``closed_partly_met`` (some met) or
    ``closed_unmet``; otherwise ``needs_action`` when any need does, ``in_progress`` once any need is met or
    accepted, else ``sent``.
    """
    statuses = [s["status"] for s in states.values()]
    if statuses and all(s == "met" for s in statuses):
        return "completed"
    if statuses and all(s in ("met", "closed_unmet") for s in statuses):
        return "closed_partly_met" if "met" in statuses else "closed_unmet"
    if "needs_action" in statuses:
        return "needs_action"
    started = any(s["status"] == "met" or s["detail"] in ("accepted", "in_progress") for s in states.values())
    return "in_progress" if started else "sent"


def roll_up(needs, legs) -> tuple[dict[str, dict], str]:
    """(need states, case status) in one call."""
    states = need_states(needs, legs)
    return states, referral_status(states)


def unmet(states: dict[str, dict]) -> list[str]:
    """The needs that are not met (what a closed, partly met case lists)."""
    return [need for need, s in states.items() if s["status"] != "met"]


# -- deadlines -------------------------------------------------------------------------------------------

def accept_by(sent_at: str, holidays=()) -> datetime:
    """When a sent leg must be accepted: ``ACCEPT_WITHIN_WORKING_DAYS`` working days after it was sent."""
    return clock.add_working_days(clock.parse(sent_at), ACCEPT_WITHIN_WORKING_DAYS, holidays)


def expected_days(needs, durations: dict[str, int]) -> int:
    """The expected duration of a leg: the longest of its categories' (calendar days)."""
    return max((int(durations.get(n, DEFAULT_EXPECTED_DAYS)) for n in needs), default=DEFAULT_EXPECTED_DAYS)


def due_by(leg: dict, durations: dict[str, int]) -> datetime | None:
    """When an accepted leg is expected to be complete, or None before acceptance."""
    if not leg.get("accepted_at"):
        return None
    return clock.parse(leg["accepted_at"]) + timedelta(days=expected_days(leg["needs"], durations))


def overdue_kind(leg: dict, now: datetime, *, holidays=(), durations=None) -> str | None:
    """``not_accepted`` (sent, not accepted within the working days), ``past_due`` (accepted or in
    progress past its expected duration) or None."""
    if leg["status"] == "sent" and leg.get("sent_at") and now > accept_by(leg["sent_at"], holidays):
        return "not_accepted"
    if leg["status"] in ("accepted", "in_progress"):
        due = due_by(leg, durations or {})
        if due is not None and now > due:
            return "past_due"
    return None
