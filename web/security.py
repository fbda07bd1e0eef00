"""Security headers on every response, and rate limits that hold across the service's workers.

Each limit is a sliding window per (limit, key) counted in the store, so all gunicorn workers share one
count and the counters cannot grow without bound (``matcher.store.limits`` prunes old rows). If the store
cannot take writes, each worker counts in a bounded in-memory window instead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from flask import request

from matcher import clock
from matcher.errors import TooManyRequests, Unavailable
from matcher.store import limits

from .context import get_db

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
# The interactive API docs page starts Swagger UI with an inline script.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path.startswith("/api/v1/docs") else CSP)
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    return response


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key, in this process's memory; ``hit`` raises
    TooManyRequests beyond it. Bounded: keys whose events have all expired are dropped, and past
    ``max_keys`` keys the least recently used go first. The service counts in the store instead
    (:class:`SharedLimiter`); this one stands in when the store cannot take writes."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._events: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, what: str = "requests") -> None:
        now = time.monotonic()
        with self._lock:
            events = self._events.pop(key, None) or deque()
            while events and now - events[0] > self.window:
                events.popleft()
            self._prune(now)
            if len(events) < self.limit:
                events.append(now)
            self._events[key] = events  # the most recently used key goes last
            if not events or events[-1] != now:
                raise too_many(what, int(self.window - (now - events[0])) + 1)

    def _prune(self, now: float) -> None:
        """Drop keys (other than the one being counted) whose last event has expired, oldest first, and
        the least recently used while there are ``max_keys`` or more."""
        for key in [k for k, e in list(self._events.items())[:64] if not e or now - e[-1] > self.window]:
            del self._events[key]
        while len(self._events) >= self.max_keys:
            self._events.popitem(last=False)

    def __len__(self) -> int:
        return len(self._events)


class SharedLimiter:
    """At most ``limit`` events per ``window`` seconds per key for all workers together, counted in the
    store (``matcher.store.limits``); when the store cannot take writes, counted in this process's memory."""

    def __init__(self, bucket: str, limit: int, window: int):
        self.bucket, self.limit, self.window = bucket, limit, window
        self.fallback = RateLimiter(limit, window)

    def hit(self, key: str, what: str = "requests") -> None:
        try:
            wait = limits.hit(get_db(), self.bucket, key, limit=self.limit, window=self.window,
                              now=clock.now().timestamp())
        except Unavailable:
            self.fallback.limit = self.limit
            self.fallback.hit(key, what)
            return
        if wait:
            raise too_many(what, int(wait))


def too_many(what: str, wait: int) -> TooManyRequests:
    """429 for ``what`` ("sign-in attempts / พยายามเข้าสู่ระบบบ่อยเกินไป": English, then Thai), with the wait;
    the desk shows the sentence of its page's language only (``message_th`` / ``message_en``)."""
    english, _, thai = what.partition(" / ")
    error = TooManyRequests(f"Too many {english}; try again in {wait} s.", field=None)
    error.message_en = error.message
    if thai:
        error.message_th = f"{thai} กรุณารอ {wait} วินาทีแล้วลองใหม่"
    error.retry_after = wait
    return error


LIMITS = {  # name: (setting with the limit, window in seconds)
    "sign_in": ("SIGN_IN_LIMIT", 300),
    "sign_in_address": ("SIGN_IN_ADDRESS_LIMIT", 300),
    "api_key": ("API_KEY_LIMIT", 60),
    "bad_key": ("BAD_KEY_LIMIT", 60),
    "track": ("TRACK_LIMIT", 60),
}


def register(app) -> None:
    app.after_request(add_security_headers)
    app.extensions["rate_limits"] = {name: SharedLimiter(name, int(app.config[setting]), window)
                                     for name, (setting, window) in LIMITS.items()}


def rate_limit(name: str, key: str, what: str = "requests", *, per_address: bool = True) -> None:
    """Count one event against the app's limiter ``name`` for ``key`` (with the client's address unless
    ``per_address`` is false); TooManyRequests beyond the limit."""
    from flask import current_app
    limiter = current_app.extensions["rate_limits"][name]
    limiter.hit(f"{key}|{request.remote_addr}" if per_address else key, what)
