"""Security headers on every response, and a small in-process rate limiter.

The limiter is a sliding window per (bucket, key) held in the worker's memory: with several workers a
client gets at most ``workers x limit`` attempts per window, which is still a hard cap against guessing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from flask import request

from matcher.errors import TooManyRequests

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
    """At most ``limit`` events per ``window`` seconds per key; ``hit`` raises TooManyRequests beyond it."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._events: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, what: str = "requests") -> None:
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and now - events[0] > self.window:
                events.popleft()
            if len(events) >= self.limit:
                wait = int(self.window - (now - events[0])) + 1
                raise TooManyRequests(f"Too many {what}; try again in {wait} s.", field=None)
            events.append(now)


def register(app) -> None:
    app.after_request(add_security_headers)
    app.extensions["rate_limits"] = {
        "sign_in": RateLimiter(int(app.config["SIGN_IN_LIMIT"]), 300.0),
        "api_key": RateLimiter(int(app.config["API_KEY_LIMIT"]), 60.0),
        "track": RateLimiter(int(app.config["TRACK_LIMIT"]), 60.0),
    }


def rate_limit(name: str, key: str, what: str = "requests") -> None:
    """Count one event against the app's limiter ``name`` (``sign_in`` or ``api_key``) for ``key``."""
    from flask import current_app
    limiter = current_app.extensions["rate_limits"][name]
    limiter.hit(f"{key}|{request.remote_addr}", what)
