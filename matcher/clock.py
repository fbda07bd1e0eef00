"""The one clock: Thailand time (Asia/Bangkok, UTC+7, no daylight saving), ISO 8601 with its offset.

Every stamp the product writes or shows comes from here, so that the store, the logs and the pages never mix
+07:00 and UTC. Thai pages show dates in the Buddhist era through :func:`thai_date`.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
BUDDHIST_ERA_OFFSET = 543


def now() -> datetime:
    """The current time in Bangkok (timezone-aware)."""
    return datetime.now(BANGKOK)


def now_text() -> str:
    """The current time in Bangkok, ISO 8601 to the second with its offset: ``2026-12-07T16:55:00+07:00``."""
    return now().isoformat(timespec="seconds")


def as_bangkok(value: datetime) -> datetime:
    """A datetime in Bangkok time; a naive one is taken to be Bangkok time already."""
    return value.replace(tzinfo=BANGKOK) if value.tzinfo is None else value.astimezone(BANGKOK)


def parse(text: str) -> datetime:
    """An ISO 8601 stamp (with or without offset; ``Z`` accepted) as a Bangkok datetime. Raises ValueError."""
    return as_bangkok(datetime.fromisoformat(str(text).replace("Z", "+00:00")))


def thai_date(text: str, *, with_time: bool = False) -> str:
    """``2026-12-07T16:55:00+07:00`` -> ``7/12/2569`` (Buddhist era), with ``16:55`` when asked."""
    when = parse(text)
    out = f"{when.day}/{when.month}/{when.year + BUDDHIST_ERA_OFFSET}"
    return f"{out} {when:%H:%M}" if with_time else out


def epoch() -> float:
    """Seconds since the epoch (for delivery timing, where a fraction of a second matters)."""
    return time.time()


def is_working_day(day: date, holidays=()) -> bool:
    """Monday to Friday and not a public holiday; ``holidays`` holds ``YYYY-MM-DD`` dates and ``MM-DD``
    dates that recur every year."""
    return day.weekday() < 5 and day.isoformat() not in holidays and day.strftime("%m-%d") not in holidays


def add_working_days(start: datetime, days: int, holidays=()) -> datetime:
    """The same time of day ``days`` working days after ``start`` (a Friday 10:00 + 3 is Wednesday 10:00)."""
    when = as_bangkok(start)
    while days > 0:
        when += timedelta(days=1)
        if is_working_day(when.date(), holidays):
            days -= 1
    return when
