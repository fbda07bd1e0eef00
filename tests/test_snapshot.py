"""The snapshot follows the store: one read per request, and only what changed is re-read."""


from matcher.engine.snapshot import SnapshotCache
from matcher.store import bump_data_version, data_versions, directory, referrals as store_referrals


def new_referral(db, member_id="A0001", needs=("loan",)):
    leg = {"member_id": member_id, "needs": list(needs), "status": "sent"}
    return store_referrals.create_referral(
        db, enterprise=None, enterprise_id=1, case={"province": "TH-50", "needs": list(needs), "text": None,
                                                    "desk": "d"},
        referral={"desk": "d", "created_by": "d", "consent_given": 1}, needs=[{"need": n} for n in needs],
        legs=[leg], actor="d",
        at="2026-11-22T10:00:00", event_data={})


def test_unchanged_store_returns_the_same_snapshot(db, ref):
    cache = SnapshotCache(ref)
    assert cache.get(db) is cache.get(db)


def test_a_new_referral_refreshes_only_the_load(db, ref):
    cache = SnapshotCache(ref)
    before = cache.get(db)
    before.coordination()
    m = before.member_index["A0001"]
    new_referral(db)
    after = cache.get(db)
    assert after is not before and after.versions == data_versions(db)
    assert after.load[m] == before.load[m] + 1
    assert after.collaboration is before.collaboration and after.finished is before.finished
    assert after.derived["coordination"] is before.derived["coordination"]


def test_a_finished_leg_refreshes_statistics(db, ref):
    cache = SnapshotCache(ref)
    referral_id, _ = new_referral(db)
    before = cache.get(db)
    leg_id = db.execute("SELECT id FROM referral_legs WHERE referral_id = ?", [referral_id]).fetchone()[0]
    for frm, to in (("sent", "accepted"), ("accepted", "in_progress"), ("in_progress", "completed")):
        store_referrals.move_leg(db, referral_id=referral_id, leg_id=leg_id, expected=frm, to=to,
                                 changes={"value_baht": 5000.0} if to == "completed" else {}, actor="A0001",
                                 at="2026-11-22T11:00:00", data={})
    after = cache.get(db)
    m, j = before.member_index["A0001"], before.category_index["loan"]
    assert after.completed[m, j] == before.completed[m, j] + 1
    assert after.value_baht[m, j] == before.value_baht[m, j] + 5000.0
    assert after.load[m] == before.load[m] - 1


def test_a_directory_change_rebuilds_everything(db, ref):
    cache = SnapshotCache(ref)
    before = cache.get(db)
    db.execute("UPDATE members SET active = 0 WHERE id = 'A0001'")
    bump_data_version(db)
    after = cache.get(db)
    assert "A0001" in before.member_index and "A0001" not in after.member_index


def test_a_restore_rebuilds_everything(db, db_path, ref, tmp_path):
    from matcher.store.backup import backup, restore
    cache = SnapshotCache(ref)
    backup(db_path, tmp_path / "b.db")
    before = cache.get(db)
    directory.write_members(db, [{"id": "C9999", "type": "consultant", "name_th": "ทดสอบ", "province": "TH-50",
                                  "created_at": "2026-01-01T00:00:00"}], [])
    assert "C9999" in cache.get(db).member_index
    restore(tmp_path / "b.db", db_path)
    assert "C9999" not in cache.get(db).member_index and cache.get(db) is not before
