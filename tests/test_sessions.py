"""Desk sessions: a production start needs no secret (the key is kept in the database and shared by every
worker), signing out ends a session at once, an administrator can end a user's sessions, idle and absolute
timeouts hold, RISMEP_SECRET_KEY still wins, and rotating the stored key ends every session."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from bench.service import Service
from conftest import assert_error_shape
from matcher import accounts, clock
from matcher.store import keys, open_db

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def store(db_path):
    db = open_db(db_path)
    accounts.create_demo_accounts(db)
    yield db
    db.close()


@pytest.fixture
def keyless_app(store, db_path, intake_model_path):
    """The app as `make serve` starts it: no SECRET_KEY anywhere."""
    from api import create_app
    return create_app({"TESTING": True, "DATABASE": str(db_path), "INTAKE_MODEL": str(intake_model_path)})


def sign_in(client, username="demo-desk", password=accounts.DEMO_PASSWORD):
    token = TOKEN.search(client.get("/desk/signin").get_data(as_text=True)).group(1)
    return client.post("/desk/signin", data={"username": username, "password": password, "csrf_token": token})


def signed_in(client) -> bool:
    response = client.get("/desk/cases/new")
    return response.status_code == 200


def cookie_of(client, app) -> str:
    return client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")).value


def test_without_a_configured_secret_the_key_is_made_once_and_kept_in_the_store(keyless_app, store, db_path):
    from api import create_app
    client = keyless_app.test_client()
    assert sign_in(client).status_code == 302
    stored = store.execute("SELECT value FROM app_secrets WHERE name = 'session_key'").fetchone()[0]
    assert len(stored) >= 48
    # A second app on the same database (another worker) accepts the cookie and signs with the same key.
    other = create_app({"TESTING": True, "DATABASE": str(db_path)})
    twin = other.test_client()
    twin.set_cookie("session", cookie_of(client, keyless_app))
    assert signed_in(twin)
    assert store.execute("SELECT count(*) FROM app_secrets").fetchone()[0] == 1


def test_a_configured_secret_wins_and_nothing_is_stored(app, store):
    client = app.test_client()
    assert sign_in(client).status_code == 302
    session = URLSafeTimedSerializer("test", salt="cookie-session",
                                     signer_kwargs={"key_derivation": "hmac", "digest_method": __import__(
                                         "hashlib").sha1}).loads(cookie_of(client, app))
    assert session["sid"]
    assert store.execute("SELECT count(*) FROM app_secrets").fetchone()[0] == 0


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, store):
    client = app.test_client()
    sign_in(client)
    copied = cookie_of(client, app)
    token = TOKEN.search(client.get("/desk/cases/new").get_data(as_text=True)).group(1)
    assert client.post("/desk/signout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/desk/cases/new")
    assert response.status_code == 302 and "/desk/signin" in response.location
    assert store.execute("SELECT count(*) FROM desk_sessions").fetchone()[0] == 0


def test_an_admin_ends_a_users_sessions_over_the_api(app, store):
    desk = app.test_client()
    sign_in(desk)
    assert signed_in(desk)
    admin = {"Authorization": f"Bearer {keys.create_key(store, role='admin')['key']}"}
    response = app.test_client().delete("/api/v1/admin/users/demo-desk/sessions", headers=admin)
    assert response.status_code == 200 and response.get_json() == {"username": "demo-desk", "ended": 1}
    assert not signed_in(desk)
    assert_error_shape(app.test_client().delete("/api/v1/admin/users/nobody-here/sessions", headers=admin), 404,
                       "username")
    analyst = {"Authorization": f"Bearer {keys.create_key(store, role='analyst')['key']}"}
    assert_error_shape(app.test_client().delete("/api/v1/admin/users/demo-desk/sessions", headers=analyst), 403)


def test_an_admin_ends_a_users_sessions_from_the_command_line(app, runner, store):
    desk = app.test_client()
    sign_in(desk)
    result = runner.invoke(args=["end-sessions", "demo-desk"])
    assert result.exit_code == 0, result.output
    assert '"ended": 1' in result.output
    assert not signed_in(desk)


@pytest.mark.parametrize("column, age", [("seen_at", timedelta(minutes=61)), ("expires_at", timedelta(seconds=1))])
def test_idle_and_absolute_timeouts_end_a_session(app, store, column, age):
    client = app.test_client()
    sign_in(client)
    assert signed_in(client)
    past = (clock.now() - age).isoformat(timespec="seconds")
    store.execute(f"UPDATE desk_sessions SET {column} = ?", [past])
    assert not signed_in(client)


def test_an_active_session_is_kept_alive_until_its_absolute_end(app, store):
    client = app.test_client()
    sign_in(client)
    old = (clock.now() - timedelta(minutes=50)).isoformat(timespec="seconds")
    store.execute("UPDATE desk_sessions SET seen_at = ?", [old])
    assert signed_in(client)
    assert store.execute("SELECT seen_at FROM desk_sessions").fetchone()[0] > old


def test_rotating_the_stored_key_ends_every_session(keyless_app, runner, store):
    client = keyless_app.test_client()
    sign_in(client)
    before = store.execute("SELECT value FROM app_secrets").fetchone()[0]
    result = keyless_app.test_cli_runner().invoke(args=["rotate-session-key"])
    assert result.exit_code == 0, result.output
    assert store.execute("SELECT value FROM app_secrets").fetchone()[0] != before
    assert not signed_in(client)
    fresh = keyless_app.test_client()
    assert sign_in(fresh).status_code == 302 and signed_in(fresh)


# -- the production command --------------------------------------------------------------------------

def call(port, method, path, body=None, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a new connection: any worker
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request(method, path, body=urllib.parse.urlencode(body) if body else None, headers=headers)
    response = conn.getresponse()
    data = response.read().decode()
    cookies = [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    return response.status, data, (cookies[-1] if cookies else cookie)


@pytest.mark.slow
def test_make_serve_without_a_secret_signs_every_desk_user_in_across_four_workers(db_path):
    db = open_db(db_path)
    accounts.create_demo_accounts(db)
    db.close()
    svc = Service(db_path, workers=4, secret_key=None, env={"RISMEP_SIGN_IN_LIMIT": "20"}).start()
    try:
        outcomes = []
        for _ in range(12):
            status, page, cookie = call(svc.port, "GET", "/desk/signin")
            token = TOKEN.search(page).group(1)
            status, page, cookie = call(svc.port, "POST", "/desk/signin", {
                "username": "demo-desk", "password": accounts.DEMO_PASSWORD, "csrf_token": token}, cookie)
            pages = [call(svc.port, "GET", "/desk/cases/new", cookie=cookie)[0] for _ in range(4)]
            outcomes.append((status, pages))
        assert outcomes == [(302, [200, 200, 200, 200])] * 12
    finally:
        svc.stop()
