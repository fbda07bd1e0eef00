"""Online backup and restore with SQLite's backup API (safe while the service is running)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from matcher.errors import Unprocessable


def integrity(path) -> str:
    """``PRAGMA integrity_check`` of the file at ``path`` ("ok" when sound)."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def backup(source, target, *, pages: int = 1024) -> dict:
    """Copy the live database at ``source`` into a new file ``target`` (a consistent snapshot)."""
    target = Path(target)
    if target.exists():
        raise Unprocessable(f"{target} exists; back up into a new file.", field="target")
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=pages)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
    return {"backup": str(target), "bytes": target.stat().st_size, "integrity": integrity(target)}


def restore(backup_file, target, *, pages: int = 1024) -> dict:
    """Replace the contents of the live database ``target`` with ``backup_file``, in place.

    The copy goes through the backup API into the live file, so connections of running workers see the
    restored data on their next transaction (and its data_version makes them rebuild their snapshots).
    """
    backup_file = Path(backup_file)
    if not backup_file.exists():
        raise Unprocessable(f"No backup file at {backup_file}.", field="backup")
    check = integrity(backup_file)
    if check != "ok":
        raise Unprocessable(f"{backup_file} fails PRAGMA integrity_check ({check}); not restored.", field="backup")
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        src.backup(dst, pages=pages)
        for key in ("data_version", "version:directory"):  # every worker rebuilds its snapshot in full
            dst.execute("INSERT INTO meta (key, value) VALUES (?, '1000000') ON CONFLICT(key) "
                        "DO UPDATE SET value = CAST(value AS INTEGER) + 1000000", [key])
        dst.commit()
    finally:
        dst.close()
        src.close()
    return {"restored": str(target), "from": str(backup_file), "integrity": integrity(target)}
