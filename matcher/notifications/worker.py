"""The delivery worker: take due outbox rows, deliver each by its channel, record the outcome.

At least once: a row is marked delivered only after the SMTP server or the webhook receiver took it, so a
worker killed mid-batch leaves its claimed rows to be taken again when their lease ends; the delivery id
lets the receiver drop the duplicate. A failed attempt is retried with exponential backoff
(``backoff x 2^attempts``, at most an hour); after ``max_attempts`` the row is dead until an admin replays it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from matcher.clock import epoch
from matcher.notifications import messages
from matcher.notifications.delivery import DeliveryError, Mailer, SmtpSettings, post_webhook
from matcher.store import outbox
from matcher.store import referrals as referral_store

log = logging.getLogger(__name__)
MAX_BACKOFF = 3600.0


@dataclass(frozen=True)
class WorkerSettings:
    smtp: SmtpSettings
    public_url: str = "http://127.0.0.1:5000"
    batch: int = 50
    poll_seconds: float = 2.0
    lease_seconds: float = 60.0
    backoff_seconds: float = 30.0
    max_attempts: int = 8
    webhook_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings) -> WorkerSettings:
        """From the app's settings (``NOTIFY_*``, ``SMTP_*``, ``PUBLIC_URL``)."""
        return cls(smtp=SmtpSettings.from_settings(settings), public_url=str(settings.get("PUBLIC_URL")).rstrip("/"),
                   batch=int(settings["NOTIFY_BATCH"]), poll_seconds=float(settings["NOTIFY_POLL_SECONDS"]),
                   lease_seconds=float(settings["NOTIFY_LEASE_SECONDS"]),
                   backoff_seconds=float(settings["NOTIFY_BACKOFF_SECONDS"]),
                   max_attempts=int(settings["NOTIFY_MAX_ATTEMPTS"]),
                   webhook_timeout=float(settings["WEBHOOK_TIMEOUT"]))


def retry_at(attempts_done: int, settings: WorkerSettings, now: float) -> float | None:
    """When to try again after ``attempts_done`` failed attempts, or None when the row is dead."""
    if attempts_done >= settings.max_attempts:
        return None
    return now + min(MAX_BACKOFF, settings.backoff_seconds * 2 ** (attempts_done - 1))


def deliver_batch(db, ref, settings: WorkerSettings) -> dict:
    """Claim and deliver one batch; ``{"claimed", "delivered", "failed"}``."""
    rows = outbox.claim(db, limit=settings.batch, lease_seconds=settings.lease_seconds)
    if not rows:
        return {"claimed": 0, "delivered": 0, "failed": 0}
    labels = {c["code"]: (c["label_th"], c["label_en"]) for c in ref.categories}
    members = {r["data"].get("member") for r in rows if r["data"].get("member")}
    names = {m: row["name_th"] for m, row in referral_store.organisations(db, members).items()}
    mailer, delivered, failed = Mailer(settings.smtp), 0, 0
    try:
        for row in rows:
            try:
                deliver(row, settings, mailer, labels, names)
            except DeliveryError as error:
                failed += 1
                outbox.mark_failed(db, row["id"], error=str(error),
                                   retry_at=retry_at(row["attempts"] + 1, settings, epoch()))
                log.warning("delivery %s (%s) failed: %s", row["delivery_id"], row["channel"], error)
            else:
                delivered += 1
                outbox.mark_delivered(db, row["id"])
    finally:
        mailer.close()
    return {"claimed": len(rows), "delivered": delivered, "failed": failed}


def deliver(row: dict, settings: WorkerSettings, mailer: Mailer, labels: dict, names: dict) -> None:
    """Send one row by its channel (DeliveryError when it did not go)."""
    recipient_settings = row.get("settings") or {}
    url = f"{settings.public_url}/desk/referrals/{row['referral_id']}"
    if row["channel"] == "email":
        if not recipient_settings.get("email"):
            raise DeliveryError(f"{row['recipient']} has no e-mail address in its notification settings")
        lang = recipient_settings.get("language") or "th"
        mailer.send(to=recipient_settings["email"], delivery_id=row["delivery_id"],
                    subject=messages.subject(row["kind"], row["data"], row["referral_id"], lang),
                    text=messages.body(row["kind"], row["data"], row["referral_id"], lang, labels=labels,
                                       names=names, url=url))
    else:
        if not recipient_settings.get("webhook_url"):
            raise DeliveryError(f"{row['recipient']} has no webhook URL in its notification settings")
        post_webhook(recipient_settings["webhook_url"], recipient_settings.get("webhook_secret"),
                     messages.webhook_body(row, url), delivery_id=row["delivery_id"], kind=row["kind"],
                     timeout=settings.webhook_timeout)


def run(open_db, ref, settings: WorkerSettings, *, sweep=None, once: bool = False, should_stop=lambda: False,
        report=None) -> dict:
    """Deliver until stopped (or, with ``once``, until nothing is due): each pass records overdue legs
    (``sweep(db)``) and delivers a batch. ``open_db()`` gives the worker its own connection."""
    totals = {"passes": 0, "claimed": 0, "delivered": 0, "failed": 0, "overdue": 0}
    db = open_db()
    try:
        while not should_stop():
            totals["passes"] += 1
            if sweep is not None:
                totals["overdue"] += sweep(db) or 0
            done = deliver_batch(db, ref, settings)
            for key in ("claimed", "delivered", "failed"):
                totals[key] += done[key]
            if report is not None and done["claimed"]:
                report(done)
            if done["claimed"]:
                continue
            if once:
                break
            time.sleep(settings.poll_seconds)
    finally:
        db.close()
    return totals
