"""Notification delivery figures: messages per second through the worker, and the delay from the event to
its delivery, on loopback against a real SMTP server (aiosmtpd) and a real HTTP webhook receiver.

Baseline, measured in the same run: the same number of e-mails sent straight with smtplib over one
connection, and the same webhooks POSTed straight with urllib, with no store, outbox or worker in between.

    .venv/bin/python bench/bench_notify.py --messages 1000 --seconds 20 --rate 10

1. Throughput: ``--messages`` outbox rows are queued (new referrals; their members want e-mail and a signed
   webhook), then ``flask --app api notify`` runs as its own process until every row is delivered.
2. Delay: referrals are created at ``--rate`` per second for ``--seconds`` while the worker runs with its
   default poll interval (``NOTIFY_POLL_SECONDS``); the delay of each delivery is its delivered time minus the
   time its event wrote the outbox row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.notifications import messages  # noqa: E402
from matcher.notifications.delivery import Mailer, SmtpSettings, post_webhook  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.referrals import followup, service  # noqa: E402
from matcher.store import directory, open_db, outbox  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402

DESK = {"role": "desk", "desk": "desk-TH-50", "member_id": None, "key_id": None, "name": "bench"}


class Sink:
    """An SMTP server and a webhook receiver on loopback that count what they get."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.mails = self.hooks = 0
        self.lock = threading.Lock()
        sink = self

        class Mail:
            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.mails += 1
                return "250 OK"

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with sink.lock:
                    sink.hooks += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.smtp_port = s.getsockname()[1]
        self.smtp = Controller(Mail(), hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self.http.server_port}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.smtp.stop()
        self.http.shutdown()


def prepare(folder: Path, sink: Sink):
    path = folder / "rismep.db"
    ref = load_reference(ROOT / "data")
    ensure_database(path, ref)
    db = open_db(path)
    followup.sweep_overdue(db, ref)  # the demo's 2018 open legs: recorded before the clock starts
    db.execute("UPDATE outbox SET status = 'delivered'")
    members = [m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="loan", limit=2)[0]]
    for member in members:
        outbox.save_settings(db, f"member:{member}", {"email": f"{member.lower()}@example.org",
                                                      "webhook_url": sink.url, "webhook_secret": "bench-secret",
                                                      "channels": ["email", "webhook"], "language": "th"})
    return path, db, ref, members


def create(db, snapshot, members, n: int) -> None:
    for i in range(n):
        service.create_referral(db, snapshot, {
            "enterprise": {"name": f"ร้านทดสอบความเร็ว {i} (สมมติ)", "province": "TH-50", "sector": "food"},
            "needs": ["loan"], "assignment": {"loan": members[i % len(members)]}}, DESK)


def worker(path: Path, sink: Sink, poll: float) -> subprocess.Popen:
    env = dict(os.environ, RISMEP_DATABASE=str(path), PYTHONPATH=str(ROOT), RISMEP_SECRET_KEY="bench",
               RISMEP_SMTP_HOST="127.0.0.1", RISMEP_SMTP_PORT=str(sink.smtp_port),
               RISMEP_NOTIFY_POLL_SECONDS=str(poll))
    return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "api", "notify", "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_delivered(db, total: int, timeout: float = 600) -> float:
    start = time.perf_counter()
    while outbox.delivery_counts(db)["delivered"] < total and time.perf_counter() - start < timeout:
        time.sleep(0.02)
    return time.perf_counter() - start


def baseline(sink: Sink, n: int) -> tuple[float, float]:
    """Messages per second sending straight (no store, no worker): e-mail over one connection, webhooks."""
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=sink.smtp_port))
    labels = {"loan": ("สินเชื่อและเงินทุนหมุนเวียน", "Loans and working capital")}
    data = {"needs": ["loan"], "step": 1, "status": "sent"}
    start = time.perf_counter()
    for i in range(n):
        mailer.send(to="bench@example.org", subject=messages.subject("new_leg", data, i, "th"),
                    text=messages.body("new_leg", data, i, "th", labels=labels, names={}, url="http://x"),
                    delivery_id=f"baseline-{i}")
    mailer.close()
    mail_rate = n / (time.perf_counter() - start)
    body = json.dumps({"event": "new_leg", "data": data}).encode()
    start = time.perf_counter()
    for i in range(n):
        post_webhook(sink.url, "bench-secret", body, delivery_id=f"baseline-{i}", kind="new_leg")
    return mail_rate, n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="outbox rows for the throughput run")
    parser.add_argument("--seconds", type=float, default=20, help="length of the delay run")
    parser.add_argument("--rate", type=float, default=10, help="referrals per second in the delay run")
    parser.add_argument("--poll", type=float, default=2.0, help="the worker's poll interval in the delay run")
    args = parser.parse_args()
    sink = Sink()
    folder = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    try:
        path, db, ref, members = prepare(folder, sink)
        snapshot = build_snapshot(db, ref)
        mail_base, hook_base = baseline(sink, args.messages // 2)
        before = outbox.delivery_counts(db)["delivered"]
        create(db, snapshot, members, args.messages // 2)  # each: one e-mail and one webhook
        total = before + 2 * (args.messages // 2)
        proc = worker(path, sink, 0.2)
        elapsed = wait_delivered(db, total)
        proc.terminate()
        proc.wait(30)
        throughput = (total - before) / elapsed
        start_id = db.execute("SELECT max(id) FROM outbox").fetchone()[0]
        proc = worker(path, sink, args.poll)
        deadline, made = time.perf_counter() + args.seconds, 0
        while time.perf_counter() < deadline:
            create(db, snapshot, members, 1)
            made += 1
            time.sleep(max(0.0, 1 / args.rate - 0.005))
        wait_delivered(db, total + 2 * made)
        proc.terminate()
        proc.wait(30)
        delays = sorted(outbox.delivery_delays(db, start_id))
        q = statistics.quantiles(delays, n=100)
        print(f"{'measure':52} {'value':>10}")
        print(f"{'baseline: e-mails/s straight over smtplib':52} {mail_base:10.1f}")
        print(f"{'baseline: webhooks/s straight over urllib':52} {hook_base:10.1f}")
        mixed = 2 / (1 / mail_base + 1 / hook_base)  # the same half-and-half mix sent straight
        print(f"{'baseline: the same mix straight (messages/s)':52} {mixed:10.1f}")
        print(f"{'worker: messages/s (half e-mail, half webhook)':52} {throughput:10.1f}")
        print(f"{'worker / baseline':52} {throughput / mixed:10.2f}x")
        print(f"delay run: {made} referrals at {args.rate}/s, {len(delays)} deliveries, poll {args.poll} s")
        print(f"{'delay event -> delivery p50 (s)':52} {q[49]:10.3f}")
        print(f"{'delay event -> delivery p90 (s)':52} {q[89]:10.3f}")
        print(f"{'delay event -> delivery p99 (s)':52} {q[98]:10.3f}")
        print(f"{'delay event -> delivery max (s)':52} {delays[-1]:10.3f}")
        print(f"received: {sink.mails} e-mails, {sink.hooks} webhooks (baselines included)")
        db.close()
    finally:
        sink.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
