"""The notification worker and its dead-letter list: ``notify``, ``deliveries``, ``replay-deliveries``."""

from __future__ import annotations

import json
import signal
import threading

import click
from flask import current_app

from matcher.notifications import worker
from matcher.referrals import followup
from matcher.store import history, open_db, outbox

JOURNAL_KEEP = 100_000  # leg changes kept for the workers to catch up with (one behind by more rebuilds)


@click.command("notify")
@click.option("--once", is_flag=True, help="deliver what is due now, then stop (for cron or a test)")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
def notify(once, quiet):
    """Deliver notifications from the outbox (e-mail over SMTP, signed webhooks) and record overdue legs.

    Runs until stopped (SIGTERM or Ctrl-C finish the current message first); `make serve` starts it beside
    gunicorn. Settings: RISMEP_SMTP_HOST, RISMEP_SMTP_PORT, ..., RISMEP_NOTIFY_POLL_SECONDS.

    Example: RISMEP_SMTP_HOST=mail.example.org flask --app api notify
    """
    app = current_app
    settings = worker.WorkerSettings.from_settings(app.config)
    ref = app.extensions["rismep"].ref
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    report = None if quiet else (lambda done: click.echo(json.dumps(done), err=True))
    if not quiet and not settings.smtp.host:
        click.echo("RISMEP_SMTP_HOST is not set: e-mail deliveries will fail and be retried.", err=True)
    totals = worker.run(lambda: open_db(app.config["DATABASE"], migrate_schema=False), ref, settings,
                        sweep=lambda db: _sweep(db, ref), once=once, should_stop=stop.is_set,
                        report=report)
    click.echo(json.dumps(totals))


def _sweep(db, ref) -> int:
    """Each pass: the journal of leg changes trimmed to its latest rows, then the legs that became overdue
    (their number)."""
    history.trim_leg_changes(db, keep=JOURNAL_KEEP)
    return followup.sweep_overdue(db, ref)


@click.command("deliveries")
def deliveries():
    """Count outbox deliveries by status and list the dead ones (JSON).

    Example: flask --app api deliveries
    """
    db = open_db(current_app.config["DATABASE"], migrate_schema=False)
    try:
        dead, total = outbox.dead_letters(db, limit=500)
        click.echo(json.dumps({"counts": outbox.delivery_counts(db), "dead": dead, "dead_total": total},
                              ensure_ascii=False))
    finally:
        db.close()


@click.command("replay-deliveries")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="replay every dead delivery")
def replay_deliveries(ids, everything):
    """Queue dead deliveries again (IDS from `deliveries`, or --all); they keep their delivery ids.

    Example: flask --app api replay-deliveries --all
    """
    if not ids and not everything:
        raise click.ClickException("name the outbox ids to replay, or pass --all.")
    db = open_db(current_app.config["DATABASE"], migrate_schema=False)
    try:
        click.echo(json.dumps({"replayed": outbox.replay(db, None if everything else list(ids)),
                               "counts": outbox.delivery_counts(db)}))
    finally:
        db.close()


commands = [notify, deliveries, replay_deliveries]
