"""The leg state machine and the referral roll-up: properties of the tables, then random move sequences
played through the service on a real SQLite file against a model of the machine.
"""

from __future__ import annotations

import shutil

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA_DIR
from matcher import lifecycle
from matcher.referrals import service as referrals
from matcher.errors import Conflict
from matcher.lifecycle import DECLINE_REASONS, FINAL, LEG_STATUSES, OPEN, TRANSITIONS, referral_status
from matcher.reference import load_reference
from matcher.engine.snapshot import build_snapshot
from matcher.store import directory, open_db

ADMIN = {"role": "admin", "member_id": None, "desk": "desk-TH-50", "key_id": None, "name": "property-test"}
statuses = st.sampled_from(LEG_STATUSES)


def test_the_machine_is_a_dag_from_sent_to_the_final_states():
    G = nx.DiGraph([(a, b) for a, nexts in TRANSITIONS.items() for b in nexts])
    assert nx.is_directed_acyclic_graph(G)
    assert set(nx.descendants(G, "sent")) == set(LEG_STATUSES) - {"sent"}
    assert {s for s in LEG_STATUSES if not TRANSITIONS[s]} == set(FINAL)
    assert set(OPEN) | set(FINAL) == set(LEG_STATUSES)


@given(st.lists(statuses, min_size=1, max_size=8))
def test_roll_up_is_a_known_status_and_ignores_leg_order(legs):
    status = referral_status(legs)
    assert status in lifecycle.REFERRAL_STATUSES
    assert referral_status(list(reversed(legs))) == status


@given(st.lists(statuses, min_size=1, max_size=8))
def test_roll_up_follows_the_live_legs(legs):
    status = referral_status(legs)
    live = [s for s in legs if s != "declined"]
    if not live:
        assert status == "declined"
    elif any(s in OPEN for s in live):
        assert status in ("sent", "in_progress")
    else:
        assert status in ("completed", "partially_completed", "closed_unresolved")
    if live:
        assert referral_status(legs + ["declined"]) == status, "a declined leg beside live ones changes nothing"


# -- random moves through the service --------------------------------------------------------------

def payload(status: str, reason: str, value: float) -> dict:
    """A body that is valid for ``status`` (so only the transition decides)."""
    if status == "declined":
        return {"status": status, "reason": reason, "note": "เหตุผลอื่น" if reason == "other" else None}
    if status == "completed":
        return {"status": status, "value_baht": value, "note": "สำเร็จตามแผน"}
    return {"status": status}


moves = st.lists(st.tuples(st.integers(0, 1), statuses, st.sampled_from(DECLINE_REASONS),
                           st.floats(0, 1e7, allow_nan=False)), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def store(demo_db_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("lifecycle") / "rismep.db"
    shutil.copy(demo_db_template, path)
    db = open_db(path)
    snapshot = build_snapshot(db, load_reference(DATA_DIR))
    first = directory.list_members(db, "agency", province="TH-50", category="gmp_haccp")[0][0]["id"]
    second = next(m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="loan")[0]
                  if m["id"] != first)
    yield db, snapshot, {"gmp_haccp": first, "loan": second}
    db.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves)
def test_moves_are_accepted_exactly_when_the_machine_allows_them(store, sequence):
    db, snapshot, assignment = store
    created = referrals.create_referral(db, snapshot, {
        "enterprise": {"name": "ทดสอบสถานะ (ไม่มีข้อมูลติดต่อ)", "province": "TH-50"}, "needs": list(assignment),
        "assignment": assignment}, ADMIN)
    legs = [leg["id"] for leg in created["legs"]]
    model = {leg: "sent" for leg in legs}
    accepted = {leg: ["sent"] for leg in legs}
    for which, to, reason, value in sequence:
        leg = legs[which]
        if lifecycle.is_allowed(model[leg], to):
            out = referrals.update_leg(db, created["id"], leg, payload(to, reason, value), ADMIN)
            model[leg] = to
            accepted[leg].append(to)
            assert out["leg"]["status"] == to
            assert out["status"] == referral_status(model.values())
        else:
            with pytest.raises(Conflict) as error:
                referrals.update_leg(db, created["id"], leg, payload(to, reason, value), ADMIN)
            assert error.value.allowed == list(TRANSITIONS[model[leg]])
    view = referrals.get_referral(db, created["id"], ADMIN)
    assert {leg["id"]: leg["status"] for leg in view["legs"]} == model
    assert view["status"] == referral_status(model.values())
    events = referrals.referral_events(db, created["id"], ADMIN)
    for leg in legs:
        assert [e["to"] for e in events if e["leg_id"] == leg] == accepted[leg]
    rollups = [e for e in events if e["leg_id"] is None]
    assert rollups[-1]["to"] == view["status"], "every change of the referral's status has its event"
