"""Per-request access to the store and the engine: one connection per request, closed on teardown."""

from __future__ import annotations

from flask import current_app, g

from matcher.snapshot import Snapshot
from matcher.store import open_db


def get_db():
    if "db" not in g:
        g.db = open_db(current_app.config["DATABASE"], migrate_schema=False)
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def engine():
    """The app's engine state (reference data, snapshot cache, models)."""
    return current_app.extensions["rismep"]


def get_snapshot() -> Snapshot:
    return engine().snapshots.get(get_db())


def get_reference():
    return engine().ref
