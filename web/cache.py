"""The web layer's one cache: values built once per version of the store's data, kept in the app.

``versioned(name, build)`` returns ``build()``'s value for the store's current data version (and database
file), building it at most once per version: the first request after a change builds it while others asking
for the same name wait for that build rather than starting their own. With ``grace_s`` a value built less
than that many seconds ago is still served after the data moved on, so a burst of writes costs one rebuild,
not one per write. No threads are started; nothing is built outside a request or a command.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from matcher.clock import now_text
from matcher.store import data_version
from web.context import get_db


@dataclass
class Entry:
    value: object
    stamp: tuple
    built_at: str               # when it was built (Bangkok time, ISO), for "as of" lines
    built_monotonic: float


@dataclass
class _Store:
    entries: dict = field(default_factory=dict)
    locks: dict = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def lock_for(self, name: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(name, threading.Lock())


def _store() -> _Store:
    return current_app.extensions.setdefault("rismep_cache", _Store())


def current_stamp() -> tuple:
    """The version the cached values are keyed by: the database file and its data version."""
    return current_app.config.get("DATABASE"), data_version(get_db())


def versioned_entry(name: str, build, *, grace_s: float = 0.0, stamp: tuple | None = None) -> Entry:
    """The cache entry ``name`` for the store's data version, built with ``build()`` when needed."""
    store = _store()
    stamp = stamp if stamp is not None else current_stamp()
    hit = store.entries.get(name)
    if hit is not None and (hit.stamp == stamp or time.monotonic() - hit.built_monotonic < grace_s):
        return hit
    with store.lock_for(name):
        hit = store.entries.get(name)  # built by another request while this one waited
        if hit is not None and (hit.stamp == stamp or time.monotonic() - hit.built_monotonic < grace_s):
            return hit
        entry = Entry(build(), stamp, now_text(), time.monotonic())
        store.entries[name] = entry
        return entry


def versioned(name: str, build, *, grace_s: float = 0.0, stamp: tuple | None = None):
    """``build()``'s value for the store's data version (see the module's note)."""
    return versioned_entry(name, build, grace_s=grace_s, stamp=stamp).value
