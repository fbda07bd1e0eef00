"""Concurrent writers from separate OS processes on one SQLite file lose nothing and duplicate nothing.

Two worker processes (spawned once) each build their own app on the test's database file and call the
HTTP API with their own key; a barrier starts them together so their writes interleave.
"""

from __future__ import annotations

import multiprocessing

import pytest

from conftest import DATA_DIR
from matcher.referrals import service as referrals
from matcher.reference import load_reference
from matcher.engine.snapshot import build_snapshot
from matcher.store import directory, keys, open_db

DESK = {"role": "desk", "member_id": None, "desk": "desk-TH-50", "key_id": None, "name": "desk-TH-50"}
PATH = ("accepted", "in_progress", "completed")


def _serve(tasks, barrier, results):
    """A worker process: for each task (name, db path, key, calls) build the app once per database file,
    wait at the barrier for the other worker, run the calls with its key, report (name, [(url, status, body)])."""
    from api import create_app
    clients = {}
    while (task := tasks.get()) is not None:
        name, db_path, key, calls = task
        if db_path not in clients:
            clients[db_path] = create_app({"TESTING": True, "DATABASE": db_path, "SECRET_KEY": "test"}).test_client()
        barrier.wait(timeout=120)
        out = []
        for method, url, body, headers in calls:
            response = clients[db_path].open(url, method=method, json=body,
                                             headers={"Authorization": f"Bearer {key}", **headers})
            out.append((url, response.status_code, response.get_json()))
        results.put((name, out))


@pytest.fixture(scope="module")
def workers():
    """Two worker processes (spawned once for the module) that start each round together."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results, queues = ctx.Barrier(2), ctx.Queue(), [ctx.Queue(), ctx.Queue()]
    procs = [ctx.Process(target=_serve, args=(q, barrier, results), daemon=True) for q in queues]
    for p in procs:
        p.start()
    yield queues, results
    for q in queues:
        q.put(None)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0


def run_together(workers, db_path, jobs: dict) -> dict:
    """Give each worker one job {name: (key, calls)}; they start at once. Returns {name: results}."""
    queues, results = workers
    assert len(jobs) == len(queues)
    for q, (name, (key, calls)) in zip(queues, jobs.items()):
        q.put((name, str(db_path), key, calls))
    return dict(results.get(timeout=300) for _ in jobs)


@pytest.fixture
def network(db_path):
    db = open_db(db_path)
    a = directory.list_members(db, "agency", province="TH-50", category="gmp_haccp")[0][0]["id"]
    b = next(m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="loan")[0]
             if m["id"] != a)
    snapshot = build_snapshot(db, load_reference(DATA_DIR))
    made = [referrals.create_referral(db, snapshot, {
        "enterprise": {"name": f"ทดสอบพร้อมกัน {n}", "province": "TH-50"}, "needs": ["gmp_haccp", "loan"],
        "assignment": {"gmp_haccp": a, "loan": b}}, DESK) for n in range(6)]
    yield db, a, b, made
    db.close()


def _moves(referral: dict, member: str) -> list:
    leg = next(x for x in referral["legs"] if x["member"] == member)
    url = f"/api/v1/referrals/{referral['id']}/legs/{leg['id']}"
    return [("POST", url, {"status": s, **({"value_baht": 1000.0, "note": "ok"} if s == "completed" else {})}, {})
            for s in PATH]


@pytest.mark.slow
def test_two_members_updating_the_same_referrals_at_once_lose_nothing(workers, db_path, network):
    db, a, b, made = network
    jobs = {m: (keys.create_key(db, role="member", member_id=m)["key"],
                [move for ref in made for move in _moves(ref, m)]) for m in (a, b)}
    out = run_together(workers, db_path, jobs)
    assert all(status == 200 for results in out.values() for _, status, _ in results), out
    for ref in made:
        view = referrals.get_referral(db, ref["id"], {**DESK, "role": "admin"})
        assert view["status"] == "completed" and {x["status"] for x in view["legs"]} == {"completed"}
        events = referrals.referral_events(db, ref["id"], {**DESK, "role": "admin"})
        for leg in view["legs"]:
            assert [e["to"] for e in events if e["leg_id"] == leg["id"]] == ["sent", *PATH]
        chain = [(e["from"], e["to"]) for e in events if e["leg_id"] is None]
        assert chain[0] == (None, "sent") and chain[-1][1] == "completed"
        assert all(prev[1] == cur[0] for prev, cur in zip(chain, chain[1:])), chain


@pytest.mark.slow
def test_a_race_on_one_leg_has_exactly_one_winner(workers, db_path, network):
    db, a, _, made = network
    calls = [("POST", _moves(ref, a)[0][1], {"status": "accepted"}, {}) for ref in made]
    out = run_together(workers, db_path, {
        "member": (keys.create_key(db, role="member", member_id=a)["key"], calls),
        "desk": (keys.create_key(db, role="desk", desk="desk-TH-50")["key"], calls)})
    for i, ref in enumerate(made):
        statuses = sorted(out[name][i][1] for name in out)
        assert statuses == [200, 409], out
        events = referrals.referral_events(db, ref["id"], {**DESK, "role": "admin"})
        assert sum(e["to"] == "accepted" for e in events) == 1


@pytest.mark.slow
def test_concurrent_retries_with_one_idempotency_key_create_one_referral(workers, db_path, network):
    db, a, b, _ = network
    before = db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    body = {"enterprise": {"name": "ลองส่งซ้ำพร้อมกัน", "province": "TH-50"}, "needs": ["gmp_haccp", "loan"],
            "assignment": {"gmp_haccp": a, "loan": b}}
    key = keys.create_key(db, role="desk", desk="desk-TH-50")["key"]
    calls = [("POST", "/api/v1/referrals", body, {"Idempotency-Key": "double-click-1"})] * 3
    out = run_together(workers, db_path, {f"w{i}": (key, calls) for i in range(2)})
    answers = [(status, result["id"]) for results in out.values() for _, status, result in results]
    assert {status for status, _ in answers} == {201} and len({rid for _, rid in answers}) == 1, answers
    assert db.execute("SELECT count(*) FROM referrals").fetchone()[0] == before + 1
    rid = answers[0][1]
    assert db.execute("SELECT count(*) FROM referral_legs WHERE referral_id = ?", [rid]).fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM referral_events WHERE referral_id = ?", [rid]).fetchone()[0] == 3
