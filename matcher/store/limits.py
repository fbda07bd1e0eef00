"""Rate-limit counters in the store, shared by every worker of the service and bounded in size.

Each (bucket, subject) counts hits in fixed slots of ``window`` seconds; a hit is allowed while the hits of
the current slot plus the previous slot's, weighted by how much of it still lies inside the sliding window,
stay under the limit (the usual sliding-window estimate). Refused hits are not counted. Rows older than two
of the longest windows are deleted whenever a new row is written, so the table holds only recent subjects.
"""

from __future__ import annotations

import math
import sqlite3

from . import transaction, unavailable

LONGEST_WINDOW = 3600


def hit(db, bucket: str, subject: str, *, limit: int, window: int, now: float) -> float:
    """Count one hit for ``subject`` in ``bucket`` and return 0, or return the seconds to wait (nothing
    counted) when it would go over ``limit`` hits per ``window`` seconds. Unavailable when the store
    cannot take writes."""
    slot = int(now // window) * window
    elapsed = (now - slot) / window
    try:
        # A subject already over its limit is refused on a plain read, without taking the write lock: a
        # flood of refused requests must not queue the service's writers.
        wait = _over_limit(db, bucket, subject, slot, window, limit, elapsed)
        if wait:
            return wait
        with transaction(db):
            wait = _over_limit(db, bucket, subject, slot, window, limit, elapsed)
            if wait:
                return wait
            if _first_hit(db, bucket, subject, slot):
                db.execute("DELETE FROM rate_counts WHERE slot < ?", [now - 2 * LONGEST_WINDOW])
            db.execute("INSERT INTO rate_counts (slot, bucket, subject, hits) VALUES (?, ?, ?, 1) "
                       "ON CONFLICT(slot, bucket, subject) DO UPDATE SET hits = hits + 1",
                       [slot, bucket, subject])
    except sqlite3.OperationalError as error:
        busy = unavailable(error)
        if busy is None:
            raise
        raise busy from None
    return 0.0


def _counts(db, bucket: str, subject: str, slot: int, window: int) -> tuple[int, int]:
    rows = dict(db.execute("SELECT slot, hits FROM rate_counts WHERE slot IN (?, ?) AND bucket = ? AND subject = ?",
                           [slot, slot - window, bucket, subject]).fetchall())
    return rows.get(slot, 0), rows.get(slot - window, 0)


def _over_limit(db, bucket, subject, slot, window, limit, elapsed) -> float:
    """The seconds to wait when one more hit would go over the limit, else 0."""
    current, previous = _counts(db, bucket, subject, slot, window)
    if current + previous * (1 - elapsed) >= limit:
        return _wait(current, previous, limit, window, elapsed)
    return 0.0


def _first_hit(db, bucket, subject, slot) -> bool:
    return db.execute("SELECT 1 FROM rate_counts WHERE slot = ? AND bucket = ? AND subject = ?",
                      [slot, bucket, subject]).fetchone() is None


def _wait(current: int, previous: int, limit: int, window: int, elapsed: float) -> float:
    """Seconds until the estimate drops under the limit again (whole seconds, at least one)."""
    if current >= limit:  # into the next slot, until this slot's share falls under the limit
        seconds = (1 - elapsed) * window + window * (1 - limit / current)
    else:  # previous * (1 - t) + current < limit  <=>  t > 1 - (limit - current) / previous
        seconds = (1 - (limit - current) / previous - elapsed) * window
    return float(max(1, math.ceil(seconds)))


def number_of_rows(db) -> int:
    return db.execute("SELECT count(*) FROM rate_counts").fetchone()[0]
