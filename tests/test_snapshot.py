"""The snapshot follows the store: one read per request, and only what changed is re-read."""


import numpy as np
import pytest

from matcher.engine.coordination import COORDINATION
from matcher.engine.snapshot import SnapshotCache, build_snapshot
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
    assert after.derived.peek(COORDINATION) is before.derived.peek(COORDINATION)


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


def _move(db, referral_id, leg_id, path, value=None):
    for frm, to in zip(path, path[1:]):
        assert store_referrals.move_leg(db, referral_id=referral_id, leg_id=leg_id, expected=frm, to=to,
                                        changes={"value_baht": value} if to == "completed" else {}, actor="d",
                                        at="2026-11-22T11:00:00", data={})["moved"]


def _team_referral(db, members, needs=("loan", "branding")):
    legs = [{"member_id": m, "needs": [needs[k % len(needs)]], "status": "sent"} for k, m in enumerate(members)]
    referral_id, _ = store_referrals.create_referral(
        db, enterprise=None, enterprise_id=1, case={"province": "TH-50", "needs": list(needs), "text": None,
                                                    "desk": "d"},
        referral={"desk": "d", "created_by": "d", "consent_given": 1}, needs=[{"need": n} for n in needs],
        legs=legs, actor="d", at="2026-11-22T10:00:00", event_data={})
    return referral_id, [r[0] for r in db.execute("SELECT id FROM referral_legs WHERE referral_id = ? ORDER BY id",
                                                  [referral_id])]


def test_changes_applied_in_memory_equal_a_full_rebuild(db, ref):
    """New teams, accepted, declined, completed and closed legs, applied from the journal, leave the snapshot
    exactly as a rebuild from the whole history would; the coordination distances cached before the change
    are updated for the pairs that changed."""
    cache = SnapshotCache(ref)
    before = cache.get(db)
    ids = [m["id"] for m in before.members[:6]]
    before.coordination().matrix(range(len(before.members)))  # every row cached
    first, legs1 = _team_referral(db, ids[:3])
    second, legs2 = _team_referral(db, ids[2:5])
    _move(db, first, legs1[0], ("sent", "accepted", "in_progress", "completed"), 7000.0)
    _move(db, first, legs1[1], ("sent", "accepted", "in_progress", "completed"), 3000.0)
    _move(db, first, legs1[2], ("sent", "declined"))
    _move(db, second, legs2[0], ("sent", "accepted", "in_progress", "closed_unresolved"))
    after = cache.get(db)
    assert after.position > before.position and after.lookups is before.lookups  # applied, not rebuilt
    rebuilt = build_snapshot(db, ref)
    for name in ("load", "month_load", "finished", "completed", "value_baht", "record_excess",
                 "record_information"):
        assert np.allclose(getattr(after, name), getattr(rebuilt, name)), name
    for name in ("joint", "completed"):
        assert (getattr(after.collaboration, name) != getattr(rebuilt.collaboration, name)).nnz == 0, name
    assert not np.array_equal(after.finished, before.finished)
    assert (after.collaboration.joint != before.collaboration.joint).nnz > 0
    every = range(len(after.members))
    assert np.allclose(after.coordination().matrix(every), rebuilt.coordination().matrix(every))
    i, j = after.member_index[ids[0]], after.member_index[ids[1]]
    assert after.coordination().joint(i, j) == before.coordination().joint(i, j) + 1
    third, legs3 = _team_referral(db, ids[:2])  # the same pair again: its count moves, no new pair
    _move(db, third, legs3[0], ("sent", "accepted", "in_progress", "completed"), 10.0)
    latest, rebuilt = cache.get(db), build_snapshot(db, ref)
    assert latest.collaboration.joint.indices is after.collaboration.joint.indices  # the pairs are shared
    assert (latest.collaboration.joint != rebuilt.collaboration.joint).nnz == 0
    assert np.allclose(latest.coordination().matrix(every), rebuilt.coordination().matrix(every))
    assert np.allclose(latest.coordination().nearest, rebuilt.coordination().nearest)
    assert np.allclose(latest.coordination().joint_total, rebuilt.coordination().joint_total)
    assert np.allclose(latest.record_excess, rebuilt.record_excess) and latest.worked.buffer is not None


def test_a_changed_finished_leg_rebuilds(db, ref):
    """A change the journal cannot follow exactly (a finished leg edited) rebuilds instead."""
    cache = SnapshotCache(ref)
    referral_id, legs = _team_referral(db, ["A0001", "A0002"])
    _move(db, referral_id, legs[0], ("sent", "accepted", "in_progress", "completed"), 100.0)
    before = cache.get(db)
    db.execute("UPDATE referral_legs SET value_baht = 900 WHERE id = ?", [legs[0]])
    bump_data_version(db, "outcomes")
    after = cache.get(db)
    assert after.lookups is not before.lookups
    assert np.allclose(after.value_baht, build_snapshot(db, ref).value_baht)


def test_derived_values_carry_only_when_their_data_did_not_change(db, ref):
    from matcher.engine import scoring
    cache = SnapshotCache(ref)
    before = cache.get(db)
    fit = scoring.sector_fit(before, "food")
    before.scorer.need_logits(before)
    before.scorer.member_logits(before)
    new_referral(db)  # load only
    after = cache.get(db)
    assert scoring.sector_fit(after, "food") is fit
    assert after.derived.peek(scoring.SCORER_NEED, id(after.scorer)) is before.derived.peek(
        scoring.SCORER_NEED, id(before.scorer))
    assert after.derived.peek(scoring.SCORER_MEMBER, id(after.scorer)) is None  # reads this month's load
    with pytest.raises(ValueError):
        after.load[0] = 1.0  # a snapshot's arrays are read-only


def test_a_stored_snapshot_starts_without_the_history(db, ref, tmp_path):
    """A start reads the stored snapshot and applies the changes since; a stale one is rebuilt and stored."""
    path = tmp_path / "snapshot"
    SnapshotCache(ref, stored=path).get(db)
    assert path.exists()
    referral_id, legs = _team_referral(db, ["A0001", "A0002"])
    _move(db, referral_id, legs[0], ("sent", "accepted", "in_progress", "completed"), 500.0)
    second = SnapshotCache(ref, stored=path).get(db)
    assert isinstance(second.offers.base, np.memmap)  # read from the file, not the tables
    rebuilt = build_snapshot(db, ref)
    for name in ("load", "finished", "completed", "value_baht", "record_excess", "offers", "capacity"):
        assert np.allclose(getattr(second, name), getattr(rebuilt, name)), name
    assert (second.collaboration.joint != rebuilt.collaboration.joint).nnz == 0
    assert [m["id"] for m in second.members] == [m["id"] for m in rebuilt.members]
    db.execute("UPDATE members SET active = 0 WHERE id = 'A0003'")
    bump_data_version(db)
    third = SnapshotCache(ref, stored=path).get(db)
    assert not isinstance(third.offers.base, np.memmap) and "A0003" not in third.member_index
    assert "A0003" not in SnapshotCache(ref, stored=path).get(db).member_index  # the file was stored again


def test_a_worker_behind_a_trimmed_journal_rebuilds(db, ref):
    from matcher.store import history
    cache = SnapshotCache(ref)
    before = cache.get(db)
    for members in (["A0001", "A0002"], ["A0002", "A0003"], ["A0003", "A0004"]):
        _team_referral(db, members)
    assert history.trim_leg_changes(db, keep=1) > 0
    after = cache.get(db)
    assert after.lookups is not before.lookups  # rebuilt: the journal no longer reached back
    assert np.allclose(after.load, build_snapshot(db, ref).load)
