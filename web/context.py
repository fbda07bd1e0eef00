"""Per-request access to the store and the engine.

A request takes one connection and hands it back on teardown. Connections are kept per worker thread
(opening one costs more than a small match), and a connection is only ever used by one request at a
time; any transaction a failed request left open is rolled back before the connection is reused.
"""

from __future__ import annotations

import threading

from flask import current_app, g

from matcher.engine.snapshot import Snapshot
from matcher.errors import Unavailable
from matcher.store import database_exists, open_db

_local = threading.local()


def get_db():
    if "db" not in g:
        path = current_app.config["DATABASE"]
        pool = getattr(_local, "connections", None)
        if pool is None:
            pool = _local.connections = {}
        db = pool.pop(path, None)
        if db is None and not database_exists(path):
            raise Unavailable(f"ยังไม่มีฐานข้อมูล / There is no database at {path} yet: create it with "
                              f"`flask --app api init-db` (make run does it) or set RISMEP_DATABASE to an "
                              f"existing file.")
        g.db = db if db is not None else open_db(path, migrate_schema=False)
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is None:
        return
    if db.conn.in_transaction:
        db.conn.rollback()
    pool = getattr(_local, "connections", None)
    if pool is None or current_app.config.get("TESTING"):
        db.close()  # tests replace database files freely: never keep a handle on one
    else:
        pool[current_app.config["DATABASE"]] = db


def engine():
    """The app's engine state (reference data, snapshot cache, models)."""
    return current_app.extensions["rismep"]


def get_snapshot() -> Snapshot:
    return engine().snapshots.get(get_db())


def get_reference():
    return engine().ref
