"""The referral leg state machine and the roll-up of a referral's status from its legs.

``sent -> accepted | declined``, ``accepted -> in_progress``, ``in_progress -> completed |
closed_unresolved``. A declined leg may be replaced by a re-matched one; its own state is final.
"""

from __future__ import annotations

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "sent": ("accepted", "declined"),
    "accepted": ("in_progress",),
    "in_progress": ("completed", "closed_unresolved"),
    "declined": (),
    "completed": (),
    "closed_unresolved": (),
}
LEG_STATUSES = tuple(TRANSITIONS)
OPEN = ("sent", "accepted", "in_progress")
FINAL = ("declined", "completed", "closed_unresolved")
DECLINE_REASONS = ("no_capacity", "out_of_scope", "out_of_area", "missing_documents", "other")
REFERRAL_STATUSES = ("sent", "in_progress", "completed", "partially_completed", "closed_unresolved",
                     "declined")


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS[status]


def is_allowed(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, ())


def referral_status(leg_statuses) -> str:
    """Roll a referral's status up from its legs' statuses.

    All legs declined: ``declined``. Any leg still open: ``sent`` while none has been accepted, else
    ``in_progress``. All legs final: ``completed`` when every non-declined leg completed,
    ``partially_completed`` when some did, ``closed_unresolved`` when none did.
    """
    statuses = list(leg_statuses)
    live = [s for s in statuses if s != "declined"]
    if not live:
        return "declined"
    if any(s in OPEN for s in live):
        return "sent" if all(s == "sent" for s in live) else "in_progress"
    done = sum(s == "completed" for s in live)
    if done == len(live):
        return "completed"
    return "partially_completed" if done else "closed_unresolved"
