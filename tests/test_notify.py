"""Notifications that reach people, through real parts: an SMTP server (aiosmtpd) and an HTTP receiver on
loopback started by the tests, the outbox written with each event, and the delivery worker (the CLI command
and, for the kill -9 test, a separate process).
"""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import threading
import time
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import DATA_DIR, assert_error_shape
from matcher.notifications import worker
from matcher.notifications.delivery import DELIVERY_HEADER, SIGNATURE_HEADER, is_valid_signature, signature
from matcher.reference import load_reference
from matcher.store import directory, keys, open_db, outbox

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives; it can be stopped and restarted."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.port, self.messages, self.controller_class = free_port(), [], Controller
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        self.messages.append({"to": envelope.rcpt_tos, "message": message})
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = self.controller_class(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list:
        return [m["message"] for m in self.messages if address in m["to"]]


class Receiver:
    """An HTTP webhook receiver on loopback: checks the signature, can fail its first N requests, can be
    slow, and de-duplicates by delivery id as a real receiver would."""

    def __init__(self, secret: str | None = None, fail_first: int = 0, delay: float = 0.0):
        self.secret, self.fail_first, self.delay = secret, fail_first, delay
        self.requests, self.accepted, self.lock = [], {}, threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers.get(DELIVERY_HEADER)
                with receiver.lock:
                    receiver.requests.append({"delivery": delivery, "body": body,
                                              "signature": self.headers.get(SIGNATURE_HEADER)})
                    failing = len(receiver.requests) <= receiver.fail_first
                if receiver.delay:
                    time.sleep(receiver.delay)
                if failing:
                    return self._answer(503)
                if receiver.secret and not is_valid_signature(receiver.secret, body, self.headers.get(SIGNATURE_HEADER)):
                    return self._answer(401)
                with receiver.lock:
                    receiver.accepted.setdefault(delivery, json.loads(body))
                self._answer(200)

            def _answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/rismep"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


class Desk:
    """The app on a private demo copy with keys, Chiang Mai members for GMP/FDA and loan, and the worker."""

    def __init__(self, app, db_path, mailbox):
        self.app, self.client, self.db_path, self.mailbox = app, app.test_client(), db_path, mailbox
        self.db = open_db(db_path)
        rows = lambda c: [m["id"] for m in directory.list_members(self.db, "agency", province="TH-50",  # noqa: E731
                                                                  category=c, limit=50)[0]]
        self.a = next(m for m in rows("gmp_haccp") if m in rows("fda_registration"))
        self.b = next(m for m in rows("loan") if m != self.a)
        self.keys = {"desk": keys.create_key(self.db, role="desk", desk="desk-TH-50")["key"],
                     "admin": keys.create_key(self.db, role="admin", name="root")["key"],
                     "a": keys.create_key(self.db, role="member", member_id=self.a)["key"],
                     "b": keys.create_key(self.db, role="member", member_id=self.b)["key"]}
        from matcher.referrals import followup
        followup.sweep_overdue(self.db, load_reference(DATA_DIR))  # the demo's 2018 open legs are long overdue

    def headers(self, who):
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def subscribe(self, who, **settings):
        response = self.client.put("/api/v1/notification-settings", json=settings, headers=self.headers(who))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def create(self, **over):
        body = {"enterprise": {"name": "ร้านทดสอบแจ้งเตือน (สมมติ)", "province": "TH-50", "sector": "food"},
                "needs": ["gmp_haccp", "fda_registration", "loan"],
                "assignment": {"gmp_haccp": self.a, "fda_registration": self.a, "loan": self.b}}
        body.update(over)
        response = self.client.post("/api/v1/referrals", json=body, headers=self.headers("desk"))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def move(self, who, referral_id, leg_id, **body):
        response = self.client.post(f"/api/v1/referrals/{referral_id}/legs/{leg_id}", json=body,
                                    headers=self.headers(who))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def deliver(self):
        result = self.app.test_cli_runner().invoke(args=["notify", "--once", "--quiet"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def desk(db_path, intake_model_path, mailbox):
    from api import create_app
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "test",
                      "INTAKE_MODEL": str(intake_model_path), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port,
                      "SMTP_FROM": "rismep@example.org", "NOTIFY_BACKOFF_SECONDS": 0.05, "NOTIFY_POLL_SECONDS": 0.05,
                      "PUBLIC_URL": "http://desk.example.org"})
    d = Desk(app, db_path, mailbox)
    yield d
    d.db.close()


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


# -- e-mail and webhooks -------------------------------------------------------------------------------

def test_a_new_leg_reaches_its_member_by_email_in_thai_and_by_signed_webhook(desk, receiver):
    hook = receiver()
    made = desk.subscribe("a", email="gmp-team@example.org", webhook_url=hook.url, channels=["email", "webhook"])
    hook.secret = made["webhook_secret"]
    assert made["webhook_secret"].startswith("whsec_") and made["webhook_secret_set"] is True
    again = desk.client.get("/api/v1/notification-settings", headers=desk.headers("a")).get_json()
    assert "webhook_secret" not in again and again["channels"] == ["email", "webhook"]
    ref = desk.create()
    assert desk.deliver()["delivered"] == 4, "two legs of member a, by e-mail and webhook"
    mails = desk.mailbox.to("gmp-team@example.org")
    assert len(mails) == 2
    now = next(m for m in mails if "มีงานใหม่" in m["Subject"])
    assert now["Subject"] == f"เรื่องส่งต่อเลขที่ {ref['id']}: มีงานใหม่ถึงหน่วยงานท่าน"
    body = text_of(now)
    assert "มาตรฐาน GMP/HACCP และความปลอดภัยอาหาร" in body and "ภายใน 3 วันทำการ" in body
    assert f"http://desk.example.org/desk/referrals/{ref['id']}" in body and "น้ำพริก" not in body
    coming = next(m for m in mails if "จะถึงคิว" in m["Subject"])
    assert "ขั้นที่ 2" in text_of(coming) and "ขึ้นทะเบียน อย." in text_of(coming)
    assert {m[DELIVERY_HEADER] for m in mails} <= {r[0] for r in desk.db.execute("SELECT delivery_id FROM outbox")}
    assert len(hook.accepted) == 2
    for request in hook.requests:
        assert request["signature"] == signature(hook.secret, request["body"])
        assert json.loads(request["body"])["delivery_id"] == request["delivery"]
    events = {p["event"] for p in hook.accepted.values()}
    assert events == {"new_leg"} and {p["data"]["status"] for p in hook.accepted.values()} == {"sent", "waiting"}


def test_english_speaking_accounts_get_english(desk):
    desk.subscribe("b", email="loans@example.org", channels=["email"], language="en")
    ref = desk.create()
    desk.deliver()
    (mail,) = desk.mailbox.to("loans@example.org")
    assert mail["Subject"] == f"Referral {ref['id']}: new work for you"
    assert "Loans and working capital" in text_of(mail) and "within 3 working days" in text_of(mail)


def test_a_prerequisite_leg_releases_the_next_step_and_its_member_gets_an_email_and_a_webhook(desk, receiver):
    hook = receiver()
    hook.secret = desk.subscribe("a", email="gmp-team@example.org", webhook_url=hook.url,
                                 channels=["email", "webhook"])["webhook_secret"]
    ref = desk.create()
    gmp = next(leg for leg in ref["legs"] if leg["needs"] == ["gmp_haccp"])
    fda = next(leg for leg in ref["legs"] if leg["needs"] == ["fda_registration"])
    desk.deliver()
    for status in ("accepted", "in_progress"):
        desk.move("a", ref["id"], gmp["id"], status=status)
    done = desk.move("a", ref["id"], gmp["id"], status="completed", value_baht=120000, note="ผ่าน GMP แล้ว")
    assert done["released"] == [fda["id"]]
    desk.deliver()
    ready = [m for m in desk.mailbox.to("gmp-team@example.org") if "ถึงขั้นตอนของหน่วยงานท่านแล้ว" in m["Subject"]]
    assert len(ready) == 1 and "เริ่มงานขั้นที่ 2 ได้ทันที" in text_of(ready[0])
    hooks = [p for p in hook.accepted.values() if p["event"] == "leg_ready"]
    assert len(hooks) == 1 and hooks[0]["leg_id"] == fda["id"] and hooks[0]["data"]["step"] == 2
    desk.move("a", ref["id"], fda["id"], status="accepted")


def test_the_desk_hears_of_a_decline_and_the_unread_count_follows(desk):
    desk.subscribe("desk", email="desk-th50@example.org", channels=["email"])
    unread = desk.client.get("/api/v1/notifications", headers=desk.headers("desk")).get_json()["unread"]
    ref = desk.create()
    loan = next(leg for leg in ref["legs"] if leg["needs"] == ["loan"])
    desk.move("b", ref["id"], loan["id"], status="declined", reason="no_capacity")
    desk.deliver()
    (mail,) = desk.mailbox.to("desk-th50@example.org")
    assert "ปฏิเสธ" in mail["Subject"] and "งานเต็ม รับเพิ่มไม่ได้" in text_of(mail)
    listed = desk.client.get("/api/v1/notifications", headers=desk.headers("desk")).get_json()
    assert listed["unread"] == unread + 1 and listed["items"][0]["kind"] == "declined"
    read = desk.client.post("/api/v1/notifications/read", json={"referral_id": ref["id"]},
                            headers=desk.headers("desk")).get_json()
    assert read["marked"] == 1 and read["unread"] == unread


def test_an_event_and_its_outbox_rows_are_written_together(desk, db_path):
    desk.subscribe("a", email="gmp-team@example.org", channels=["email"])
    before = desk.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    bad = desk.client.post("/api/v1/referrals", headers=desk.headers("desk"), json={
        "enterprise": {"name": "x", "province": "TH-50"}, "needs": ["gmp_haccp"],
        "assignment": {"gmp_haccp": "A9999"}})
    assert_error_shape(bad, 404)
    assert desk.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == before
    desk.create()
    rows = desk.db.execute("SELECT n.kind, n.event_id, e.to_status FROM outbox o JOIN notifications n ON "
                           "n.id = o.notification_id JOIN referral_events e ON e.id = n.event_id").fetchall()
    assert sorted(r[2] for r in rows) == ["sent", "waiting"], "each outbox row points at the event it announces"


# -- faults ----------------------------------------------------------------------------------------------

def test_with_the_smtp_server_down_nothing_is_lost_and_delivery_resumes(desk):
    desk.subscribe("a", email="gmp-team@example.org", channels=["email"])
    desk.mailbox.stop()
    desk.create()
    assert desk.deliver()["failed"] == 2
    assert outbox.delivery_counts(desk.db) == {"pending": 2, "delivered": 0, "dead": 0}
    assert all("SMTP" in r[0] for r in desk.db.execute("SELECT last_error FROM outbox"))
    desk.mailbox.start()
    time.sleep(0.2)  # past the first backoff
    assert desk.deliver()["delivered"] == 2
    assert len(desk.mailbox.to("gmp-team@example.org")) == 2
    assert outbox.delivery_counts(desk.db) == {"pending": 0, "delivered": 2, "dead": 0}


def test_a_receiver_that_fails_twice_gets_the_message_on_the_third_try_with_the_same_id(desk, receiver):
    hook = receiver(fail_first=2)
    hook.secret = desk.subscribe("b", webhook_url=hook.url, channels=["webhook"])["webhook_secret"]
    desk.create()
    for _ in range(3):
        desk.deliver()
        time.sleep(0.25)
    assert [r["delivery"] for r in hook.requests] == [hook.requests[0]["delivery"]] * 3
    assert len(hook.accepted) == 1 and outbox.delivery_counts(desk.db)["delivered"] == 1
    assert desk.db.execute("SELECT attempts FROM outbox").fetchone()[0] == 3


def test_a_receiver_that_checks_the_signature_rejects_a_tampered_body(desk, receiver):
    import urllib.error
    import urllib.request
    hook = receiver()
    hook.secret = desk.subscribe("b", webhook_url=hook.url, channels=["webhook"])["webhook_secret"]
    desk.create()
    desk.deliver()
    (original,) = hook.requests
    tampered = original["body"].replace(b'"loan"', b'"export_market"')
    assert tampered != original["body"]
    request = urllib.request.Request(hook.url, data=tampered, method="POST", headers={
        SIGNATURE_HEADER: original["signature"], DELIVERY_HEADER: "forged", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 401 and "forged" not in hook.accepted
    assert not is_valid_signature(hook.secret, tampered, original["signature"])


def test_dead_letters_are_listed_and_an_admin_replays_them(desk, receiver):
    hook = receiver(fail_first=100)
    desk.subscribe("b", webhook_url=hook.url, channels=["webhook"])
    desk.app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    desk.create()
    desk.deliver()
    time.sleep(0.1)
    desk.deliver()
    dead = desk.client.get("/api/v1/admin/deliveries/dead", headers=desk.headers("admin")).get_json()
    assert dead["total"] == 1 and "503" in dead["items"][0]["last_error"] and dead["counts"]["dead"] == 1
    assert_error_shape(desk.client.get("/api/v1/admin/deliveries/dead", headers=desk.headers("desk")), 403)
    hook.fail_first = 0
    replayed = desk.client.post("/api/v1/admin/deliveries/replay", json={}, headers=desk.headers("admin")).get_json()
    assert replayed["replayed"] == 1
    desk.deliver()
    assert len(hook.accepted) == 1 and outbox.delivery_counts(desk.db) == {"pending": 0, "delivered": 1, "dead": 0}


@pytest.mark.parametrize("body, field", [
    ({"channels": ["sms"]}, "channels.0"), ({"email": "not-an-address", "channels": ["email"]}, "email"),
    ({"channels": ["webhook"]}, "webhook_url"), ({"language": "fr"}, "language"),
    ({"webhook_url": "ftp://example.org/x", "channels": ["webhook"]}, "webhook_url")])
def test_bad_settings_are_a_clear_422(desk, body, field):
    response = desk.client.put("/api/v1/notification-settings", json=body, headers=desk.headers("a"))
    assert_error_shape(response, 422, field)
    other = desk.client.get("/api/v1/notification-settings?recipient=member:A0001", headers=desk.headers("a"))
    assert_error_shape(other, 403, "recipient")


def test_removing_the_address_of_a_saved_channel_is_a_conflict_that_changes_nothing(desk):
    desk.subscribe("a", webhook_url="https://example.org/hooks/rismep", channels=["webhook"])
    response = desk.client.put("/api/v1/notification-settings", json={"webhook_url": None, "language": "en"},
                               headers=desk.headers("a"))
    assert_error_shape(response, 409, "webhook_url")
    saved = desk.client.get("/api/v1/notification-settings", headers=desk.headers("a")).get_json()
    assert saved["webhook_url"] == "https://example.org/hooks/rismep" and saved["channels"] == ["webhook"]
    assert saved["language"] == "th"                                  # nothing of the refused body was kept
    response = desk.client.put("/api/v1/notification-settings", json={"webhook_url": None, "channels": []},
                               headers=desk.headers("a"))
    assert response.status_code == 200 and response.get_json()["channels"] == []


# -- kill -9 of the worker mid-batch ---------------------------------------------------------------------

@pytest.mark.slow
def test_kill_minus_nine_of_the_worker_mid_batch_delivers_every_message_at_least_once(desk, receiver):
    hook = receiver(delay=0.02)
    hook.secret = desk.subscribe("a", webhook_url=hook.url, channels=["webhook"])["webhook_secret"]
    for i in range(90):
        desk.create(enterprise={"name": f"ร้านทดสอบ {i} (สมมติ)", "province": "TH-50", "sector": "food"})
    expected = {r[0] for r in desk.db.execute("SELECT delivery_id FROM outbox")}
    assert len(expected) == 180
    env = dict(os.environ, RISMEP_DATABASE=str(desk.db_path), PYTHONPATH=str(ROOT), RISMEP_SECRET_KEY="x",
               RISMEP_NOTIFY_BATCH="25", RISMEP_NOTIFY_LEASE_SECONDS="2", RISMEP_NOTIFY_POLL_SECONDS="0.1",
               RISMEP_NOTIFY_BACKOFF_SECONDS="0.2",
               RISMEP_DATA_DIR=str(DATA_DIR))
    flask = str(Path(os.sys.executable).parent / "flask")
    first = subprocess.Popen([flask, "--app", "api", "notify", "--quiet"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(hook.requests) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(first.pid, signal.SIGKILL)  # in the middle of a batch: some sent, not yet marked
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    got_before = len(hook.requests)
    assert 40 <= got_before < 180
    second = subprocess.Popen([flask, "--app", "api", "notify", "--quiet"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while outbox.delivery_counts(desk.db)["delivered"] < 180 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert outbox.delivery_counts(desk.db) == {"pending": 0, "delivered": 180, "dead": 0}
    received = [r["delivery"] for r in hook.requests]
    assert set(received) == expected, "every message at least once"
    assert set(hook.accepted) == expected, "the receiver keeps one per delivery id"
    assert len(received) >= len(expected)


def test_backoff_doubles_and_ends_in_the_dead_letter_list():
    settings = worker.WorkerSettings(smtp=None, backoff_seconds=30, max_attempts=4)
    assert [worker.retry_at(n, settings, 0) for n in (1, 2, 3, 4)] == [30, 60, 120, None]
    assert worker.retry_at(3, worker.WorkerSettings(smtp=None, backoff_seconds=3000, max_attempts=9), 0) == 3600
    assert load_reference(DATA_DIR).expected_days["gmp_haccp"] == 90
