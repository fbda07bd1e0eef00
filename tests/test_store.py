import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.store import SCHEMA_VERSION, bump_data_version, data_version, directory, open_db, schema_version, \
    transaction
from matcher.store.schema import MIGRATIONS


@pytest.fixture
def empty_db(tmp_path, ref):
    db = open_db(tmp_path / "empty.db")
    directory.write_reference(db, ref.categories, ref.provinces, ref.agency_kinds)
    yield db
    db.close()


def test_new_database_is_migrated_in_wal_mode_with_foreign_keys(tmp_path):
    db = open_db(tmp_path / "x.db")
    assert schema_version(db) == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"members", "agencies", "consultants", "offerings", "enterprises", "clusters", "cases", "referrals",
            "referral_legs", "referral_events", "provinces", "categories"} <= set(db.table_names())


def test_migrating_twice_is_a_no_op(tmp_path):
    open_db(tmp_path / "x.db").close()
    db = open_db(tmp_path / "x.db")
    assert schema_version(db) == SCHEMA_VERSION


def agency(mid="A0001", province="TH-50", **extra):
    return {"id": mid, "type": "agency", "name_th": "สำนักงานทดสอบ", "name_en": "Test office", "province": province,
            "kind": "university", "sectors": "food", "created_at": "2024-01-01T00:00:00", **extra}


def test_members_round_trip_with_thai_text(empty_db):
    consultant = {"id": "C0001", "type": "consultant", "name_th": "สมชาย ใจดี", "province": "TH-10",
                  "affiliation": "A0001", "years_experience": 7, "created_at": "2024-01-01T00:00:00"}
    offers = [{"member_id": "A0001", "category": "shelf_life", "capacity_month": 5, "specialisation": 0.8},
              {"member_id": "C0001", "category": "branding", "capacity_month": 2, "specialisation": 0.6}]
    directory.write_members(empty_db, [agency(), consultant], offers)
    a = directory.get_member(empty_db, "A0001", "agency")
    assert a["name_th"] == "สำนักงานทดสอบ" and a["kind"] == "university"
    assert a["offerings"] == [{"category": "shelf_life", "capacity_month": 5, "specialisation": 0.8}]
    c = directory.get_member(empty_db, "C0001", "consultant")
    assert c["affiliation"] == "A0001" and c["years_experience"] == 7 and c["type"] == "consultant"


def test_foreign_keys_reject_unknown_province_and_leave_nothing(empty_db):
    with pytest.raises(sqlite3.IntegrityError):
        directory.write_members(empty_db, [agency(province="TH-99")], [])
    assert empty_db["members"].count == 0


def test_transaction_is_all_or_nothing(empty_db):
    with pytest.raises(RuntimeError):
        with transaction(empty_db):
            empty_db["meta"].insert({"key": "half", "value": "written"})
            raise RuntimeError("crash in the middle")
    assert empty_db.execute("SELECT count(*) FROM meta WHERE key = 'half'").fetchone()[0] == 0


def test_data_version_moves_on_every_write(empty_db):
    before = data_version(empty_db)
    directory.write_members(empty_db, [agency()], [])
    assert data_version(empty_db) == before + 1
    assert bump_data_version(empty_db) == before + 2


def test_events_are_append_only(db_path):
    db = open_db(db_path)
    event_id = db.execute("SELECT min(id) FROM referral_events").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE referral_events SET actor = 'x' WHERE id = ?", [event_id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM referral_events WHERE id = ?", [event_id])


thai_text = st.text(alphabet=st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B) | st.sampled_from("ab ()-."),
                    min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=thai_text, capacity=st.integers(0, 500), spec=st.floats(0, 1), years=st.none() | st.integers(0, 60))
def test_member_round_trip_is_lossless(empty_db, name, capacity, spec, years):
    member = {"id": "C0009", "type": "consultant", "name_th": name, "name_en": None, "province": "TH-90",
              "years_experience": years, "created_at": "2024-01-01T00:00:00"}
    directory.write_members(empty_db, [member], [{"member_id": "C0009", "category": "loan" if capacity % 2 else
                                                   "branding", "capacity_month": capacity, "specialisation": spec}])
    got = directory.get_member(empty_db, "C0009")
    assert got["name_th"] == name and got["years_experience"] == years
    assert any(o["capacity_month"] == capacity and o["specialisation"] == spec for o in got["offerings"])


def test_an_existing_database_is_migrated_when_the_app_starts(tmp_path):
    """A file made before the latest migration gets it on the next start (make run, make serve, tests)."""
    from api import create_app

    def tables_and_columns(path):
        handle = open_db(path, migrate_schema=False)
        try:
            return {t: [c.name for c in handle[t].columns] for t in handle.table_names()}
        finally:
            handle.close()

    older = tmp_path / "older.db"
    db = open_db(older, migrate_schema=False)
    for statements in MIGRATIONS[:-1]:
        for statement in statements:
            statement(db) if callable(statement) else db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    before = set(db.table_names())
    db.close()
    create_app({"TESTING": True, "DATABASE": str(older), "SECRET_KEY": "test"})
    db = open_db(older, migrate_schema=False)
    assert schema_version(db) == SCHEMA_VERSION
    db.close()
    open_db(tmp_path / "new.db").close()
    assert tables_and_columns(older) == tables_and_columns(tmp_path / "new.db")


def test_the_referral_loop_migration_recomputes_existing_referrals(tmp_path, ref):
    """A store whose referrals read "completed" with a declined need unmet gets their true status, each change
    with its appended event, and need rows, tracking codes and the legs' times."""
    from matcher.store import directory, history
    from matcher.synthetic import demo
    path = tmp_path / "before-the-loop.db"
    db = open_db(path, migrate_schema=False)
    before = len(MIGRATIONS) - next(i for i, m in enumerate(reversed(MIGRATIONS)) if _is_loop_migration(m)) - 1
    for version, steps in enumerate(MIGRATIONS[:before]):
        for step in steps:
            db.execute(step)
        db.execute(f"PRAGMA user_version = {version + 1}")
    rows = demo.generate(ref)
    directory.write_reference(db, ref.categories, rows["provinces"], ref.agency_kinds)
    directory.write_members(db, [{k: v for k, v in m.items() if k != "address"} for m in rows["members"]],
                            rows["offerings"])
    directory.write_clusters(db, rows["clusters"])
    directory.insert_enterprises(db, rows["enterprises"])
    history.write_history(db, cases=rows["cases"], referrals=[dict(r, status="completed") for r in rows["referrals"]],
                          legs=rows["legs"], events=rows["events"])
    db.close()
    db = open_db(path)  # migrates
    statuses = dict(db.execute("SELECT status, count(*) FROM referrals GROUP BY status").fetchall())
    assert statuses["completed"] < len(rows["referrals"]) and statuses["needs_action"] > 0
    declined_unmet = db.execute(
        "SELECT count(*) FROM referrals r WHERE r.status = 'completed' AND EXISTS (SELECT 1 FROM referral_needs n "
        "WHERE n.referral_id = r.id AND n.status != 'met')").fetchone()[0]
    assert declined_unmet == 0, "no case reads completed with a need unmet"
    recomputed = db.execute("SELECT count(*) FROM referral_events WHERE json_extract(data, '$.recomputed') = 1 "
                            "AND from_status = 'completed'").fetchone()[0]
    assert recomputed == len(rows["referrals"]) - statuses["completed"], "every change has its event"
    assert db.execute("SELECT count(*) FROM referrals WHERE tracking_code IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM referral_legs WHERE status = 'completed' AND finished_at IS NULL"
                      ).fetchone()[0] == 0
    db.close()


def _is_loop_migration(steps) -> bool:
    return any(isinstance(s, str) and "CREATE TABLE referral_needs" in s for s in steps)
