"""Backup and restore of the live store, and the store's integrity afterwards."""

import json
import multiprocessing
import sqlite3

import pytest

from matcher.errors import Unprocessable
from matcher.store import backup as store_backup
from matcher.store import open_db


def _writer(path, n):
    db = open_db(path)
    for i in range(n):
        with db.conn:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [f"writer-{i}", str(i)])
    db.close()


def test_backup_while_another_process_writes_is_consistent(db_path, tmp_path):
    proc = multiprocessing.get_context("spawn").Process(target=_writer, args=(str(db_path), 300))
    proc.start()
    result = store_backup.backup(db_path, tmp_path / "copy.db")
    proc.join(60)
    assert proc.exitcode == 0
    assert result["integrity"] == "ok" and result["bytes"] > 0
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT count(*) FROM members").fetchone()[0] == 462
    written = copy.execute("SELECT count(*) FROM meta WHERE key LIKE 'writer-%'").fetchone()[0]
    assert 0 <= written <= 300


def test_restore_brings_back_the_backup_and_bumps_the_version(db_path, tmp_path):
    store_backup.backup(db_path, tmp_path / "before.db")
    db = open_db(db_path)
    version_before = db.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
    db.execute("DELETE FROM offerings")
    assert db["offerings"].count == 0
    result = store_backup.restore(tmp_path / "before.db", db_path)
    assert result["integrity"] == "ok"
    assert db["offerings"].count == 1483  # the same open connection sees the restored rows
    version_after = db.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
    assert int(version_after) > int(version_before)


def test_backup_never_overwrites(db_path, tmp_path):
    (tmp_path / "exists.db").write_bytes(b"x")
    with pytest.raises(Unprocessable, match="exists"):
        store_backup.backup(db_path, tmp_path / "exists.db")


def test_restore_refuses_a_corrupt_file(db_path, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises((Unprocessable, sqlite3.DatabaseError)):
        store_backup.restore(bad, db_path)
    assert store_backup.integrity(db_path) == "ok"


def test_backup_and_restore_commands(runner, db_path, tmp_path):
    out = runner.invoke(args=["backup", str(tmp_path / "b.db")])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["integrity"] == "ok"
    refused = runner.invoke(args=["restore", str(tmp_path / "b.db")])
    assert refused.exit_code != 0 and "--yes" in refused.output
    done = runner.invoke(args=["restore", str(tmp_path / "b.db"), "--yes"])
    assert done.exit_code == 0, done.output
    missing = runner.invoke(args=["restore", str(tmp_path / "nope.db"), "--yes"])
    assert missing.exit_code != 0 and "No backup file" in missing.output
