"""The lifecycle as a state machine: properties of its tables and of the roll-up, then random sequences of
moves, closures and re-openings played through the service on a real SQLite file against a model of the
machine (including the release of a leg that waits for its prerequisite), with the history replayed.
"""

from __future__ import annotations

import shutil

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA_DIR
from matcher import lifecycle
from matcher.engine.snapshot import build_snapshot
from matcher.errors import Conflict
from matcher.lifecycle import (
    DECLINE_REASONS,
    FINAL,
    LEG_STATUSES,
    OPEN,
    REFERRAL_STATUSES,
    SYSTEM_TRANSITIONS,
    TRANSITIONS,
)
from matcher.reference import load_reference
from matcher.referrals import followup
from matcher.referrals import service as referrals
from matcher.store import directory, open_db

ADMIN = {"role": "admin", "member_id": None, "desk": "desk-TH-50", "key_id": None, "name": "property-test"}
statuses = st.sampled_from(LEG_STATUSES)


def test_the_machine_is_a_dag_from_waiting_to_the_final_states():
    G = nx.DiGraph([(a, b) for table in (TRANSITIONS, SYSTEM_TRANSITIONS) for a, nexts in table.items()
                    for b in nexts])
    assert nx.is_directed_acyclic_graph(G)
    assert set(nx.descendants(G, "waiting")) == set(LEG_STATUSES) - {"waiting"}
    assert {s for s in LEG_STATUSES if not TRANSITIONS[s] and s not in SYSTEM_TRANSITIONS} == set(FINAL)
    assert set(OPEN) | set(FINAL) == set(LEG_STATUSES) and not set(OPEN) & set(FINAL)
    assert not any(lifecycle.is_allowed("waiting", "sent") for _ in [0]), "only the store releases a leg"


# -- the roll-up -------------------------------------------------------------------------------------------

NEEDS = ("gmp_haccp", "fda_registration", "loan", "packaging_design")


@st.composite
def cases(draw):
    """A case: needs (some closed by the desk) and legs (each holding some needs, in any status)."""
    needs = draw(st.lists(st.sampled_from(NEEDS), min_size=1, max_size=4, unique=True))
    closed = draw(st.lists(st.sampled_from(needs), unique=True, max_size=len(needs)))
    rows = [{"need": n, "prerequisites": [], "closed_reason": draw(st.sampled_from(lifecycle.CLOSE_REASONS))
             if n in closed else None} for n in needs]
    legs = []
    for i in range(draw(st.integers(0, 4))):
        held = draw(st.lists(st.sampled_from(needs), min_size=1, max_size=2, unique=True))
        legs.append({"id": i + 1, "needs": held, "status": draw(statuses),
                     "overdue": draw(st.sampled_from((None, "not_accepted", "past_due")))})
    return rows, legs


@given(cases())
def test_a_case_is_completed_exactly_when_every_need_is_met(case):
    rows, legs = case
    states, status = lifecycle.roll_up(rows, legs)
    assert status in REFERRAL_STATUSES
    current = lifecycle.current_legs(legs)
    every_met = all(not r["closed_reason"] and r["need"] in current and current[r["need"]]["status"] == "completed"
                    for r in rows)
    assert (status == "completed") == every_met
    if status in lifecycle.CLOSED_REFERRAL_STATUSES and status != "completed":
        assert lifecycle.unmet(states), "a closed, partly met case names what was not met"


@given(cases())
def test_a_declined_leg_that_is_not_replaced_makes_the_case_need_action(case):
    rows, legs = case
    current = lifecycle.current_legs(legs)
    declined = [r for r in rows if not r["closed_reason"] and r["need"] in current
                and current[r["need"]]["status"] == "declined"]
    status = lifecycle.roll_up(rows, legs)[1]
    if declined:
        assert status == "needs_action"
    assert status != "completed" or not declined


def test_decline_one_leg_and_complete_the_others_never_reads_completed():
    rows = [{"need": n, "prerequisites": []} for n in ("packaging_design", "market_linkage", "gmp_haccp")]
    legs = [{"id": 1, "needs": ["packaging_design", "market_linkage"], "status": "declined"},
            {"id": 2, "needs": ["gmp_haccp"], "status": "completed"}]
    states, status = lifecycle.roll_up(rows, legs)
    assert status == "needs_action"
    assert {n: s["status"] for n, s in states.items()} == {
        "packaging_design": "needs_action", "market_linkage": "needs_action", "gmp_haccp": "met"}
    rows[0]["closed_reason"] = rows[1]["closed_reason"] = "enterprise_withdrew"
    states, status = lifecycle.roll_up(rows, legs)
    assert status == "closed_partly_met" and lifecycle.unmet(states) == ["packaging_design", "market_linkage"]


@pytest.mark.parametrize("sent_at, now, overdue", [
    ("2026-11-20T10:00:00+07:00", "2026-11-25T09:59:00+07:00", False),  # Fri + 3 working days = Wed 10:00
    ("2026-11-20T10:00:00+07:00", "2026-11-25T10:01:00+07:00", True),
    ("2026-12-03T10:00:00+07:00", "2026-12-08T10:01:00+07:00", True),  # Thu: Fri, Mon, Tue (5 Dec is a Saturday)
    ("2026-12-09T10:00:00+07:00", "2026-12-14T10:01:00+07:00", False),  # Wed: Thu 10 Dec is Constitution Day
    ("2026-12-09T10:00:00+07:00", "2026-12-15T10:01:00+07:00", True),   # so Fri, Mon, Tue
])
def test_a_leg_is_not_accepted_in_time_after_three_working_days(ref, sent_at, now, overdue):
    from matcher.clock import parse
    leg = {"status": "sent", "sent_at": sent_at, "needs": ["loan"]}
    kind = lifecycle.overdue_kind(leg, parse(now), holidays=ref.holidays, durations=ref.expected_days)
    assert (kind == "not_accepted") == overdue


def test_an_accepted_leg_is_past_due_after_its_categorys_expected_days(ref):
    from matcher.clock import parse
    leg = {"status": "in_progress", "accepted_at": "2026-01-01T09:00:00+07:00", "needs": ["loan", "gmp_haccp"]}
    days = max(ref.expected_days["loan"], ref.expected_days["gmp_haccp"])
    assert days == ref.expected_days["gmp_haccp"] > ref.expected_days["loan"]
    due = lifecycle.due_by(leg, ref.expected_days)
    assert lifecycle.overdue_kind(leg, due, durations=ref.expected_days) is None
    assert lifecycle.overdue_kind(leg, parse("2026-12-31T09:00:00+07:00"), durations=ref.expected_days) == "past_due"


# -- random moves through the service -------------------------------------------------------------------

def payload(status: str, reason: str, value: float) -> dict:
    """A body that is valid for ``status`` (so only the transition decides)."""
    if status == "declined":
        return {"status": status, "reason": reason, "note": "เหตุผลอื่น" if reason == "other" else None}
    if status == "completed":
        return {"status": status, "value_baht": value, "note": "สำเร็จตามแผน"}
    return {"status": status}


actions = st.lists(st.one_of(
    st.tuples(st.just("move"), st.integers(0, 2), statuses, st.sampled_from(DECLINE_REASONS),
              st.floats(0, 1e7, allow_nan=False)),
    st.tuples(st.just("close"), st.sampled_from(("gmp_haccp", "fda_registration", "loan")),
              st.sampled_from(lifecycle.CLOSE_REASONS)),
    st.tuples(st.just("reopen"), st.sampled_from(("gmp_haccp", "fda_registration", "loan")))),
    min_size=1, max_size=14)


@pytest.fixture(scope="module")
def store(demo_db_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("lifecycle") / "rismep.db"
    shutil.copy(demo_db_template, path)
    db = open_db(path)
    snapshot = build_snapshot(db, load_reference(DATA_DIR))
    first = next(m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="gmp_haccp")[0]
                 if m["id"] in {x["id"] for x in directory.list_members(db, "agency", province="TH-50",
                                                                         category="fda_registration")[0]})
    second = next(m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="loan")[0]
                  if m["id"] != first)
    yield db, snapshot, {"gmp_haccp": first, "fda_registration": first, "loan": second}
    db.close()


class Model:
    """The machine as the test understands it: legs, closures, and the release of the waiting FDA leg."""

    def __init__(self, legs):
        self.legs = {leg["id"]: dict(leg) for leg in legs}
        self.closed: dict[str, str] = {}
        self.history = {leg["id"]: [leg["status"]] for leg in legs}

    def rows(self):
        return [{"need": n, "prerequisites": ["gmp_haccp"] if n == "fda_registration" else [],
                 "closed_reason": self.closed.get(n)} for n in ("gmp_haccp", "fda_registration", "loan")]

    def settle(self):
        """Withdraw open legs whose needs are all closed; release the FDA leg once GMP is done."""
        for leg in self.legs.values():
            if leg["status"] in OPEN and set(leg["needs"]) <= set(self.closed):
                self.set(leg, "withdrawn")
        states = lifecycle.need_states(self.rows(), self.legs.values())
        for leg in lifecycle.ready_legs(self.rows(), self.legs.values(), states):
            self.set(self.legs[leg["id"]], "sent")

    def set(self, leg, status):
        leg["status"] = status
        self.history[leg["id"]].append(status)

    def status(self):
        return lifecycle.roll_up(self.rows(), self.legs.values())[1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions)
def test_the_service_follows_the_machine_and_the_history_replays(store, sequence):
    db, snapshot, assignment = store
    created = referrals.create_referral(db, snapshot, {
        "enterprise": {"name": "ทดสอบสถานะ (ไม่มีข้อมูลติดต่อ)", "province": "TH-50", "sector": "food"},
        "needs": list(assignment), "assignment": assignment}, ADMIN)
    legs = sorted(created["legs"], key=lambda x: x["id"])
    assert [leg["status"] for leg in legs if leg["needs"] == ["fda_registration"]] == ["waiting"]
    model = Model(legs)
    for action in sequence:
        if action[0] == "move":
            _, which, to, reason, value = action
            leg = model.legs[legs[which]["id"]]
            if lifecycle.is_allowed(leg["status"], to) and not (leg["status"] == "waiting" and to != "declined"):
                referrals.update_leg(db, created["id"], leg["id"], payload(to, reason, value), ADMIN)
                model.set(leg, to)
            else:
                with pytest.raises(Conflict) as error:
                    referrals.update_leg(db, created["id"], leg["id"], payload(to, reason, value), ADMIN)
                assert error.value.allowed == list(TRANSITIONS[leg["status"]])
        elif action[0] == "close":
            _, need, reason = action
            state = lifecycle.need_states(model.rows(), model.legs.values())[need]
            if state["status"] in ("met", "closed_unmet"):
                with pytest.raises(Conflict):
                    followup.close_need(db, created["id"], need, {"reason": reason, "note": "x"}, ADMIN)
            else:
                followup.close_need(db, created["id"], need, {"reason": reason, "note": "x"}, ADMIN)
                model.closed[need] = reason
        else:
            need = action[1]
            if need in model.closed:
                followup.reopen_need(db, created["id"], need, ADMIN)
                del model.closed[need]
            else:
                with pytest.raises(Conflict):
                    followup.reopen_need(db, created["id"], need, ADMIN)
        model.settle()
        view = referrals.get_referral(db, created["id"], ADMIN)
        assert {leg["id"]: leg["status"] for leg in view["legs"]} == {i: x["status"] for i, x in model.legs.items()}
        assert view["status"] == model.status()
    events = referrals.referral_events(db, created["id"], ADMIN)
    for leg_id, path in model.history.items():
        moves = [e for e in events if e["leg_id"] == leg_id and e["from"] != e["to"]]
        assert [e["to"] for e in moves] == path, "every leg change has its event, in order"
    rollups = [e for e in events if e["leg_id"] is None and e["data"].get("event") in ("created", "status_rollup")]
    assert rollups[-1]["to"] == view["status"], "every change of the case's status has its event"
    for before, after in zip(rollups, rollups[1:]):
        assert after["from"] == before["to"]
