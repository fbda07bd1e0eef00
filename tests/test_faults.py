"""Faults: kill -9 the production server in the middle of a burst of referral writes; after a restart every
referral that got a 201 is there, complete, with its events; none is half-written; the file is sound."""

import http.client
import sqlite3
import threading
import time

import pytest

from bench.service import Service, create_key, request
from matcher.store.backup import integrity

pytestmark = pytest.mark.slow

BODY = {"enterprise": {"name": "Fault test enterprise (synthetic)", "province": "TH-50", "sector": "food",
                       "contact": {"name": "Fault Test", "phone": "080-000-0000", "email": "fault@example.com"}},
        "needs": ["loan", "credit_guarantee"], "assignment": None,
        "consent": {"given": True, "by": "Fault Test", "at": "2026-11-22T10:00:00+07:00",
                    "scope": "share_contact_with_bundle_members"}}


def burst(url, key, acked, stop, assignment):
    body = dict(BODY, assignment=assignment)
    while not stop.is_set():
        try:
            status, created = request(f"{url}/api/v1/referrals", "POST", body,
                                      {"Authorization": f"Bearer {key}"}, timeout=5)
        except (OSError, http.client.HTTPException):  # the server died mid-response
            return
        if status == 201:
            acked.append(created["id"])


def test_kill_minus_nine_mid_burst_loses_no_acknowledged_referral(db_path):
    key = create_key(db_path, "desk", "--desk", "fault-desk")
    admin = create_key(db_path, "admin")
    svc = Service(db_path, workers=2).start()
    status, match = request(f"{svc.url}/api/v1/match", "POST", {"needs": ["loan", "credit_guarantee"],
                                                                 "province": "TH-50"})
    assignment = match["bundles"][0]["assignment"]
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=burst, args=(svc.url, key, acked, stop, assignment)) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    svc.kill9()  # in the middle of the burst: requests are in flight
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 40

    assert integrity(db_path) == "ok"
    db = sqlite3.connect(db_path)
    half = db.execute("SELECT count(*) FROM referrals r WHERE NOT EXISTS "
                      "(SELECT 1 FROM referral_legs l WHERE l.referral_id = r.id)").fetchone()[0]
    silent = db.execute("SELECT count(*) FROM referral_legs l WHERE NOT EXISTS "
                        "(SELECT 1 FROM referral_events e WHERE e.leg_id = l.id)").fetchone()[0]
    assert half == 0 and silent == 0

    restarted = Service(db_path, workers=2).start()
    try:
        headers = {"Authorization": f"Bearer {admin}"}
        for referral_id in acked:
            status, body = request(f"{restarted.url}/api/v1/referrals/{referral_id}", headers=headers)
            assert status == 200, referral_id
            assert len(body["legs"]) == len(set(assignment.values()))
            status, events = request(f"{restarted.url}/api/v1/referrals/{referral_id}/events", headers=headers)
            items = events["items"] if isinstance(events, dict) else events
            assert status == 200 and len(items) >= len(body["legs"])
    finally:
        restarted.stop()


def read_only_mount(source, target) -> list[str]:
    """A command prefix that runs the rest in a private mount namespace where ``target`` is ``source``
    mounted read-only (``unshare`` from util-linux; no change to the machine's own mounts)."""
    script = f'mount --bind "{source}" "{target}" && mount -o remount,bind,ro "{target}" && exec "$@"'
    return ["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh"]


def can_mount_read_only(tmp_path) -> bool:
    import subprocess
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        return subprocess.run([*read_only_mount(tmp_path / "a", tmp_path / "b"), "true"], capture_output=True,
                              timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_the_service_starts_on_a_read_only_mount_serves_reads_and_answers_503_to_writes(db_path, tmp_path):
    if not can_mount_read_only(tmp_path):
        pytest.skip("this machine does not allow a private read-only mount (unshare --map-root-user --mount)")
    key = create_key(db_path, "admin")
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    source, mounted = db_path.parent, tmp_path / "ro"
    mounted.mkdir()
    svc = Service(mounted / db_path.name, workers=2, secret_key=None,
                  prefix=read_only_mount(source, mounted)).start()
    try:
        status, body = request(f"{svc.url}/api/v1/agencies?limit=5")
        assert status == 200 and len(body["items"]) == 5
        status, match = request(f"{svc.url}/api/v1/match", "POST", {"needs": ["loan"], "province": "TH-50"})
        assert status == 200 and match["bundles"]
        status, listed = request(f"{svc.url}/api/v1/referrals?limit=1", headers={"Authorization": f"Bearer {key}"})
        assert status == 200 and listed["total"] > 0
        body = dict(BODY, assignment=match["bundles"][0]["assignment"], needs=["loan"])
        status, refused = request(f"{svc.url}/api/v1/referrals", "POST", body, {"Authorization": f"Bearer {key}"})
        assert status == 503 and "nothing was changed" in refused["error"]
    finally:
        svc.stop()
