"""Personal data by consent scope everywhere (one policy function for every read and every export), a
masked description without consent, the reader named in the read log on one clock, and text hygiene at the
boundary: control characters refused, Thai normalised, the 13-digit id's check digit verified."""

from __future__ import annotations

import csv
import io
import re

import pytest

from conftest import assert_error_shape
from matcher import accounts
from matcher.store import directory, keys, open_db

TAX_ID = "1234567890121"          # made up, with a valid check digit
WRONG_CHECK_DIGIT = "1234567890122"
CONTACT = {"name": "สมศรี ทดสอบ", "phone": "081-234-5678", "email": "somsri@example.com"}
CONTACT_ONLY = "share_contact_with_bundle_members"
WITH_TAX_ID = "share_contact_and_tax_id_with_bundle_members"
TEXT = "ขายน้ำพริก โทร 089-765-4321 อีเมล owner@example.org เลขบัตร 1-2345-67890-12-1 อยากได้ GMP และเงินกู้"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class World:
    def __init__(self, app, db):
        self.app, self.db, self.client = app, db, app.test_client()
        self.a = directory.list_members(db, "agency", province="TH-50", category="gmp_haccp")[0][0]["id"]
        self.b = next(m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="loan")[0]
                      if m["id"] != self.a)
        spec = {"desk": dict(role="desk", desk="desk-TH-50"), "member": dict(role="member", member_id=self.a),
                "admin": dict(role="admin", name="root"), "analyst": dict(role="analyst")}
        self.keys = {who: keys.create_key(db, **s)["key"] for who, s in spec.items()}

    def headers(self, who):
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def body(self, consent=None, **enterprise):
        return {"enterprise": {"name": "ร้านน้ำพริกทดสอบ", "province": "TH-50", "sector": "food",
                               "contact": dict(CONTACT), "tax_id": TAX_ID, **enterprise},
                "needs": ["gmp_haccp", "loan"], "text": TEXT, "assignment": {"gmp_haccp": self.a, "loan": self.b},
                "consent": consent}

    def create(self, scope=CONTACT_ONLY, given=True, **enterprise) -> int:
        consent = {"given": given, "by": "สมศรี ทดสอบ", "at": "2025-03-01T10:30:00+07:00", "scope": scope}
        body = self.body(consent, **enterprise)
        if not given:  # no consent: the desk refers without contact details, but the text still holds some
            body["enterprise"].pop("contact")
            body["enterprise"].pop("tax_id")
        response = self.client.post("/api/v1/referrals", json=body, headers=self.headers("desk"))
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]


@pytest.fixture
def world(app, db_path):
    db = open_db(db_path)
    yield World(app, db)
    db.close()


def personal_csv(world, referral_id) -> list[dict]:
    response = world.client.get("/api/v1/admin/exports/referrals.csv?personal=1", headers=world.headers("admin"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return [r for r in rows if r["referral_id"] == str(referral_id)]


@pytest.mark.parametrize("scope, tax_id_exported", [(CONTACT_ONLY, False), (WITH_TAX_ID, True)])
def test_the_personal_export_follows_the_consent_scope(world, scope, tax_id_exported):
    rows = personal_csv(world, world.create(scope=scope))
    assert rows and all(r["contact_phone"] == CONTACT["phone"] and r["consent_by"] for r in rows)
    assert all((r["tax_id"] == TAX_ID) is tax_id_exported for r in rows)


def test_the_personal_export_from_the_command_line_follows_the_consent_scope(world, runner, tmp_path):
    referral_id = world.create(scope=CONTACT_ONLY)
    out = tmp_path / "personal.csv"
    result = runner.invoke(args=["export-referrals-csv", str(out), "--personal"])
    assert result.exit_code == 0, result.output
    rows = [r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
            if r["referral_id"] == str(referral_id)]
    assert rows and all(r["contact_email"] == CONTACT["email"] and r["tax_id"] == "" for r in rows)


def test_without_consent_a_member_sees_the_description_with_contacts_and_ids_masked(world):
    referral_id = world.create(given=False)
    member = world.client.get(f"/api/v1/referrals/{referral_id}", headers=world.headers("member")).get_json()
    text = member["case"]["text"]
    for secret in ("089-765-4321", "owner@example.org", "1-2345-67890-12-1"):
        assert secret not in text
    assert "[เบอร์โทรศัพท์ / phone]" in text and "GMP" in text and "น้ำพริก" in text
    desk = world.client.get(f"/api/v1/referrals/{referral_id}", headers=world.headers("desk")).get_json()
    assert desk["case"]["text"] == TEXT


def test_under_the_contact_scope_a_member_sees_contacts_in_the_description_but_not_ids(world):
    referral_id = world.create(scope=CONTACT_ONLY)
    text = world.client.get(f"/api/v1/referrals/{referral_id}", headers=world.headers("member")).get_json()[
        "case"]["text"]
    assert "089-765-4321" in text and "1-2345-67890-12-1" not in text


def test_a_desk_page_read_logs_the_user_on_one_clock(world, db_path):
    referral_id = world.create()
    accounts.create_demo_accounts(world.db)
    client = world.app.test_client()
    token = TOKEN.search(client.get("/desk/signin").get_data(as_text=True)).group(1)
    client.post("/desk/signin", data={"username": "demo-desk", "password": accounts.DEMO_PASSWORD,
                                      "csrf_token": token})
    assert client.get(f"/desk/referrals/{referral_id}").status_code == 200
    log = world.client.get(f"/api/v1/personal-data-reads?referral_id={referral_id}",
                           headers=world.headers("admin")).get_json()["items"]
    user_id = world.db.execute("SELECT id FROM users WHERE username = 'demo-desk'").fetchone()[0]
    assert log[0]["user_id"] == user_id and log[0]["role"] == "desk"
    assert all(row["user_id"] or row["key_id"] for row in log)
    assert all(row["at"].endswith("+07:00") for row in log)


def test_a_consent_time_sent_in_utc_is_stored_in_thailand_time(world):
    consent = {"given": True, "by": "ทดสอบ", "at": "2025-03-01T03:30:00Z", "scope": CONTACT_ONLY}
    response = world.client.post("/api/v1/referrals", json=world.body(consent), headers=world.headers("desk"))
    referral = world.client.get(f"/api/v1/referrals/{response.get_json()['id']}", headers=world.headers("desk"))
    assert referral.get_json()["consent"]["at"] == "2025-03-01T10:30:00+07:00"


@pytest.mark.parametrize("path, value", [("enterprise.name", "ร้าน\x00ทดสอบ"), ("enterprise.contact.name", "สม\x1bศรี"),
                                         ("consent.by", "สมศรี\x07"), ("text", "GMP\x00")])
def test_control_characters_are_refused_and_nothing_is_written(world, path, value):
    body = world.body({"given": True, "by": "ทดสอบ", "at": "2025-03-01T10:30:00+07:00", "scope": CONTACT_ONLY})
    target, *rest = path.split(".")
    holder = body
    for key in [target, *rest][:-1]:
        holder = holder[key]
    holder[path.split(".")[-1]] = value
    before = world.db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    response = world.client.post("/api/v1/referrals", json=body, headers=world.headers("desk"))
    assert "control character" in assert_error_shape(response, 422, path)["error"]
    assert world.db.execute("SELECT count(*) FROM referrals").fetchone()[0] == before


def test_a_decomposed_sara_am_names_the_same_province(world):
    decomposed = "ล\u0e4d\u0e32ปาง"  # ลําปาง typed as nikhahit + sara aa
    response = world.client.post("/api/v1/match", json={"needs": ["loan"], "province": decomposed})
    assert response.status_code == 200 and response.get_json()["province"] == "TH-52"
    referral_id = world.create(province=decomposed, name="ร้านข้าวเกรียบกุ้งน\u0e4d\u0e49\u0e32ใจ")  # nikhahit, tone, sara aa
    stored = world.db.execute("SELECT e.name, e.province FROM referrals r JOIN enterprises e ON e.id = "
                              "r.enterprise_id WHERE r.id = ?", [referral_id]).fetchone()
    assert stored == ("ร้านข้าวเกรียบกุ้งน้ำใจ", "TH-52")


def test_a_tax_id_with_a_wrong_check_digit_is_refused(world):
    body = world.body({"given": True, "by": "ทดสอบ", "at": "2025-03-01T10:30:00+07:00", "scope": WITH_TAX_ID},
                      tax_id=WRONG_CHECK_DIGIT)
    response = world.client.post("/api/v1/referrals", json=body, headers=world.headers("desk"))
    assert "check digit" in assert_error_shape(response, 422, "enterprise.tax_id")["error"]


def test_an_import_with_a_wrong_check_digit_is_reported_on_the_cell(world):
    data = f"external_id,name,province,tax_id\nE-CHECK-1,ร้านทดสอบ,TH-50,{WRONG_CHECK_DIGIT}\n".encode()
    response = world.client.post("/api/v1/admin/import", headers=world.headers("admin"),
                                 data={"file": (io.BytesIO(data), "enterprises.csv"), "dry_run": "true"},
                                 content_type="multipart/form-data")
    problems = [(p["row"], p["column"], p["code"], bool(p["problem_th"])) for p in response.get_json()["problems"]]
    assert (2, "tax_id", "bad_check_digit", True) in problems


def test_the_403_for_a_role_reads_as_one_sentence_per_language(world):
    response = world.client.post("/api/v1/referrals", json=world.body(None), headers=world.headers("analyst"))
    body = assert_error_shape(response, 403, "role")
    assert body["error"] == ("บทบาทนักวิเคราะห์ไม่มีสิทธิ์ส่งต่อบริการ / The analyst role may not create referrals; "
                             "allowed roles: desk, admin.")


# -- the desk records either scope, a 13-digit id, and refuses control characters -------------------------

@pytest.fixture
def desk(world):
    accounts.create_demo_accounts(world.db)
    client = world.app.test_client()
    token = TOKEN.search(client.get("/desk/signin").get_data(as_text=True)).group(1)
    client.post("/desk/signin", data={"username": "demo-desk", "password": accounts.DEMO_PASSWORD, "csrf_token": token})
    client.csrf = TOKEN.search(client.get("/desk/cases/new").get_data(as_text=True)).group(1)
    return client


def send_form(world, desk, **over) -> dict:
    form = {"csrf_token": desk.csrf, "enterprise_name": "ร้านทดสอบขอบเขต", "contact_name": "สมศรี",
            "contact_phone": "081-234-5678", "province": "TH-50", "text": "ต้องการเงินทุนและ GMP",
            "needs": ["gmp_haccp", "loan"], f"assign.gmp_haccp": world.a, "assign.loan": world.b,
            "consent": "yes", "consent_by": "สมศรี", "idempotency_key": "00112233445566778899aabbccddeeff",
            **over}
    return form


def test_the_desk_records_the_tax_id_scope(world, desk):
    response = desk.post("/desk/cases/send", data=send_form(world, desk, tax_id="1-2345-67890-12-1",
                                                            consent_scope=WITH_TAX_ID))
    assert response.status_code == 302, response.get_data(as_text=True)
    referral_id = int(response.location.rsplit("/", 1)[1])
    row = world.db.execute("SELECT r.consent_scope, e.tax_id FROM referrals r JOIN enterprises e ON "
                           "e.id = r.enterprise_id WHERE r.id = ?", [referral_id]).fetchone()
    assert row == (WITH_TAX_ID, TAX_ID)
    consent_page = desk.post("/desk/cases/consent", data=send_form(world, desk), follow_redirects=True)\
        .get_data(as_text=True)
    assert f'value="{CONTACT_ONLY}" checked' in consent_page and f'value="{WITH_TAX_ID}"' in consent_page


@pytest.mark.parametrize("field, value, words", [("tax_id", WRONG_CHECK_DIGIT, "เลขประจำตัวไม่ถูกต้อง"),
                                                 ("enterprise_name", "ร้าน\x00ทดสอบ", "อักขระควบคุม"),
                                                 ("contact_name", "สม\x1bศรี", "อักขระควบคุม")])
def test_the_desk_refuses_bad_fields_on_the_field(world, desk, field, value, words):
    before = world.db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    response = desk.post("/desk/cases/send", data=send_form(world, desk, **{field: value}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert words in html and f'id="{field}"' in html and 'aria-invalid="true"' in html
    assert world.db.execute("SELECT count(*) FROM referrals").fetchone()[0] == before


def test_the_desk_refuses_a_control_character_in_who_consented(world, desk):
    before = world.db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    response = desk.post("/desk/cases/send", data=send_form(world, desk, consent_by="สมศรี\x00"))
    assert response.status_code == 422 and "อักขระควบคุม" in response.get_data(as_text=True)
    assert world.db.execute("SELECT count(*) FROM referrals").fetchone()[0] == before
