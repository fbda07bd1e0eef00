"""Putting a dataset into the store: the reference tables and, on first run, the synthetic demo network."""

from __future__ import annotations

import os
import time
from pathlib import Path

from matcher.reference import Reference
from matcher.store import directory, history, is_seeded, open_db, progress, transaction
from matcher.synthetic import budgets, demo
from matcher.synthetic.truths import DEFAULT_TRUTH

DEMO_NOTE = ("SYNTHETIC demo network: fictitious agencies, consultants, enterprises and referrals shaped by the "
             "published RISMEP 2017-2018 figures (245 agencies, 217 consultants, 16 provinces live in 2018, "
             "72+ multi-agency referrals). Not real organisations or people.")


def seed_demo(db, ref: Reference, *, seed: int = demo.DEMO_SEED, scale: str = "demo",
              truth: str = DEFAULT_TRUTH) -> dict:
    """Write the reference tables and a synthetic network into an empty store; return its counts."""
    rows = demo.generate(ref, seed=seed, scale=scale, truth=truth)
    directory.write_reference(db, ref.categories, rows["provinces"], ref.agency_kinds)
    directory.write_members(db, rows["members"], rows["offerings"])
    directory.write_clusters(db, rows["clusters"])
    directory.insert_enterprises(db, rows["enterprises"])
    history.write_history(db, cases=rows["cases"], referrals=rows["referrals"], legs=rows["legs"],
                          events=rows["events"], truth=rows["truth"], truth_members=rows["truth_members"])
    with transaction(db):
        progress.recompute_all(db)  # each referral's needs, their statuses and tracking codes
    budgets.seed_synthetic_budgets(db)  # the synthetic programme budget (KPIs: value per baht)
    directory.set_dataset_info(db, name=f"rismep-{scale}-synthetic", synthetic=True, seed=seed, scale=scale,
                               note=DEMO_NOTE, truth=rows["truth_name"])
    return directory.counts(db)


def ensure_database(path, ref: Reference, *, seed: int = demo.DEMO_SEED, scale: str = "demo",
                    truth: str = DEFAULT_TRUTH) -> bool:
    """Create and seed the SQLite file at ``path`` when it is absent; True when it was created now.

    Seeding writes into a temporary file that is renamed into place only when complete, so a crash or
    two processes starting at once never leave a half-seeded database behind.
    """
    path = Path(path)
    if is_seeded(path):
        open_db(path).close()  # bring an existing file's schema up to date
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    db = open_db(tmp)
    try:
        with transaction(db):
            pass
        seed_demo(db, ref, seed=seed, scale=scale, truth=truth)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    if is_seeded(path):  # another process finished first
        _remove(tmp)
        return False
    os.replace(tmp, path)
    _remove(tmp)
    return True


def _remove(tmp: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
