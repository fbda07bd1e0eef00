"""The store: the only code that touches SQL (SQLite through sqlite-utils).

``open_db(path)`` returns a ``sqlite_utils.Database`` in WAL mode with foreign keys on and the schema
migrated to the current version. The submodules hold the queries, each returning plain dicts.
A ``data_version`` counter in ``meta`` is bumped by every write the engine must see, so that
in-memory snapshots (the graph, the candidate arrays) know when to rebuild with one cheap read.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import sqlite_utils

from matcher.errors import Unavailable

from .schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

__all__ = ["open_db", "is_read_only", "prepare_database", "database_exists", "unavailable", "migrate", "schema_version", "data_version", "data_versions", "store_health", "bump_data_version", "get_meta",
           "set_meta", "transaction", "SCHEMA_VERSION"]


def open_db(path, *, migrate_schema: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the SQLite file at ``path``, WAL mode, foreign keys on, migrated.

    A database that cannot be written (a read-only mount or file) is opened read-only instead, so that reads
    are still served; every write then fails with SQLite's read-only error, which ``unavailable`` turns into
    a 503. Its schema cannot be migrated: it is served as it is.
    """
    if is_read_only(path):
        return sqlite_utils.Database(_read_only_connection(path))
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    db = sqlite_utils.Database(conn)
    if migrate_schema:
        migrate(db)
    return db


def is_read_only(path) -> bool:
    """True when the database file exists but it, or its folder (where SQLite keeps the WAL files), cannot
    be written: a read-only mount, or permissions."""
    if str(path) == ":memory:" or not Path(path).exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(Path(path).resolve().parent, os.W_OK))


def _read_only_connection(path) -> sqlite3.Connection:
    """A read-only connection: through the WAL files when they are there, else as an immutable file (a
    read-only mount: nothing can change it while it is mounted so)."""
    uri = Path(path).resolve().as_uri()
    for options in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(f"{uri}?{options}", uri=True, timeout=30, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            continue
        conn.execute("PRAGMA foreign_keys = ON")
        return conn
    raise sqlite3.OperationalError(f"unable to open database file {path} (read-only)")


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the pending migrations, each in its own transaction; return the resulting version."""
    while (version := schema_version(db)) < SCHEMA_VERSION:
        with transaction(db):
            if schema_version(db) != version:  # another process migrated meanwhile
                continue
            for statement in MIGRATIONS[version]:
                statement(db) if callable(statement) else db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
    return schema_version(db)


class transaction:
    """``with transaction(db):`` runs the block in one IMMEDIATE transaction (all or nothing)."""

    def __init__(self, db: sqlite_utils.Database):
        self.conn = db.conn

    def __enter__(self):
        self.nested = self.conn.in_transaction
        if not self.nested:
            self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.nested:
            return False
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def get_meta(db: sqlite_utils.Database, key: str, default=None):
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_meta(db: sqlite_utils.Database, key: str, value) -> None:
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [key, None if value is None else str(value)])


def data_version(db: sqlite_utils.Database) -> int:
    """The stamp that changes whenever the data the engine sees changes (one indexed read)."""
    return int(get_meta(db, "data_version", 0))


VERSION_SCOPES = ("directory", "outcomes", "load")


def bump_data_version(db: sqlite_utils.Database, scope: str = "directory") -> int:
    """Move the data version, recording what changed so that readers refresh only that.

    ``directory``: members, offerings, reference data, clusters, models (rebuild everything);
    ``outcomes``: a leg reached a final state (member statistics, collaborations and load);
    ``load``: legs were opened or moved between open states (the load on members only).
    """
    if scope not in VERSION_SCOPES:
        raise ValueError(f"unknown version scope {scope!r}; expected one of {VERSION_SCOPES}")
    for key in ("data_version", f"version:{scope}"):
        db.execute("INSERT INTO meta (key, value) VALUES (?, '1') "
                   "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1", [key])
    return data_version(db)


def data_versions(db: sqlite_utils.Database) -> dict[str, int]:
    """``{"data": n, "directory": n, "outcomes": n, "load": n}`` in one read."""
    rows = dict(db.execute("SELECT key, value FROM meta WHERE key = 'data_version' OR key LIKE 'version:%'"))
    out = {"data": int(rows.get("data_version", 0))}
    out.update({scope: int(rows.get(f"version:{scope}", 0)) for scope in VERSION_SCOPES})
    return out


def store_health(db: sqlite_utils.Database) -> dict[str, int]:
    """The data versions (one indexed read), after checking the schema is current: Unavailable (503) when the
    database cannot be read or needs migrating. What a readiness probe asks, in constant time."""
    try:
        version = schema_version(db)
        versions = data_versions(db)
    except sqlite3.Error as error:
        raise Unavailable(f"ฐานข้อมูลยังไม่พร้อม / The database cannot be read ({error}); check the file and "
                          f"its permissions.") from None
    if version < SCHEMA_VERSION:
        raise Unavailable(f"ฐานข้อมูลยังไม่พร้อม / The database is at schema version {version}, the service "
                          f"needs {SCHEMA_VERSION}: restart the service on a writable database to migrate it.")
    return versions


def is_seeded(path) -> bool:
    """True when the file at ``path`` exists and holds a migrated, seeded database."""
    if not Path(path).exists():
        return False
    db = open_db(path, migrate_schema=False)
    try:
        return db["meta"].exists() and get_meta(db, "dataset") is not None
    finally:
        db.close()


def prepare_database(path) -> bool:
    """Bring an existing database's schema up to date (the app does this once at start); never create one.
    Returns False when there is no file at ``path`` yet (``flask --app api init-db`` creates it). A read-only
    database is left as it is (reads are served; writes answer 503)."""
    if str(path) == ":memory:" or not Path(path).exists():
        return False
    db = open_db(path, migrate_schema=not is_read_only(path))
    try:
        if schema_version(db) < SCHEMA_VERSION:
            log.warning("the database at %s is read-only and at schema version %s (current %s): it is served "
                        "as it is; make it writable and restart to migrate it", path, schema_version(db),
                        SCHEMA_VERSION)
    finally:
        db.close()
    return True


def database_exists(path) -> bool:
    return Path(path).exists()


# What SQLite says when the database cannot take the request right now (not a bug of the caller or the code).
UNAVAILABLE_SIGNS = ("readonly", "read-only", "disk is full", "disk i/o error", "database is locked",
                     "unable to open database")


def unavailable(error: BaseException) -> Unavailable | None:
    """The 503 a database error stands for (read-only, full, busy or missing file), or None when it is not
    one of those. Callers outside the store never look at SQLite's errors themselves."""
    if isinstance(error, sqlite3.OperationalError) and any(s in str(error).lower() for s in UNAVAILABLE_SIGNS):
        return Unavailable("ฐานข้อมูลรับการบันทึกไม่ได้ในขณะนี้ / The database cannot take writes right now "
                           "(read-only, full or busy); nothing was changed. Try again shortly; if it persists, "
                           "tell the administrator.")
    return None
