"""Rate limits: counted in the store, so every worker shares them; bounded, so made-up keys cannot grow
them; and a per-address cap on sign-in that is checked before any password hash."""

from __future__ import annotations

import re

import pytest

from conftest import assert_error_shape
from matcher import accounts
from matcher.store import limits, open_db
from web.security import RateLimiter
from matcher.errors import TooManyRequests

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def one_instant(monkeypatch):
    """The limiters' clock stands still in the middle of a window's slot: requests sent under load could
    otherwise span two slots, and the sliding window rightly lets a few more through in the next one."""
    from datetime import datetime

    from matcher import clock
    instant = datetime.fromtimestamp(6_000_030.0, clock.BANGKOK)
    monkeypatch.setattr(clock, "now", lambda: instant)


@pytest.fixture
def store(db_path):
    db = open_db(db_path)
    accounts.create_demo_accounts(db)
    yield db
    db.close()


def workers(db_path, n=2, **settings):
    """``n`` apps over the same database: the gunicorn workers of one service."""
    from api import create_app
    return [create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "t", **settings})
            for _ in range(n)]


def attempt(app, username, password="wrong-password"):
    client = app.test_client()
    token = TOKEN.search(client.get("/desk/signin").get_data(as_text=True)).group(1)
    return client.post("/desk/signin", data={"username": username, "password": password, "csrf_token": token})


def test_wrong_passwords_are_counted_across_workers(store, db_path):
    apps = workers(db_path, 4, SIGN_IN_LIMIT=5)
    statuses = [attempt(apps[i % 4], "demo-desk").status_code for i in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    assert attempt(apps[0], "demo-analyst").status_code == 401  # another username is counted apart


def test_a_username_spray_from_one_address_is_capped_before_any_password_hash(store, db_path, monkeypatch):
    hashed = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: hashed.append(1) or real(h, p))
    apps = workers(db_path, 2, SIGN_IN_ADDRESS_LIMIT=6)
    responses = [attempt(apps[i % 2], f"user-{i:02d}", "the-same-password") for i in range(30)]
    statuses = [r.status_code for r in responses]
    assert statuses == [401] * 6 + [429] * 24
    assert len(hashed) == 6
    assert "ที่อยู่นี้" in responses[-1].get_data(as_text=True)
    assert responses[-1].headers.get("Retry-After") is None or int(responses[-1].headers["Retry-After"]) > 0


def test_api_key_requests_are_counted_per_key_across_workers(store, db_path):
    from matcher.store import keys
    apps = workers(db_path, 3, API_KEY_LIMIT=4)
    key = {"Authorization": f"Bearer {keys.create_key(store, role='analyst')['key']}"}
    statuses = [apps[i % 3].test_client().get("/api/v1/referrals?limit=1", headers=key).status_code for i in range(6)]
    assert statuses == [200] * 4 + [429] * 2
    body = assert_error_shape(apps[0].test_client().get("/api/v1/referrals", headers=key), 429)
    assert "try again" in body["error"]


def test_made_up_keys_are_capped_per_address_and_leave_one_counter(store, db_path):
    apps = workers(db_path, 2, BAD_KEY_LIMIT=50)
    statuses = []
    for i in range(400):
        headers = {"Authorization": f"Bearer rk_made-up-{i:05d}-{'x' * 30}"}
        statuses.append(apps[i % 2].test_client().get("/api/v1/referrals", headers=headers).status_code)
    assert statuses.count(401) == 50 and statuses.count(429) == 350
    assert limits.number_of_rows(store) == 1
    assert all(len(limiter.fallback) == 0 for app in apps for limiter in app.extensions["rate_limits"].values())


def test_old_counters_are_pruned_when_new_ones_are_written(store):
    for i in range(500):
        limits.hit(store, "bad_key", f"old-{i}", limit=10, window=60, now=1_000_000.0)
    assert limits.number_of_rows(store) == 500
    limits.hit(store, "bad_key", "new", limit=10, window=60, now=1_000_000.0 + 3 * limits.LONGEST_WINDOW)
    assert limits.number_of_rows(store) == 1


def test_the_sliding_window_forgets_gradually(store):
    start = 6_000_000.0  # the start of a 60 s slot
    for _ in range(10):
        assert limits.hit(store, "api_key", "k", limit=10, window=60, now=start + 1) == 0
    assert limits.hit(store, "api_key", "k", limit=10, window=60, now=start + 2) > 0
    # Half way through the next slot, half of the previous slot's hits still count: 5 more fit.
    allowed = sum(limits.hit(store, "api_key", "k", limit=10, window=60, now=start + 90) == 0 for _ in range(10))
    assert allowed == 5


def test_when_the_store_cannot_write_each_worker_still_limits_in_bounded_memory(app, store):
    from web import context

    def read_only():
        context.get_db().execute("PRAGMA query_only = 1")

    app.config["TESTING"] = True
    app.before_request_funcs.setdefault(None, []).append(read_only)
    app.extensions["rate_limits"]["sign_in"].limit = 2
    statuses = [attempt(app, "demo-desk").status_code for _ in range(3)]
    assert statuses[-1] == 429


def test_the_in_memory_window_is_bounded_and_forgets_expired_keys():
    limiter = RateLimiter(3, 60, max_keys=100)
    for i in range(5000):
        limiter.hit(f"key-{i}")
    assert len(limiter) <= 100
    for _ in range(3):
        limiter.hit("k")
    with pytest.raises(TooManyRequests):
        limiter.hit("k")
