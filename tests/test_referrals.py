"""Referrals over HTTP: creation with consent, idempotency, leg moves, events, lists, personal data, re-match,
feedback into the engine, and the create-key command. Runs on a private copy of the synthetic demo network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from conftest import DATA_DIR, assert_error_shape
from matcher.reference import load_reference
from matcher.engine.snapshot import build_snapshot
from matcher.store import directory, history, keys, open_db

DESK, OTHER_DESK = "desk-TH-50", "desk-TH-57"
CONSENT = {"given": True, "by": "สมศรี ทดสอบ", "at": "2025-03-01T10:30:00+07:00",
           "scope": "share_contact_with_bundle_members"}
CONTACT = {"name": "สมศรี ทดสอบ", "phone": "081-234-5678", "email": "somsri@example.com"}
TAX_ID = "1234567890121"  # a made-up id with a valid check digit


def agencies_offering(db, category: str, province: str = "TH-50") -> list[str]:
    rows, _ = directory.list_members(db, "agency", province=province, category=category, limit=50)
    return [r["id"] for r in rows]


@dataclass
class World:
    """A demo network copy with keys for every kind of caller and three Chiang Mai agencies:
    ``a`` offers gmp_haccp and fda_registration, ``b`` and ``c`` offer loan."""

    app: object
    client: object
    db: object
    a: str
    b: str
    c: str
    keys: dict

    def headers(self, who: str | None, **extra) -> dict:
        out = dict(extra)
        if who == "bad":
            out["Authorization"] = "Bearer rk_this-is-not-a-real-key-at-all-000000000000"
        elif who:
            out["Authorization"] = f"Bearer {self.keys[who]}"
        return out

    def body(self, **over) -> dict:
        body = {"enterprise": {"name": "ร้านน้ำพริกแม่ดี (ทดสอบ)", "province": "เชียงใหม่", "sector": "food",
                               "contact": dict(CONTACT), "tax_id": TAX_ID},
                "needs": ["gmp_haccp", "fda_registration", "loan"], "text": "อยากขอ อย. และ GMP และเงินกู้",
                "assignment": {"gmp_haccp": self.a, "fda_registration": self.a, "loan": self.b},
                "consent": dict(CONSENT)}
        body.update(over)
        return body

    def create(self, who: str = "desk", **over) -> dict:
        response = self.client.post("/api/v1/referrals", json=self.body(**over), headers=self.headers(who))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def move(self, who: str, referral_id: int, leg_id: int, **body):
        return self.client.post(f"/api/v1/referrals/{referral_id}/legs/{leg_id}", json=body,
                                headers=self.headers(who))

    def leg_of(self, referral: dict, member: str) -> dict:
        return next(leg for leg in referral["legs"] if leg["member"] == member)

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def world(app, db_path):
    db = open_db(db_path)
    a = agencies_offering(db, "gmp_haccp")[0]
    assert a in agencies_offering(db, "fda_registration")
    b, c = [m for m in agencies_offering(db, "loan") if m != a][:2]
    outsider = next(m for m in agencies_offering(db, "loan", "TH-57") if m not in (a, b, c))
    made = {"desk": keys.create_key(db, role="desk", desk=DESK), "other_desk": keys.create_key(db, role="desk",
                                                                                               desk=OTHER_DESK),
            "member_a": keys.create_key(db, role="member", member_id=a),
            "member_b": keys.create_key(db, role="member", member_id=b),
            "member_c": keys.create_key(db, role="member", member_id=c),
            "outsider": keys.create_key(db, role="member", member_id=outsider),
            "analyst": keys.create_key(db, role="analyst", name="analyst-1"),
            "admin": keys.create_key(db, role="admin", name="root")}
    yield World(app=app, client=app.test_client(), db=db, a=a, b=b, c=c,
                keys={k: v["key"] for k, v in made.items()})
    db.close()


# -- create ------------------------------------------------------------------------------------------

def test_create_makes_one_leg_per_member_and_plan_step_with_events(world):
    created = world.create()
    assert created["status"] == "sent" and created["unassigned"] == []
    assert {(leg["member"], tuple(leg["needs"]), leg["step"], leg["status"]) for leg in created["legs"]} == {
        (world.a, ("gmp_haccp",), 1, "sent"), (world.b, ("loan",), 1, "sent"),
        (world.a, ("fda_registration",), 2, "waiting")}, "GMP before Thai FDA for food: the FDA leg waits"
    events = world.client.get(f"/api/v1/referrals/{created['id']}/events", headers=world.headers("desk")).get_json()
    assert [(e["leg_id"] is None, e["from"], e["to"]) for e in events["items"]] == [
        (True, None, "sent"), (False, None, "sent"), (False, None, "sent"), (False, None, "waiting")]
    assert events["items"][0]["actor"] == DESK and events["items"][0]["data"]["consent"]["given"] is True
    assert "by" not in events["items"][0]["data"]["consent"], "the consenting person's name stays out of events"
    assert len(created["tracking_code"]) == 16


def test_create_answers_201_with_location_and_thai_unescaped(world):
    response = world.client.post("/api/v1/referrals", json=world.body(), headers=world.headers("desk"))
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/v1/referrals/{response.get_json()['id']}"
    detail = world.client.get(response.headers["Location"], headers=world.headers("desk"))
    assert "น้ำพริกแม่ดี" in detail.get_data(as_text=True)


def test_a_need_left_unassigned_is_reported(world):
    created = world.create(assignment={"gmp_haccp": world.a, "loan": world.b})
    assert created["unassigned"] == ["fda_registration"]


def test_consent_refusal_sends_nothing(world):
    before = {t: world.count(t) for t in ("referrals", "enterprises", "cases", "referral_legs", "referral_events")}
    response = world.client.post("/api/v1/referrals", json=world.body(consent={"given": False}),
                                 headers=world.headers("desk"))
    body = assert_error_shape(response, 422, "consent")
    assert "PDPA" in body["error"] and "ความยินยอม" in body["error"]
    missing = world.client.post("/api/v1/referrals", json=world.body(consent=None), headers=world.headers("desk"))
    assert_error_shape(missing, 422, "consent")
    assert before == {t: world.count(t) for t in before}


def test_without_contact_data_no_consent_is_needed(world):
    enterprise = {"name": "ร้านไม่ระบุผู้ติดต่อ", "province": "TH-50", "sector": "food"}
    created = world.create(enterprise=enterprise, consent={"given": False})
    detail = world.client.get(f"/api/v1/referrals/{created['id']}", headers=world.headers("admin")).get_json()
    assert detail["consent"]["given"] is False and detail["enterprise"]["contact"] == {
        "name": None, "phone": None, "email": None}


def test_existing_enterprise_by_id_needs_consent_and_a_desk_that_knows_it(world):
    ent = world.db.execute("SELECT e.id FROM enterprises e JOIN cases c ON c.enterprise_id = e.id "
                           "WHERE c.desk = ? AND e.contact_name IS NOT NULL LIMIT 1", [DESK]).fetchone()[0]
    body = world.body(enterprise=None, enterprise_id=ent)
    assert_error_shape(world.client.post("/api/v1/referrals", json=dict(body, consent=None),
                                         headers=world.headers("desk")), 409, "consent")
    other = world.client.post("/api/v1/referrals", json=body, headers=world.headers("other_desk"))
    assert_error_shape(other, 403, "enterprise_id")
    ok = world.client.post("/api/v1/referrals", json=body, headers=world.headers("desk"))
    assert ok.status_code == 201
    assert_error_shape(world.client.post("/api/v1/referrals", json=dict(body, enterprise_id=99999),
                                         headers=world.headers("desk")), 404, "enterprise_id")


@pytest.mark.parametrize("change, field", [
    ({"needs": ["gmp"]}, "needs"),
    ({"assignment": {}}, "assignment"),
    ({"enterprise_id": 1}, "enterprise"),
    ({"enterprise": {"name": "x", "province": "Atlantis"}}, "enterprise.province"),
    ({"enterprise": {"name": "x", "province": "TH-50", "tax_id": "12345678901ab"}}, "enterprise.tax_id"),
    ({"enterprise": {"name": "x", "province": "TH-50", "contact": {"email": "not-an-email"}}},
     "enterprise.contact.email"),
    ({"consent": {"given": True, "by": "x", "at": "2025-03-01T10:00:00", "scope": "everything"}}, "consent.scope"),
    ({"consent": {"given": True, "by": "x", "at": "yesterday", "scope": "share_contact_with_bundle_members"}},
     "consent.at"),
    ({"consent": {"given": True, "by": "x", "at": "2999-01-01T00:00:00+07:00",
                  "scope": "share_contact_with_bundle_members"}}, "consent.at"),
    ({"consent": {"given": True, "at": "2025-03-01T10:00:00", "scope": "share_contact_with_bundle_members"}},
     "consent.by"),
    ({"surprise": 1}, "surprise"),
    ({"text": "\ud800"}, "text"),
])
def test_bad_input_is_a_clear_422_and_writes_nothing(world, change, field):
    check_refused(world, change, 422, field)


@pytest.mark.parametrize("change, status, field", [
    ({"assignment": {"gmp_haccp": "A9999"}}, 404, "assignment.gmp_haccp"),       # no such member
    ({"assignment": {"gmp_haccp": "LOAN_MEMBER"}}, 409, "assignment.gmp_haccp"),  # it does not offer the need
])
def test_members_the_network_cannot_use_are_refused_and_nothing_is_written(world, change, status, field):
    check_refused(world, change, status, field)


def test_assigned_needs_are_needs_of_the_case(world):
    made = world.create(needs=["gmp_haccp"])
    case = world.client.get(f"/api/v1/referrals/{made['id']}", headers=world.headers("desk")).get_json()["case"]
    assert case["needs"] == ["gmp_haccp", "fda_registration", "loan"] and made["unassigned"] == []


def check_refused(world, change, status, field):
    text = json.dumps(change).replace("LOAN_MEMBER", world.b)
    before = world.count("referrals"), world.count("enterprises")
    response = world.client.post("/api/v1/referrals", data=json.dumps(world.body(**json.loads(text))),
                                 content_type="application/json", headers=world.headers("desk"))
    assert_error_shape(response, status, field)
    assert (world.count("referrals"), world.count("enterprises")) == before


# -- idempotency -------------------------------------------------------------------------------------

def test_retry_with_the_same_key_returns_the_same_referral(world):
    headers = world.headers("desk", **{"Idempotency-Key": "retry-1"})
    first = world.client.post("/api/v1/referrals", json=world.body(), headers=headers)
    second = world.client.post("/api/v1/referrals", json=world.body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.headers["Idempotent-Replayed"] == "false" and second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == second.get_json()
    assert world.count("referrals") == 401


def test_a_key_reused_for_another_body_is_refused(world):
    headers = world.headers("desk", **{"Idempotency-Key": "retry-2"})
    world.client.post("/api/v1/referrals", json=world.body(), headers=headers)
    other = world.client.post("/api/v1/referrals", json=world.body(text="another case"), headers=headers)
    assert_error_shape(other, 422, "Idempotency-Key")


def test_idempotency_keys_belong_to_their_desk(world):
    one = world.client.post("/api/v1/referrals", json=world.body(),
                            headers=world.headers("desk", **{"Idempotency-Key": "same"})).get_json()
    two = world.client.post("/api/v1/referrals", json=world.body(),
                            headers=world.headers("other_desk", **{"Idempotency-Key": "same"})).get_json()
    assert one["id"] != two["id"]


# -- legs --------------------------------------------------------------------------------------------

def leg_for(world, referral_id: int, need: str) -> dict:
    detail = world.client.get(f"/api/v1/referrals/{referral_id}", headers=world.headers("admin")).get_json()
    return next(leg for leg in detail["legs"] if need in leg["needs"])


def complete(world, who: str, referral_id: int, leg_id: int, value: float = 100000):
    for status in ("accepted", "in_progress"):
        assert world.move(who, referral_id, leg_id, status=status).status_code == 200
    return world.move(who, referral_id, leg_id, status="completed", value_baht=value, note="สำเร็จ").get_json()


def test_decline_one_leg_and_complete_the_others_never_reads_completed(world):
    ref = world.create()
    gmp, loan = leg_for(world, ref["id"], "gmp_haccp"), leg_for(world, ref["id"], "loan")
    assert world.move("member_a", ref["id"], gmp["id"], status="accepted").get_json()["status"] == "in_progress"
    world.move("member_a", ref["id"], gmp["id"], status="in_progress")
    done = world.move("member_a", ref["id"], gmp["id"], status="completed", value_baht=250000,
                      note="ได้ใบรับรอง GMP แล้ว").get_json()
    assert done["leg"]["status"] == "completed" and done["leg"]["value_baht"] == 250000.0
    fda = leg_for(world, ref["id"], "fda_registration")
    assert done["released"] == [fda["id"]] and fda["status"] == "sent", "GMP done: the FDA leg is released"
    declined = world.move("member_b", ref["id"], loan["id"], status="declined", reason="no_capacity").get_json()
    assert declined["leg"]["decline_reason"] == "no_capacity" and declined["status"] == "needs_action"
    final = complete(world, "member_a", ref["id"], fda["id"])
    assert final["status"] == "needs_action", "a declined need that is not replaced is not completed"
    detail = world.client.get(f"/api/v1/referrals/{ref['id']}", headers=world.headers("desk")).get_json()
    assert {n["need"]: (n["status"], n["detail"]) for n in detail["needs"]} == {
        "gmp_haccp": ("met", None), "fda_registration": ("met", None), "loan": ("needs_action", "declined")}
    closed = world.client.post(f"/api/v1/referrals/{ref['id']}/needs/loan/close", headers=world.headers("desk"),
                               json={"reason": "enterprise_withdrew", "note": "ผู้ประกอบการขอยกเลิกเรื่องสินเชื่อ"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed_partly_met"
    assert closed.get_json()["unmet"] == ["loan"]
    reopened = world.client.post(f"/api/v1/referrals/{ref['id']}/needs/loan/reopen", headers=world.headers("desk"))
    assert reopened.get_json()["status"] == "needs_action"
    admin = world.client.get("/api/v1/referrals?status=completed&limit=500", headers=world.headers("admin"))
    assert ref["id"] not in {i["id"] for i in admin.get_json()["items"]}


def test_a_replacement_leg_completes_the_case(world):
    ref = world.create()
    loan = leg_for(world, ref["id"], "loan")
    world.move("member_b", ref["id"], loan["id"], status="declined", reason="no_capacity")
    sent = world.client.post(f"/api/v1/referrals/{ref['id']}/rematch", headers=world.headers("desk"),
                             json={"leg_id": loan["id"], "assignment": {"loan": world.c}}).get_json()
    complete(world, "member_c", ref["id"], sent["legs"][0]["id"])
    complete(world, "member_a", ref["id"], leg_for(world, ref["id"], "gmp_haccp")["id"])
    assert complete(world, "member_a", ref["id"], leg_for(world, ref["id"], "fda_registration")["id"])[
        "status"] == "completed"


def test_a_need_closed_as_met_elsewhere_releases_the_next_step(world):
    ref = world.create()
    fda = leg_for(world, ref["id"], "fda_registration")
    assert world.move("member_a", ref["id"], fda["id"], status="accepted").status_code == 409, "it waits for GMP"
    out = world.client.post(f"/api/v1/referrals/{ref['id']}/needs/gmp_haccp/close", headers=world.headers("desk"),
                            json={"reason": "met_elsewhere", "note": "มีใบรับรอง GMP จากที่อื่นแล้ว"}).get_json()
    legs = {leg["id"]: leg["status"] for leg in out["legs"]}
    assert legs[fda["id"]] == "sent", "the FDA leg goes ahead"
    assert legs[leg_for(world, ref["id"], "gmp_haccp")["id"]] == "withdrawn", "the GMP leg is no longer needed"


@pytest.mark.parametrize("body, status, field", [
    ({"reason": "bored"}, 422, "reason"), ({"reason": "other"}, 422, "note"), ({}, 422, "reason")])
def test_closing_a_need_is_checked(world, body, status, field):
    ref = world.create()
    response = world.client.post(f"/api/v1/referrals/{ref['id']}/needs/loan/close", json=body,
                                 headers=world.headers("desk"))
    assert_error_shape(response, status, field)
    missing = world.client.post(f"/api/v1/referrals/{ref['id']}/needs/halal_cert/close",
                                json={"reason": "not_needed"}, headers=world.headers("desk"))
    assert_error_shape(missing, 404, "need")


def test_satisfaction_is_recorded_once_the_case_is_closed(world):
    ref = world.create(needs=["loan"], assignment={"loan": world.b})
    url = f"/api/v1/referrals/{ref['id']}/satisfaction"
    assert_error_shape(world.client.post(url, json={"score": 5}, headers=world.headers("desk")), 409, "score")
    complete(world, "member_b", ref["id"], ref["legs"][0]["id"])
    assert_error_shape(world.client.post(url, json={"score": 6}, headers=world.headers("desk")), 422, "score")
    ok = world.client.post(url, json={"score": 4, "note": "พอใจ ได้เงินกู้ตามที่ขอ"}, headers=world.headers("desk"))
    assert ok.status_code == 200 and ok.get_json()["satisfaction"]["score"] == 4
    detail = world.client.get(f"/api/v1/referrals/{ref['id']}", headers=world.headers("desk")).get_json()
    assert detail["satisfaction"]["score"] == 4 and detail["satisfaction"]["note"] == "พอใจ ได้เงินกู้ตามที่ขอ"


@pytest.mark.parametrize("body, status, field", [
    ({"status": "completed", "value_baht": 1, "note": "x"}, 409, "status"),
    ({"status": "finished"}, 422, "status"),
    ({"status": "declined"}, 422, "reason"),
    ({"status": "declined", "reason": "busy"}, 422, "reason"),
    ({"status": "declined", "reason": "other"}, 422, "note"),
    ({"status": "accepted", "reason": "no_capacity"}, 422, "reason"),
    ({"status": "accepted", "value_baht": 5}, 422, "value_baht"),
])
def test_leg_moves_are_checked(world, body, status, field):
    ref = world.create()
    response = world.move("member_a", ref["id"], world.leg_of(ref, world.a)["id"], **body)
    error = assert_error_shape(response, status, field)
    if status == 409:
        assert error["errors"][0]["allowed"] == ["accepted", "declined"] and "accepted, declined" in error["error"]


def test_a_completion_needs_value_and_note(world):
    ref = world.create()
    leg = world.leg_of(ref, world.a)["id"]
    world.move("member_a", ref["id"], leg, status="accepted")
    world.move("member_a", ref["id"], leg, status="in_progress")
    assert_error_shape(world.move("member_a", ref["id"], leg, status="completed", note="x"), 422, "value_baht")
    assert_error_shape(world.move("member_a", ref["id"], leg, status="completed", value_baht=10), 422, "note")
    assert_error_shape(world.move("member_a", ref["id"], leg, status="completed", value_baht=-1, note="x"), 422,
                       "value_baht")


def test_a_final_leg_names_no_next_state(world):
    ref = world.create()
    leg = world.leg_of(ref, world.b)["id"]
    world.move("member_b", ref["id"], leg, status="declined", reason="out_of_area")
    error = assert_error_shape(world.move("member_b", ref["id"], leg, status="accepted"), 409, "status")
    assert error["errors"][0]["allowed"] == [] and "rematch" in error["error"]


def test_unknown_referral_or_leg_is_404(world):
    ref = world.create()
    assert_error_shape(world.client.get("/api/v1/referrals/99999", headers=world.headers("admin")), 404)
    assert_error_shape(world.move("admin", ref["id"], 1, status="accepted"), 404, "leg_id")


def test_events_replay_to_the_current_state_and_cannot_be_edited(world):
    import sqlite3
    ref = world.create()
    leg = world.leg_of(ref, world.a)["id"]
    for body in ({"status": "accepted"}, {"status": "in_progress"},
                 {"status": "closed_unresolved", "note": "ผู้ประกอบการยกเลิก"}):
        world.move("member_a", ref["id"], leg, **body)
    world.move("member_b", ref["id"], world.leg_of(ref, world.b)["id"], status="declined", reason="no_capacity")
    events = world.client.get(f"/api/v1/referrals/{ref['id']}/events", headers=world.headers("admin")).get_json()
    state, status = {}, None
    for event in events["items"]:
        if event["leg_id"] is None and event["data"].get("event") in ("created", "status_rollup"):
            assert event["from"] == status
            status = event["to"]
        else:
            assert state.get(event["leg_id"]) == event["from"]
            state[event["leg_id"]] = event["to"]
    detail = world.client.get(f"/api/v1/referrals/{ref['id']}", headers=world.headers("admin")).get_json()
    assert state == {leg["id"]: leg["status"] for leg in detail["legs"]}
    assert status == detail["status"] == "needs_action", "an unresolved GMP leg and a declined loan need action"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        world.db.execute("UPDATE referral_events SET actor = 'x' WHERE referral_id = ?", [ref["id"]])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        world.db.execute("DELETE FROM referral_events WHERE referral_id = ?", [ref["id"]])


# -- lists -------------------------------------------------------------------------------------------

def test_list_filters_and_pages(world):
    mine = world.create()
    admin = world.headers("admin")
    everything = world.client.get("/api/v1/referrals?limit=500", headers=admin).get_json()
    assert everything["total"] == 401 and everything["items"][0]["id"] == mine["id"]
    assert sum(everything["summary"]["referrals_by_status"].values()) == 401
    completed = world.client.get("/api/v1/referrals?status=completed&limit=500", headers=admin).get_json()
    assert completed["total"] == 177 and {i["status"] for i in completed["items"]} == {"completed"}
    thai = world.client.get("/api/v1/referrals?province=เชียงใหม่&limit=500", headers=admin).get_json()
    assert thai["total"] > 1 and {i["province"] for i in thai["items"]} == {"TH-50"}
    member = world.client.get(f"/api/v1/referrals?member={world.a}&limit=500", headers=admin).get_json()
    assert all(any(leg["member"] == world.a for leg in i["legs"]) for i in member["items"])
    dated = world.client.get("/api/v1/referrals?from=2017-03-01&to=2017-03-31&limit=500", headers=admin).get_json()
    assert dated["total"] > 0 and all(i["created_at"].startswith("2017-03") for i in dated["items"])
    page = world.client.get("/api/v1/referrals?limit=10&offset=10", headers=admin).get_json()
    assert [i["id"] for i in page["items"]] == [i["id"] for i in everything["items"][10:20]]


@pytest.mark.parametrize("query, field", [("status=done", "status"), ("province=Atlantis", "province"),
                                          ("from=2018-13-01", "from"),
                                          ("limit=0", "limit"), ("offset=-1", "offset"),
                                          ("offset=974693531388250685440", "offset")])
def test_bad_list_filters(world, query, field):
    assert_error_shape(world.client.get(f"/api/v1/referrals?{query}", headers=world.headers("admin")), 422, field)


def test_a_date_range_that_ends_before_it_starts_matches_nothing(world):
    listed = world.client.get("/api/v1/referrals?from=2018-02-01&to=2018-01-01", headers=world.headers("admin"))
    assert listed.status_code == 200 and listed.get_json()["total"] == 0


def test_lists_are_scoped_by_role(world):
    mine = world.create()
    desk = world.client.get("/api/v1/referrals?limit=500", headers=world.headers("desk")).get_json()
    assert desk["total"] > 1 and {i["desk"] for i in desk["items"]} == {DESK}
    other = world.client.get("/api/v1/referrals?limit=500", headers=world.headers("other_desk")).get_json()
    assert mine["id"] not in {i["id"] for i in other["items"]}
    member = world.client.get("/api/v1/referrals?limit=500", headers=world.headers("member_b")).get_json()
    assert mine["id"] in {i["id"] for i in member["items"]}
    assert all([leg["member"] for leg in i["legs"]] == [world.b] for i in member["items"])
    assert_error_shape(world.client.get(f"/api/v1/referrals?member={world.a}", headers=world.headers("member_b")),
                       403, "member")


def test_analysts_get_no_identity_and_no_personal_data(world):
    world.create()
    response = world.client.get("/api/v1/referrals?limit=500", headers=world.headers("analyst"))
    body, text = response.get_json(), response.get_data(as_text=True)
    assert body["total"] == 401 and "enterprise" not in body["items"][0]
    for secret in (CONTACT["name"], CONTACT["phone"], CONTACT["email"], TAX_ID, "น้ำพริกแม่ดี", "contact"):
        assert secret not in text
    assert body["summary"]["value_baht_completed"] > 0


# -- personal data -----------------------------------------------------------------------------------

def test_personal_fields_by_role_and_every_read_is_logged(world):
    ref = world.create()
    url = f"/api/v1/referrals/{ref['id']}"
    desk = world.client.get(url, headers=world.headers("desk")).get_json()
    assert desk["enterprise"]["contact"] == CONTACT and desk["enterprise"]["tax_id"] == TAX_ID
    assert desk["consent"]["by"] == CONSENT["by"]
    member = world.client.get(url, headers=world.headers("member_a")).get_json()
    assert member["enterprise"]["contact"] == CONTACT, "consented: the bundle's members get the contact"
    assert "tax_id" not in member["enterprise"] and "by" not in member["consent"], "outside the consent scope"
    own = [leg for leg in member["legs"] if leg["member"] == world.a]
    other = [leg for leg in member["legs"] if leg["member"] != world.a]
    assert len(own) == 2 and own[0]["note"] is None, "its own legs in full"
    assert [set(leg) for leg in other] == [{"id", "member", "needs", "step", "status"}], "the others as the plan"
    assert "tracking_code" not in member and "satisfaction" not in member
    assert_error_shape(world.client.get(url, headers=world.headers("outsider")), 403, "referral_id")
    assert_error_shape(world.client.get(url, headers=world.headers("analyst")), 403, "role")
    log = world.client.get(f"/api/v1/personal-data-reads?referral_id={ref['id']}",
                           headers=world.headers("admin")).get_json()
    assert [(row["actor"], row["role"]) for row in log["items"]] == [(world.a, "member"), (DESK, "desk")]
    assert "enterprise.tax_id" in log["items"][1]["fields"] and "enterprise.tax_id" not in log["items"][0]["fields"]
    assert log["items"][0]["key_id"] and log["items"][0]["action"] == f"GET {url}"


def test_a_tax_id_scope_shares_the_tax_id_with_members(world):
    ref = world.create(consent=dict(CONSENT, scope="share_contact_and_tax_id_with_bundle_members"))
    member = world.client.get(f"/api/v1/referrals/{ref['id']}", headers=world.headers("member_a")).get_json()
    assert member["enterprise"]["tax_id"] == TAX_ID


def test_reads_without_personal_fields_are_not_logged(world):
    ref = world.create(enterprise={"name": "ร้านไม่มีผู้ติดต่อ", "province": "TH-50"}, consent=None)
    world.client.get(f"/api/v1/referrals/{ref['id']}", headers=world.headers("desk"))
    world.client.get("/api/v1/referrals", headers=world.headers("desk"))
    assert world.count("personal_data_reads") == 0


# -- re-match ----------------------------------------------------------------------------------------

def test_rematch_proposes_without_decliners_then_sends_a_linked_leg(world):
    ref = world.create()
    declined = world.leg_of(ref, world.b)["id"]
    world.move("member_b", ref["id"], declined, status="declined", reason="no_capacity")
    url = f"/api/v1/referrals/{ref['id']}/rematch"
    proposed = world.client.post(url, json={"leg_id": declined}, headers=world.headers("desk"))
    assert proposed.status_code == 200, proposed.get_json()
    body = proposed.get_json()
    assert body["exclude"] == [world.b] and body["stay"] == [world.a] and body["needs"] == ["loan"]
    members = {m["id"] for bundle in body["proposals"]["bundles"] for m in bundle["members"]}
    assert members and world.b not in members
    assert_error_shape(world.client.post(url, json={"leg_id": declined, "assignment": {"loan": world.b}},
                                         headers=world.headers("desk")), 409, "assignment.loan")
    sent = world.client.post(url, json={"leg_id": declined, "assignment": {"loan": world.c}},
                             headers=world.headers("desk"))
    assert sent.status_code == 201
    new_leg = sent.get_json()["legs"][0]
    assert new_leg["member"] == world.c and new_leg["status"] == "sent" and sent.get_json()["status"] == "sent"
    detail = world.client.get(f"/api/v1/referrals/{ref['id']}", headers=world.headers("admin")).get_json()
    assert next(x for x in detail["legs"] if x["id"] == new_leg["id"])["replaces_leg_id"] == declined
    assert detail["uncovered"] == []
    again = world.client.post(url, json={"leg_id": declined}, headers=world.headers("desk"))
    assert_error_shape(again, 409, "leg_id")
    assert world.move("member_c", ref["id"], new_leg["id"], status="accepted").status_code == 200


def test_only_a_declined_leg_is_rematched(world):
    ref = world.create()
    response = world.client.post(f"/api/v1/referrals/{ref['id']}/rematch",
                                 json={"leg_id": world.leg_of(ref, world.b)["id"]}, headers=world.headers("desk"))
    assert_error_shape(response, 409, "leg_id")


# -- outcomes feed the engine ------------------------------------------------------------------------

def test_outcomes_update_member_statistics_and_the_collaboration_graph(world):
    ref = load_reference(DATA_DIR)
    before = build_snapshot(world.db, ref)
    created = world.create(assignment={"gmp_haccp": world.a, "loan": world.b}, needs=["gmp_haccp", "loan"])
    for member, leg in ((world.a, world.leg_of(created, world.a)), (world.b, world.leg_of(created, world.b))):
        who = "member_a" if member == world.a else "member_b"
        world.move(who, created["id"], leg["id"], status="accepted")
        world.move(who, created["id"], leg["id"], status="in_progress")
        world.move(who, created["id"], leg["id"], status="completed", value_baht=100000, note="สำเร็จ")
    after = build_snapshot(world.db, ref)
    i, j = after.member_index[world.a], after.category_index["gmp_haccp"]
    assert after.version > before.version
    assert after.completed[i, j] == before.completed[i, j] + 1
    assert after.value_baht[i, j] == before.value_baht[i, j] + 100000
    a, b = after.member_index[world.a], after.member_index[world.b]
    was = [before.collaboration.joint[a, b], before.collaboration.completed[a, b]]
    now = [after.collaboration.joint[a, b], after.collaboration.completed[a, b]]
    assert now == [was[0] + 1, was[1] + 1]
    outcomes = [o for o in history.leg_outcomes(world.db) if o["referral_id"] == created["id"]]
    assert {(o["member_id"], o["status"]) for o in outcomes} == {(world.a, "completed"), (world.b, "completed")}


def test_a_sent_leg_counts_as_load_until_it_is_declined(world):
    ref = load_reference(DATA_DIR)
    load = build_snapshot(world.db, ref).load[build_snapshot(world.db, ref).member_index[world.b]]
    created = world.create()
    snap = build_snapshot(world.db, ref)
    assert snap.load[snap.member_index[world.b]] == load + 1
    world.move("member_b", created["id"], world.leg_of(created, world.b)["id"], status="declined",
               reason="no_capacity")
    snap = build_snapshot(world.db, ref)
    assert snap.load[snap.member_index[world.b]] == load
    assert snap.finished[snap.member_index[world.b], snap.category_index["loan"]] >= 1


# -- keys --------------------------------------------------------------------------------------------

def test_create_key_prints_the_key_alone_on_its_last_line(app, runner, db_path):
    result = runner.invoke(args=["create-key", "--role", "desk", "--desk", "desk-TH-65"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("rk_") and " " not in key and len(key) > 40
    client = app.test_client()
    assert client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    db = open_db(db_path)
    stored = db.execute("SELECT prefix, key_hash, role, desk FROM api_keys").fetchall()
    assert stored == [(key[:12], keys.hash_key(key), "desk", "desk-TH-65")] and key not in str(stored)
    listed = runner.invoke(args=["list-keys"])
    assert key not in listed.output and '"desk-TH-65"' in listed.output
    assert runner.invoke(args=["revoke-key", "1"]).exit_code == 0
    assert_error_shape(client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {key}"}), 401)
    db.close()


@pytest.mark.parametrize("args, message", [
    (["--role", "member"], "--member"), (["--role", "desk"], "--desk"),
    (["--role", "member", "--member", "A9999"], "A9999"), (["--role", "boss"], "boss")])
def test_create_key_explains_bad_options(runner, args, message):
    result = runner.invoke(args=["create-key", *args])
    assert result.exit_code != 0 and message in result.output


def test_openapi_documents_the_bearer_scheme_on_protected_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["ApiKey"][
            "description"]}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path.startswith(("/api/v1/referrals", "/api/v1/personal-data-reads")):
                assert operation["security"] == [{"ApiKey": []}], (method, path)
                assert "401" in operation["responses"] and "403" in operation["responses"]
    assert "security" not in spec["paths"]["/api/v1/match"]["post"]
    assert "Idempotency-Key" in json.dumps(spec["paths"]["/api/v1/referrals"]["post"])
