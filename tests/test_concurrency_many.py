"""Many processes appending events to the same referrals at once: nothing lost, nothing duplicated."""

import multiprocessing

import pytest

from matcher.lifecycle import roll_up
from matcher.store import open_db, referrals as store

pytestmark = pytest.mark.slow

PROCESSES = 6
REFERRALS = 4
PATH = (("sent", "accepted"), ("accepted", "in_progress"), ("in_progress", "completed"))


def _move_my_legs(path, referral_legs, position, start):
    """Process ``position`` walks leg ``position`` of every referral to completed, one event per step."""
    db = open_db(path)
    start.wait()
    for step, (frm, to) in enumerate(PATH):
        for referral_id, legs in referral_legs.items():
            result = store.move_leg(db, referral_id=referral_id, leg_id=legs[position], expected=frm, to=to,
                                    changes={"value_baht": 1000.0 * (position + 1)} if to == "completed" else {},
                                    actor=f"member-{position}", at=f"2026-11-22T10:{step:02d}:00",
                                    data={"step": step})
            assert result["moved"], result
    db.close()


def test_many_processes_moving_legs_of_the_same_referrals(db_path):
    db = open_db(db_path)
    members = [r[0] for r in db.execute("SELECT id FROM members ORDER BY id LIMIT ?", [PROCESSES])]
    referral_legs = {}
    for n in range(REFERRALS):
        legs = [{"member_id": m, "needs": ["loan"]} for m in members]
        referral_id, created = store.create_referral(
            db, enterprise=None, enterprise_id=1, case={"province": "TH-50", "needs": ["loan"], "text": None,
                                                        "desk": "d"},
            referral={"desk": "d", "created_by": "d", "consent_given": 1}, needs=[{"need": "loan"}], legs=legs,
            actor="d",
            at="2026-11-22T09:00:00", event_data={})
        assert created
        referral_legs[referral_id] = [r[0] for r in db.execute(
            "SELECT id FROM referral_legs WHERE referral_id = ? ORDER BY id", [referral_id])]
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_move_my_legs, args=(str(db_path), referral_legs, i, start))
             for i in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    for referral_id, legs in referral_legs.items():
        for position, leg_id in enumerate(legs):
            events = db.execute("SELECT from_status, to_status FROM referral_events WHERE leg_id = ? ORDER BY id",
                                [leg_id]).fetchall()
            assert events == [(None, "sent"), *PATH]  # every step once, in order: none lost, none twice
            status, value = db.execute("SELECT status, value_baht FROM referral_legs WHERE id = ?",
                                       [leg_id]).fetchone()
            assert status == "completed" and value == 1000.0 * (position + 1)
        legs = [{"id": r[0], "needs": ["loan"], "status": r[1]} for r in db.execute(
            "SELECT id, status FROM referral_legs WHERE referral_id = ?", [referral_id])]
        assert db.execute("SELECT status FROM referrals WHERE id = ?", [referral_id]).fetchone()[0] == \
            roll_up([{"need": "loan"}], legs)[1] == "completed"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
