"""The access matrix: every referral endpoint x every kind of caller, with the expected status, and the
open read-only endpoints that need no key. One demo-network copy per module; a fresh referral per case.
"""

from __future__ import annotations

import shutil

import pytest

from conftest import DATA_DIR, assert_error_shape
from matcher.referrals import service as referrals
from matcher.engine.snapshot import build_snapshot
from matcher.reference import load_reference
from matcher.store import directory, keys, open_db

DESK, OTHER_DESK = "desk-TH-50", "desk-TH-57"
CALLERS = ("none", "bad_key", "desk", "other_desk", "member_in", "member_out", "analyst", "admin")

# endpoint: (method, path template, body, expected status per caller in CALLERS order)
MATRIX = {
    "list": ("GET", "/api/v1/referrals", None, (401, 401, 200, 200, 200, 200, 200, 200)),
    "create": ("POST", "/api/v1/referrals", "CREATE", (401, 401, 201, 201, 403, 403, 403, 201)),
    "detail": ("GET", "/api/v1/referrals/{rid}", None, (401, 401, 200, 403, 200, 403, 403, 200)),
    "events": ("GET", "/api/v1/referrals/{rid}/events", None, (401, 401, 200, 403, 200, 403, 403, 200)),
    "move_leg": ("POST", "/api/v1/referrals/{rid}/legs/{leg}", {"status": "accepted"},
                 (401, 401, 200, 403, 200, 403, 403, 200)),
    "rematch": ("POST", "/api/v1/referrals/{rid}/rematch", "REMATCH", (401, 401, 200, 403, 403, 403, 403, 200)),
    "read_log": ("GET", "/api/v1/personal-data-reads", None, (401, 401, 403, 403, 403, 403, 403, 200)),
    "close_need": ("POST", "/api/v1/referrals/{rid}/needs/{need}/close", {"reason": "enterprise_withdrew"},
                   (401, 401, 200, 403, 403, 403, 403, 200)),
    # the need is open, so those allowed to re-open it hear 409; the case is open, so no satisfaction yet
    "reopen_need": ("POST", "/api/v1/referrals/{rid}/needs/{need}/reopen", None,
                    (401, 401, 409, 403, 403, 403, 403, 409)),
    "satisfaction": ("POST", "/api/v1/referrals/{rid}/satisfaction", {"score": 4},
                     (401, 401, 409, 403, 403, 403, 403, 409)),
}
OPEN = [("GET", "/api/v1/health"), ("GET", "/api/v1/taxonomy"), ("GET", "/api/v1/provinces"),
        ("GET", "/api/v1/agencies"), ("GET", "/api/v1/agencies/A0001"), ("GET", "/api/v1/consultants"),
        ("GET", "/api/v1/consultants/C0001"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"),
        ("POST", "/api/v1/match")]


class Setting:
    """One app on a private demo copy, keys for every caller, and a way to make a fresh referral."""

    def __init__(self, path):
        from api import create_app
        self.app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test"})
        self.client = self.app.test_client()
        self.db = open_db(path)
        self.snapshot = build_snapshot(self.db, load_reference(DATA_DIR))
        self.a = directory.list_members(self.db, "agency", province="TH-50", category="gmp_haccp")[0][0]["id"]
        self.b = next(m["id"] for m in directory.list_members(self.db, "agency", province="TH-50", category="loan")[0]
                      if m["id"] != self.a)
        outsider = directory.list_members(self.db, "agency", province="TH-57", category="loan")[0][0]["id"]
        made = {"desk": dict(role="desk", desk=DESK), "other_desk": dict(role="desk", desk=OTHER_DESK),
                "member_in": dict(role="member", member_id=self.a),
                "member_out": dict(role="member", member_id=outsider),
                "analyst": dict(role="analyst"), "admin": dict(role="admin", name="root")}
        self.keys = {who: keys.create_key(self.db, **spec)["key"] for who, spec in made.items()}
        self.keys["bad_key"] = "rk_" + "x" * 43

    def headers(self, who: str) -> dict:
        return {} if who == "none" else {"Authorization": f"Bearer {self.keys[who]}"}

    def body(self) -> dict:
        return {"enterprise": {"name": "ร้านทดสอบสิทธิ์", "province": "TH-50", "sector": "food",
                               "contact": {"name": "ทดสอบ", "phone": "081-000-0000"}},
                "needs": ["gmp_haccp", "loan"], "assignment": {"gmp_haccp": self.a, "loan": self.b},
                "consent": {"given": True, "by": "ทดสอบ", "at": "2025-01-01T09:00:00+07:00",
                            "scope": "share_contact_with_bundle_members"}}

    def fresh_referral(self) -> tuple[int, int, int]:
        """(referral id, member_in's leg, the other member's leg, which is declined)."""
        desk = {"role": "desk", "desk": DESK, "member_id": None, "key_id": None, "name": DESK}
        made = referrals.create_referral(self.db, self.snapshot, self.body(), desk)
        leg_a = next(x["id"] for x in made["legs"] if x["member"] == self.a)
        leg_b = next(x["id"] for x in made["legs"] if x["member"] == self.b)
        referrals.update_leg(self.db, made["id"], leg_b, {"status": "declined", "reason": "no_capacity"}, desk)
        return made["id"], leg_a, leg_b


@pytest.fixture(scope="module")
def setting(demo_db_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("access") / "rismep.db"
    shutil.copy(demo_db_template, path)
    s = Setting(path)
    yield s
    s.db.close()


CASES = [(endpoint, who, spec[3][i]) for endpoint, spec in MATRIX.items() for i, who in enumerate(CALLERS)]


@pytest.mark.parametrize("endpoint, who, expected", CASES, ids=[f"{e}-{w}" for e, w, _ in CASES])
def test_access_matrix(setting, endpoint, who, expected):
    method, template, body, _ = MATRIX[endpoint]
    rid, leg_a, leg_b = setting.fresh_referral()
    body = {"CREATE": setting.body(), "REMATCH": {"leg_id": leg_b}}.get(body, body) if isinstance(body, str) else body
    url = template.format(rid=rid, leg=leg_a, need="loan")
    response = setting.client.open(url, method=method, json=body, headers=setting.headers(who))
    if expected >= 400:
        assert_error_shape(response, expected)
        if expected == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert response.status_code == expected, response.get_json()


def test_the_matrix_covers_every_protected_endpoint(setting):
    documented = {(m, t.replace("{rid}", "<referral_id>").replace("{leg}", "<leg_id>").replace("{need}", "<need>"))
                  for m, t, _, _ in MATRIX.values()}
    routed = {(method, rule.rule.replace("<int:", "<")) for rule in setting.app.url_map.iter_rules()
              if rule.rule.startswith(("/api/v1/referrals", "/api/v1/personal-data-reads"))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


@pytest.mark.parametrize("method, path", OPEN)
@pytest.mark.parametrize("who", ["none", "bad_key", "analyst"])
def test_read_only_directory_and_matching_stay_open(setting, method, path, who):
    body = {"needs": ["loan"], "province": "TH-50"} if method == "POST" else None
    response = setting.client.open(path, method=method, json=body, headers=setting.headers(who))
    assert response.status_code == 200


def test_a_member_of_the_referral_cannot_move_another_members_leg(setting):
    rid, leg_a, _ = setting.fresh_referral()
    other_member = keys.create_key(setting.db, role="member", member_id=setting.b)["key"]
    response = setting.client.post(f"/api/v1/referrals/{rid}/legs/{leg_a}", json={"status": "accepted"},
                                   headers={"Authorization": f"Bearer {other_member}"})
    assert_error_shape(response, 403, "leg_id")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "rk_only-the-key", "Bearer rk_short"])
def test_malformed_authorization_is_401(setting, header):
    response = setting.client.get("/api/v1/referrals", headers={"Authorization": header})
    assert_error_shape(response, 401, "Authorization")


def test_a_revoked_key_stops_working(setting):
    made = keys.create_key(setting.db, role="analyst")
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert setting.client.get("/api/v1/referrals", headers=headers).status_code == 200
    keys.revoke_key(setting.db, made["id"])
    assert_error_shape(setting.client.get("/api/v1/referrals", headers=headers), 401)


def test_a_key_is_checked_before_the_body(setting):
    response = setting.client.post("/api/v1/referrals", data="not json", content_type="application/json")
    assert_error_shape(response, 401)


def test_the_service_refuses_a_missing_principal(setting):
    from matcher.errors import Unauthorized
    with pytest.raises(Unauthorized):
        referrals.list_referrals(setting.db, None, {}, load_reference(DATA_DIR))
    with pytest.raises(Unauthorized):
        referrals.get_referral(setting.db, 1, {"role": "superuser"})
