"""What one write costs a worker's snapshot: the refresh after a finished leg, after a new team referral, and
after an accepted leg, applied from the journal of leg changes, beside a full rebuild measured in the same run.

    .venv/bin/python bench/bench_refresh.py --database /tmp/national.db --writes 40

Works on a copy of ``--database`` (made by ``flask --app api generate PATH --scale national``), so the
original is never written. Each round writes through the store as the API does (a two-member referral, a leg
accepted, one leg completed and one declined), then times ``SnapshotCache.get`` on a warm cache (coordination
rows cached as the matches leave them). Prints JSON: per write kind, the refresh's p50 and max in ms, beside
the full rebuild (``build_snapshot``) and the history re-read that the refresh replaces; and a start from a
stored snapshot (``RISMEP_SNAPSHOT_FILE``) one change behind, beside the same rebuild. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import DATA_DIR  # noqa: E402
from matcher.engine import stored  # noqa: E402
from matcher.engine.snapshot import SnapshotCache, build_snapshot  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.store import history, open_db, referrals as store_referrals  # noqa: E402


def timed(f, *args):
    t = time.perf_counter()
    out = f(*args)
    return out, (time.perf_counter() - t) * 1000


def team(db, members, at):
    legs = [{"member_id": m, "needs": [n], "status": "sent"} for m, n in zip(members, ("loan", "branding"))]
    referral_id, _ = store_referrals.create_referral(
        db, enterprise=None, enterprise_id=1, case={"province": "TH-50", "needs": ["loan", "branding"],
                                                    "text": None, "desk": "bench"},
        referral={"desk": "bench", "created_by": "bench", "consent_given": 1},
        needs=[{"need": "loan"}, {"need": "branding"}], legs=legs, actor="bench", at=at, event_data={})
    ids = [r[0] for r in db.execute("SELECT id FROM referral_legs WHERE referral_id = ? ORDER BY id", [referral_id])]
    return referral_id, ids


def move(db, referral_id, leg_id, path, at):
    for frm, to in zip(path, path[1:]):
        store_referrals.move_leg(db, referral_id=referral_id, leg_id=leg_id, expected=frm, to=to,
                                 changes={"value_baht": 10000.0} if to == "completed" else {}, actor="bench",
                                 at=at, data={})


def history_reread(db) -> None:
    """The reads a finished leg used to cost every worker: statistics, collaborations, worked legs, loads."""
    history.member_category_stats(db)
    history.collaborations(db)
    history.worked_legs(db)
    history.open_load(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a generated network (it is copied, never written)")
    parser.add_argument("--writes", type=int, default=40, help="rounds of writes (default 40)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="full rebuilds timed (default 3)")
    args = parser.parse_args()
    ref = load_reference(DATA_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "copy.db"
        shutil.copyfile(args.database, path)
        db = open_db(path)
        cache = SnapshotCache(ref)
        snap, first = timed(cache.get, db)
        rng = np.random.default_rng(3)
        for i in rng.choice(snap.number_of_members, 200, replace=False):  # rows a day of matches leaves cached
            snap.coordination().distance(int(i), 0)
        loans = [m["id"] for m, o in zip(snap.members, snap.offers[:, snap.category_index["loan"]]) if o]
        brands = [m["id"] for m, o in zip(snap.members, snap.offers[:, snap.category_index["branding"]]) if o]
        out = {"create_team": [], "accept": [], "finish_completed": [], "finish_declined": []}
        at = "2026-12-07T10:00:00"
        for _ in range(args.writes):
            pair = [loans[rng.integers(len(loans))], brands[rng.integers(len(brands))]]
            if pair[0] == pair[1]:
                continue
            referral_id, legs = team(db, pair, at)
            out["create_team"].append(timed(cache.get, db)[1])
            move(db, referral_id, legs[0], ("sent", "accepted"), at)
            out["accept"].append(timed(cache.get, db)[1])
            move(db, referral_id, legs[0], ("accepted", "in_progress", "completed"), at)
            out["finish_completed"].append(timed(cache.get, db)[1])
            move(db, referral_id, legs[1], ("sent", "declined"), at)
            out["finish_declined"].append(timed(cache.get, db)[1])
        snap = cache.get(db)
        folder = Path(tmp) / "stored"
        _, save_ms = timed(stored.save, snap, folder)
        team(db, [loans[0], brands[-1]], at)  # one change to catch up with after the stored snapshot
        started = [timed(SnapshotCache(ref, stored=folder).get, db)[1] for _ in range(args.baseline_runs)]
        snap = cache.get(db)
        rebuilt = [timed(build_snapshot, db, ref)[1] for _ in range(args.baseline_runs)]
        reread = [timed(history_reread, db)[1] for _ in range(args.baseline_runs)]
        fresh = build_snapshot(db, ref)
        same = all(np.allclose(getattr(snap, k), getattr(fresh, k)) for k in (
            "load", "month_load", "finished", "completed", "value_baht", "record_excess", "record_information"))
        same = same and (snap.collaboration.joint != fresh.collaboration.joint).nnz == 0
        db.close()
    result = {
        "database": str(args.database), "members": snap.number_of_members, "writes": args.writes,
        "first_build_ms": round(first, 1),
        "refresh_ms": {k: {"p50": round(float(np.median(v)), 2), "max": round(float(np.max(v)), 2)}
                       for k, v in out.items() if v},
        "stored_snapshot": {"save_ms": round(save_ms, 1), "start_from_it_ms": round(float(np.median(started)), 1)},
        "baseline_full_rebuild_ms": round(float(np.median(rebuilt)), 1),
        "baseline_history_reread_ms": round(float(np.median(reread)), 1),
        "incremental_equals_rebuild": bool(same)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
