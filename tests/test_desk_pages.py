"""The desk pages through the Flask test client: Thai and English, sign-in, CSRF, roles, error pages,
the case flow to a sent referral, a member's answers and the analyst's KPIs. On a private copy of the
synthetic demo network; the description classifier is replaced by a fixed answer except where noted."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA_DIR, signed_in_client
from matcher import accounts, clock
from matcher.store import open_db
from web.desk import i18n, services
from web.desk.referrals_pages import parse_baht

ROOT = Path(__file__).resolve().parent.parent
TEXT = "ขนมเปี๊ยะขึ้นราภายใน 3 วัน อยากได้ อย. ด้วย และต้องการเงินทุนหมุนเวียน อยู่เชียงใหม่"
# What the classifier says about TEXT (fixed here so that page tests do not depend on the model).
CLASSIFIED = {"needs": [
    {"code": "shelf_life", "label_th": "ยืดอายุผลิตภัณฑ์", "label_en": "Shelf-life extension and preservation",
     "confidence": 0.91, "evidence": ["ขึ้นรา"]},
    {"code": "fda_registration", "label_th": "ขึ้นทะเบียน อย.", "label_en": "Thai FDA product registration",
     "confidence": 0.88, "evidence": ["อย."]},
    {"code": "loan", "label_th": "สินเชื่อและเงินทุนหมุนเวียน", "label_en": "Loans and working capital",
     "confidence": 0.83, "evidence": ["เงินทุนหมุนเวียน"]}],
    "candidates": [{"code": "packaging_design", "label_th": "ออกแบบผลิตภัณฑ์และบรรจุภัณฑ์",
                    "label_en": "Packaging and product design", "confidence": 0.31, "evidence": ["ขึ้นรา"]}],
    "language": "th", "province": "TH-50"}
CASE = {"enterprise_name": "ร้านขนมเปี๊ยะแม่ศรี (ทดสอบ)", "contact_name": "ศรี ใจดี", "contact_phone": "081-234-5678",
        "contact_email": "sri@example.com", "province": "TH-50", "sector": "food", "cluster": "", "text": TEXT}
THAI = re.compile(r"[\u0E00-\u0E7F]")


@pytest.fixture(scope="module")
def desk_template(demo_db_template, tmp_path_factory) -> tuple[Path, int]:
    """The demo network with the DEMO accounts and one referral sent by demo-desk (built once per module)."""
    from matcher.referrals.service import create_referral
    from matcher.reference import load_reference
    from matcher.engine.snapshot import build_snapshot
    path = tmp_path_factory.mktemp("desk") / "desk.db"
    shutil.copy(demo_db_template, path)
    db = open_db(path)
    accounts.create_demo_accounts(db)
    snapshot = build_snapshot(db, load_reference(DATA_DIR))
    for member, need in (("A0124", "shelf_life"), ("A0109", "loan")):  # Chiang Mai agencies of the demo seed
        assert snapshot.offers[snapshot.member_index[member], snapshot.category_index[need]]
    desk_user = accounts.principal(accounts.authenticate(db, "demo-desk", accounts.DEMO_PASSWORD))
    body = {"enterprise": {"name": CASE["enterprise_name"], "province": "TH-50", "sector": "food",
                           "contact": {"name": "ศรี ใจดี", "phone": "081-234-5678"}},
            "needs": ["shelf_life", "loan"], "text": TEXT, "assignment": {"shelf_life": "A0124", "loan": "A0109"},
            "consent": {"given": True, "by": "ศรี ใจดี", "at": "2025-03-01T10:00:00+07:00",
                        "scope": "share_contact_with_bundle_members"}}
    referral = create_referral(db, snapshot, body, desk_user)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path, referral["id"]


@pytest.fixture
def desk(desk_template, tmp_path, monkeypatch):
    """An app over a private copy of the desk template, with a fixed classifier; yields a helper."""
    from api import create_app
    path = tmp_path / "desk.db"
    shutil.copy(desk_template[0], path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test"})
    db = open_db(path)
    monkeypatch.setattr(services, "classify", lambda text: CLASSIFIED)
    yield Desk(app, db)
    db.close()


@pytest.fixture
def referral_id(desk, desk_template) -> int:
    """The referral (shelf_life to A0124, loan to A0109) that demo-desk sent in the template."""
    return desk_template[1]


class Desk:
    def __init__(self, app, db):
        self.app, self.db = app, db

    def client(self, username: str | None = None, lang: str | None = None):
        """A test client signed in as ``username`` (session set directly; sign-in itself is tested below)."""
        return signed_in_client(self.app, self.db, username, lang)

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def leg(self, leg_id: int) -> dict:
        return dict(zip(("status", "value_baht", "note"), self.db.execute(
            "SELECT status, value_baht, note FROM referral_legs WHERE id = ?", [leg_id]).fetchone()))

    def send_referral(self, client, needs=("shelf_life", "fda_registration", "loan")) -> int:
        """Walk the four case steps with the first bundle and consent; return the new referral id."""
        html = post(client, "/desk/cases/bundles", **CASE, needs=list(needs), needs_chosen="1").get_data(as_text=True)
        assignment = first_assignment(html)
        html = post(client, "/desk/cases/consent", **CASE, needs=list(needs), rank="1", **assignment)\
            .get_data(as_text=True)
        key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)
        response = post(client, "/desk/cases/send", **CASE, needs=list(needs), rank="1", idempotency_key=key,
                        consent="yes", consent_by="ศรี ใจดี", **assignment)
        assert response.status_code == 302, response.get_data(as_text=True)
        return int(response.location.rsplit("/", 1)[1])


STEPS = ("/desk/cases/needs", "/desk/cases/bundles", "/desk/cases/consent")  # each redirects to its page


def post(client, path, **data):
    """POST a form; a case step is followed to the page it redirects to (as a browser does)."""
    return client.post(path, data={"csrf_token": "token-for-tests", **data}, follow_redirects=path in STEPS)


def first_assignment(html: str) -> dict:
    form = re.search(r'<form method="post" action="/desk/cases/consent">(.*?)</form>', html, re.S).group(1)
    return dict(re.findall(r'name="(assign\.[a-z_]+)" value="([A-Z0-9]+)"', form))


def legs_of(db, referral_id: int) -> list[dict]:
    return [dict(zip(("id", "member_id", "status"), r)) for r in db.execute(
        "SELECT id, member_id, status FROM referral_legs WHERE referral_id = ? ORDER BY id", [referral_id])]


def page_text(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"<[^>]+>", " ", html)


# -- sign-in, sign-out, sessions -----------------------------------------------------------------------

def test_home_sends_a_stranger_to_the_sign_in_page(desk):
    response = desk.client().get("/")
    assert response.status_code == 302 and response.location.endswith("/desk/signin")


def sign_in_form(client, username, password, **extra):
    html = client.get("/desk/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post("/desk/signin", data={"username": username, "password": password, "csrf_token": token,
                                             **extra})


@pytest.mark.parametrize("username, password", [("demo-desk", "wrong-password"), ("nobody-here", "rismep-demo"),
                                                ("demo-desk", "")])
def test_sign_in_failure_says_so_in_thai_and_keeps_the_username(desk, username, password):
    client = desk.app.test_client()
    response = sign_in_form(client, username, password)
    assert response.status_code in (401, 422)
    text = page_text(response)
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in text or "กรุณากรอกชื่อผู้ใช้และรหัสผ่าน" in text
    assert f'value="{username}"' in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "sid" not in session


def test_sign_in_sets_a_fresh_httponly_lax_session_and_sign_out_ends_it(desk):
    client = desk.app.test_client()
    response = sign_in_form(client, "demo-desk", accounts.DEMO_PASSWORD)
    assert response.status_code == 302 and response.location.endswith("/desk/cases/new")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = client.get("/desk/cases/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/desk/signout", data={"csrf_token": token}).status_code == 302
    assert client.get("/desk/cases/new").location.startswith("/desk/signin")


def test_repeated_sign_in_failures_are_slowed_down(desk):
    desk.app.extensions["rate_limits"]["sign_in"].limit = 2
    client = desk.app.test_client()
    statuses = [sign_in_form(client, "demo-desk", "wrong-password").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    text = page_text(sign_in_form(client, "demo-desk", accounts.DEMO_PASSWORD))
    assert re.search(r"พยายามเข้าสู่ระบบบ่อยเกินไป กรุณารอ \d+ วินาทีแล้วลองใหม่", text), "said in Thai"
    assert "try again" not in text and "Too many" not in text, "and in Thai only"


def test_a_step_opened_without_its_form_starts_the_case_again(desk):
    response = desk.client("demo-desk").get("/desk/cases/bundles")
    assert response.status_code == 302 and response.location.endswith("/desk/cases/new")


@pytest.mark.parametrize("target, lands", [("/desk/referrals", "/desk/referrals"),
                                           ("https://evil.example/x", "/desk/cases/new"),
                                           ("//evil.example/x", "/desk/cases/new")])
def test_sign_in_returns_only_to_pages_of_this_site(desk, target, lands):
    response = sign_in_form(desk.app.test_client(), "demo-desk", accounts.DEMO_PASSWORD, next=target)
    assert response.location == lands


def test_passwords_are_stored_hashed(desk):
    stored = desk.db.execute("SELECT password_hash FROM users WHERE username = 'demo-desk'").fetchone()[0]
    assert accounts.DEMO_PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


# -- CSRF ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/desk/signin", "/desk/cases/needs", "/desk/cases/send", "/desk/signout"])
def test_desk_forms_without_the_session_token_are_refused_and_change_nothing(desk, path):
    client = desk.client("demo-desk")
    before = desk.count("referrals")
    for token in (None, "forged"):
        data = {**CASE, "needs": ["loan"], "consent": "yes", "consent_by": "x", "assign.loan": "A0109"}
        if token:
            data["csrf_token"] = token
        response = client.post(path, data=data)
        assert response.status_code == 400
        assert "แบบฟอร์มหมดอายุ" in page_text(response) and "Traceback" not in page_text(response)
    assert desk.count("referrals") == before


def test_a_form_sent_after_the_session_ended_asks_to_sign_in_and_changes_nothing(desk):
    before = desk.count("referrals")
    response = desk.client().post("/desk/cases/send", data={**CASE, "needs": ["loan"], "assign.loan": "A0109",
                                                           "consent": "yes", "consent_by": "x"})
    assert response.status_code == 302 and response.location.endswith("/desk/signin")
    assert desk.count("referrals") == before


def test_a_member_cannot_be_made_to_accept_a_leg_by_another_site(desk, referral_id):
    leg = legs_of(desk.db, referral_id)[0]
    member = desk.client(accounts.demo_username(leg["member_id"]))
    response = member.post(f"/desk/referrals/{referral_id}/legs/{leg['id']}", data={"status": "accepted"})
    assert response.status_code == 400 and desk.leg(leg["id"])["status"] == "sent"


# -- every page in Thai and in English -----------------------------------------------------------------

PAGES = [  # (account, method, path or step, a Thai phrase, an English phrase)
    (None, "GET", "/desk/signin", "เข้าสู่ระบบ", "Sign in"),
    ("demo-desk", "GET", "/desk/cases/new", "รับเรื่องใหม่", "New case"),
    ("demo-desk", "POST", "/desk/cases/needs", "ยืนยันความต้องการ", "Confirm the needs"),
    ("demo-desk", "POST", "/desk/cases/bundles", "ชุดบริการที่แนะนำ", "Recommended bundles"),
    ("demo-desk", "POST", "/desk/cases/consent", "ประกาศความเป็นส่วนตัว", "Privacy notice"),
    ("demo-desk", "GET", "/desk/referrals", "รายการส่งต่อ", "Referrals"),
    ("demo-desk", "GET", "referral", "ลำดับเหตุการณ์", "Timeline"),
    ("member", "GET", "/desk/inbox", "งานที่ได้รับ", "Inbox"),
    ("member", "GET", "referral", "รับเรื่อง", "Accept"),
    ("demo-analyst", "GET", "/desk/dashboard", "ตัวชี้วัดเทียบเป้าหมาย", "KPIs against targets"),
]


@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize("account, method, path, thai, english", PAGES)
def test_every_page_renders_in_thai_and_english_with_the_synthetic_banner(desk, referral_id, lang, account,
                                                                          method, path, thai, english):
    if account == "member":
        account = accounts.demo_username(legs_of(desk.db, referral_id)[0]["member_id"])
    client = desk.client(account, lang=lang)
    if path == "referral":
        path = f"/desk/referrals/{referral_id}"
    data = {**CASE, "needs": ["shelf_life", "loan"], "rank": "1", "assign.shelf_life": "A0124",
            "assign.loan": "A0109"}
    response = client.get(path) if method == "GET" else post(client, path, **data)
    assert response.status_code == 200, page_text(response)[:2000]
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert "ข้อมูลสมมติ" in html, "the synthetic banner"
    text = page_text(response)
    assert (thai if lang == "th" else english) in text
    if lang == "th":
        assert english not in text.replace("English", "") and len(THAI.findall(text)) > 100
    assert 'href="#main"' in html and 'id="main"' in html, "skip link"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "nothing loaded from another site"


def test_every_form_field_has_a_label(desk, referral_id):
    client = desk.client("demo-desk")
    pages = [client.get("/desk/cases/new"), post(client, "/desk/cases/needs", **CASE),
             post(client, "/desk/cases/consent", **CASE, needs=["loan"], **{"assign.loan": "A0109"})]
    for response in pages:
        html = response.get_data(as_text=True)
        ids = set(re.findall(r'<label[^>]* for="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag or ('type="checkbox"' in tag and 'id="consent"' not in tag):
                continue  # checkboxes other than consent sit inside their <label>
            field_id = re.search(r'id="([^"]+)"', tag)
            assert field_id and field_id.group(1) in ids, f"unlabelled field: {tag}"


def test_the_language_switch_keeps_the_consent_draft(desk):
    client = desk.client("demo-desk")
    consent = post(client, "/desk/cases/consent", **CASE, needs=["loan"], rank="1", **{"assign.loan": "A0109"})
    step = consent.request.path
    assert re.fullmatch(r"/desk/cases/[0-9a-f]{32}/consent", step), "step 4 is a page of its own"
    switch = re.search(r'<a class="lang-switch" href="([^"]+)"', consent.get_data(as_text=True)).group(1)
    assert client.get(switch.replace("&amp;", "&")).location == step, "a link back to the same step"
    response = client.get(step)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="en">' in html
    assert 'value="ศรี ใจดี"' in html and TEXT in html and 'name="assign.loan" value="A0109"' in html
    assert "Personal Data Protection Act" in html and "พ.ร.บ." not in html.split("pdpa-h")[1][:200]


def test_no_form_has_a_second_submit_button_that_switches_the_language(desk):
    client = desk.client("demo-desk")
    pages = [client.get("/desk/cases/new"), post(client, "/desk/cases/needs", **CASE),
             post(client, "/desk/cases/bundles", **CASE, needs=["loan"], needs_chosen="1"),
             post(client, "/desk/cases/consent", **CASE, needs=["loan"], **{"assign.loan": "A0109"})]
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "set_lang" not in html
        for form in re.findall(r"<form\b.*?</form>", html, re.S):  # Enter sends a form's first submit button
            first = re.search(r'<button type="submit"[^>]*>(.*?)</button>', form, re.S)
            assert first is None or first.group(1) not in ("English", "ภาษาไทย"), form[:300]


@pytest.mark.parametrize("key", sorted(i18n.STRINGS))
def test_every_string_has_thai_and_english_with_the_same_placeholders(key):
    th, en = i18n.STRINGS[key]
    assert th and en
    assert sorted(re.findall(r"{(\w+)}", th)) == sorted(re.findall(r"{(\w+)}", en))


def test_every_string_key_used_by_a_template_exists():
    used = set()
    for path in (ROOT / "web" / "templates" / "desk").glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_0-9]+)'", path.read_text(encoding="utf-8")))
    assert used and used <= set(i18n.STRINGS) | {"agency", "consultant"}


# -- the case flow -------------------------------------------------------------------------------------

def test_needs_appear_as_chips_with_thai_labels_and_evidence(desk):
    html = post(desk.client("demo-desk"), "/desk/cases/needs", **{**CASE, "province": ""}).get_data(as_text=True)
    chips = re.findall(r'<label class="chip(?: chip-maybe)?" data-need="(\w+)">(.*?)</label>', html, re.S)
    assert [code for code, _ in chips] == ["shelf_life", "fda_registration", "loan", "packaging_design"]
    assert "ยืดอายุผลิตภัณฑ์" in chips[0][1] and "<q>ขึ้นรา</q>" in chips[0][1] and "checked" in chips[0][1]
    assert "checked" not in chips[3][1], "a mere candidate is offered, not ticked"
    assert 'value="packaging_design"' not in html.split('class="add-needs"')[1], "not listed twice"
    assert 'name="province" value="TH-50"' in html, "the province named in the text fills an empty province"


def test_recommendations_show_bundles_side_by_side_with_chance_plan_why_and_map(desk):
    response = post(desk.client("demo-desk"), "/desk/cases/bundles", **CASE,
                    needs=["shelf_life", "fda_registration", "loan"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(re.findall(r'<article class="bundle"', html)) >= 2
    assert "โอกาสสำเร็จครบทุกความต้องการ" in html and "จากกรณีลักษณะเดียวกันทุก 100 ราย" in html
    cards = html.split('<div class="bundles">')[1]
    chances = [int(v) for v in re.findall(r'class="chance-value">(\d+)%<', cards)]
    assert chances == sorted(chances, reverse=True), "listed by their chance, highest first"
    glance = html.split('id="compare"')[1].split("</section>")[0]
    assert [int(v) for v in re.findall(r'class="chance-value">(\d+)%<', glance)] == chances, "the same one number"
    assert "เรียงชุดบริการตามโอกาสที่ทุกความต้องการจะได้รับการแก้ไข" in html
    assert "ลำดับการส่งต่อ" in html and "ทำไมชุดที่ 1 มาก่อนชุดที่ 2" in html
    why = re.search(r'<p id="why-text">(.*?)</p>', html, re.S).group(1)
    quoted = re.search(r"ชุดที่ 1 มีโอกาสสำเร็จครบทุกด้าน(?:สูงกว่า|เท่ากัน)", why)
    assert quoted, why
    if "สูงกว่า" in why:  # the sentence quotes the two chances shown on the cards
        a, b = re.search(r"\((\d+)% เทียบกับ (\d+)%\)", why).groups()
        assert [int(a), int(b)] == chances[:2] and int(a) > int(b)
    assert "<svg class=\"members-map\"" in html and html.count('class="province-dot"') == 77
    assert "กม." in html and "รับงานได้อีก" in html


def test_a_province_only_assumed_from_the_desk_shows_no_distances(desk):
    html = post(desk.client("demo-desk"), "/desk/cases/bundles", **{**CASE, "province": "TH-50",
                                                                   "province_from": "account"},
                needs=["loan"]).get_data(as_text=True)
    assert 'id="province-assumed"' in html and "ไม่แสดงระยะทาง" in html
    assert "กม." not in html.split('class="bundles"')[1].split('class="card map-card"')[0]
    chosen = post(desk.client("demo-desk"), "/desk/cases/bundles", **{**CASE, "province": "TH-57",
                                                                     "province_from": "account"},
                  needs=["loan"]).get_data(as_text=True)
    assert 'id="province-assumed"' not in chosen, "a province the officer changed is the enterprise's"


def test_a_need_left_empty_is_refused_with_the_draft_kept(desk):
    response = post(desk.client("demo-desk"), "/desk/cases/bundles", **CASE, needs_chosen="1")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "กรุณาเลือกความต้องการอย่างน้อย 1 รายการ" in html and TEXT in html


@pytest.mark.parametrize("change, field, message", [
    ({"text": ""}, "text", "กรุณาพิมพ์คำบรรยายปัญหา"),
    ({"enterprise_name": ""}, "enterprise_name", "กรุณากรอกชื่อสถานประกอบการ"),
    ({"contact_email": "not-an-email"}, "contact_email", "อีเมลไม่ถูกต้อง"),
    ({"province": "Atlantis"}, "province", "ไม่รู้จักจังหวัด"),
    ({"sector": "spaceships"}, "sector", "ไม่อยู่ในรายการ"),
])
def test_bad_case_details_get_a_clear_message_on_the_field_and_lose_nothing(desk, change, field, message):
    response = post(desk.client("demo-desk"), "/desk/cases/needs", **{**CASE, **change})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    assert "ศรี ใจดี" in html, "what was typed is still there"


def test_an_existing_enterprise_of_this_desk_is_found_and_referred_by_id(desk):
    enterprise_id, name = desk.db.execute(
        "SELECT e.id, e.name FROM referrals r JOIN enterprises e ON e.id = r.enterprise_id "
        "WHERE r.desk = 'desk-TH-50' ORDER BY r.id LIMIT 1").fetchone()
    client = desk.client("demo-desk")
    found = client.get("/desk/cases/new", query_string={"q": name[:6]}).get_data(as_text=True)
    assert f"/desk/cases/new?enterprise_id={enterprise_id}" in found
    picked = client.get(f"/desk/cases/new?enterprise_id={enterprise_id}").get_data(as_text=True)
    assert f'name="enterprise_id" value="{enterprise_id}"' in picked and name in picked
    other = desk.db.execute("SELECT id FROM enterprises WHERE id NOT IN (SELECT enterprise_id FROM cases "
                            "WHERE desk = 'desk-TH-50' AND enterprise_id IS NOT NULL) LIMIT 1").fetchone()[0]
    assert "enterprise_id" not in client.get(f"/desk/cases/new?enterprise_id={other}").get_data(as_text=True)\
        .split('id="case-form"')[1].split("</fieldset>")[0], "another desk's enterprise is not offered"
    form = {**CASE, "enterprise_id": str(enterprise_id), "enterprise_name": name, "contact_name": "",
            "needs": ["loan"], "assign.loan": "A0109", "consent": "yes", "consent_by": "ผู้แทนสถานประกอบการ",
            "idempotency_key": "12" * 16}
    response = post(client, "/desk/cases/send", **form)
    assert response.status_code == 302, page_text(response)[:1500]
    referral_id = int(response.location.rsplit("/", 1)[1])
    assert desk.db.execute("SELECT enterprise_id FROM referrals WHERE id = ?", [referral_id]).fetchone()[0] \
        == enterprise_id


def test_sending_without_consent_says_so_and_creates_nothing(desk):
    client = desk.client("demo-desk")
    before = {t: desk.count(t) for t in ("referrals", "referral_legs", "enterprises", "cases", "referral_events")}
    response = post(client, "/desk/cases/send", **CASE, needs=["loan"], **{"assign.loan": "A0109"},
                    idempotency_key="cd" * 16, consent_by="ศรี ใจดี")
    assert response.status_code == 422
    assert "ยังไม่ได้รับความยินยอมจากผู้ประกอบการ" in page_text(response)
    assert {t: desk.count(t) for t in before} == before


def test_sending_twice_with_the_same_form_makes_one_referral(desk, monkeypatch):
    from web.desk import cases
    client = desk.client("demo-desk")
    html = post(client, "/desk/cases/consent", **CASE, needs=["loan"], **{"assign.loan": "A0109"}).get_data(as_text=True)
    form = {**CASE, "needs": ["loan"], "assign.loan": "A0109", "consent": "yes", "consent_by": "ศรี ใจดี",
            **dict(re.findall(r'name="(idempotency_key|shown_at)" value="([^"]+)"', html))}
    before = desk.count("referrals")
    first = post(client, "/desk/cases/send", **form)
    later = clock.now() + timedelta(seconds=5)  # the double click lands 5 s later
    monkeypatch.setattr(cases, "now_text", lambda: later.isoformat(timespec="seconds"))
    second = post(client, "/desk/cases/send", **form)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert desk.count("referrals") == before + 1


def test_the_whole_flow_to_a_completed_leg_and_the_analysts_kpi(desk):
    from matcher.analysis import kpis as kpi
    from matcher.reference import load_reference
    before = kpi.kpis(desk.db, load_reference(DATA_DIR))["value_baht"]
    referral_id = desk.send_referral(desk.client("demo-desk"))
    legs = legs_of(desk.db, referral_id)
    assert [leg["status"] for leg in legs] == ["sent"] * len(legs) and len(legs) >= 2
    leg = legs[0]
    member = desk.client(accounts.demo_username(leg["member_id"]))
    page = member.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    assert page.count('class="card leg"') == 1, "a member sees only its own leg"
    for data in ({"status": "accepted"}, {"status": "in_progress"},
                 {"status": "completed", "value_baht": "250,000", "note": "ยืดอายุได้ 30 วัน ขึ้นทะเบียนแล้ว"}):
        response = post(member, f"/desk/referrals/{referral_id}/legs/{leg['id']}", **data)
        assert response.status_code == 302, page_text(response)[:1500]
    assert desk.leg(leg["id"]) == {"status": "completed", "value_baht": 250000.0,
                                   "note": "ยืดอายุได้ 30 วัน ขึ้นทะเบียนแล้ว"}
    timeline = page_text(member.get(f"/desk/referrals/{referral_id}"))
    assert "250,000" in timeline and "สำเร็จ" in timeline
    dashboard = desk.client("demo-analyst").get("/desk/dashboard").get_data(as_text=True)
    row = re.search(r'<tr id="kpi-value">.*?</tr>', dashboard, re.S).group(0)
    assert f"{before + 250000:,.0f}" in row


@pytest.mark.parametrize("data, message", [
    ({"status": "declined"}, "กรุณาเลือกเหตุผลที่ปฏิเสธ"),
    ({"status": "completed", "value_baht": "a lot", "note": "x"}, "กรุณากรอกมูลค่าเป็นตัวเลข"),
    ({"status": "teleported"}, "ไม่รู้จักคำสั่ง"),
    ({"status": "in_progress"}, "Allowed next: accepted, declined"),
])
def test_a_wrong_leg_move_is_explained_and_changes_nothing(desk, referral_id, data, message):
    leg = legs_of(desk.db, referral_id)[0]
    member = desk.client(accounts.demo_username(leg["member_id"]))
    response = post(member, f"/desk/referrals/{referral_id}/legs/{leg['id']}", **data)
    assert response.status_code in (409, 422) and message in page_text(response)
    assert desk.leg(leg["id"])["status"] == "sent"


def test_a_declined_leg_is_rematched_by_the_desk(desk, referral_id):
    leg = legs_of(desk.db, referral_id)[0]
    member = desk.client(accounts.demo_username(leg["member_id"]))
    post(member, f"/desk/referrals/{referral_id}/legs/{leg['id']}", status="declined", reason="no_capacity")
    client = desk.client("demo-desk")
    html = client.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    rematch = f"/desk/referrals/{referral_id}/legs/{leg['id']}/rematch"
    assert rematch in html
    proposals = client.get(rematch).get_data(as_text=True)
    form = re.search(r'<form method="post" action="' + re.escape(rematch) + r'">(.*?)</form>', proposals, re.S)
    assignment = dict(re.findall(r'name="(assign\.[a-z_]+)" value="([A-Z0-9]+)"', form.group(1)))
    assert assignment and leg["member_id"] not in assignment.values()
    assert post(client, rematch, **assignment).status_code == 302
    legs = legs_of(desk.db, referral_id)
    assert len(legs) > 2 and legs[-1]["member_id"] in assignment.values() and legs[-1]["status"] == "sent"


# -- access between roles ------------------------------------------------------------------------------

@pytest.mark.parametrize("account, path, status", [
    (None, "/desk/cases/new", 302), (None, "/desk/dashboard", 302), (None, "/desk/inbox", 302),
    ("demo-analyst", "/desk/cases/new", 403), ("demo-analyst", "/desk/referrals/1", 403),
    ("demo-a0001", "/desk/dashboard", 403), ("demo-a0001", "/desk/cases/new", 403),
    ("demo-desk", "/desk/inbox", 403), ("demo-desk", "/desk/dashboard", 403),
    ("demo-admin", "/desk/dashboard", 200), ("demo-admin", "/desk/cases/new", 200),
])
def test_each_role_reaches_only_its_pages(desk, account, path, status):
    response = desk.client(account).get(path)
    assert response.status_code == status
    if status == 403:
        assert "บัญชีนี้ไม่มีสิทธิ์ใช้หน้านี้" in page_text(response)


def test_a_member_cannot_open_or_move_a_referral_it_is_not_part_of(desk, referral_id):
    members = {leg["member_id"] for leg in legs_of(desk.db, referral_id)}
    outsider = next(m for m in ("A0001", "A0002", "A0003", "C0001") if m not in members)
    client = desk.client(accounts.demo_username(outsider))
    assert client.get(f"/desk/referrals/{referral_id}").status_code == 403
    leg = legs_of(desk.db, referral_id)[0]
    response = post(client, f"/desk/referrals/{referral_id}/legs/{leg['id']}", status="accepted")
    assert response.status_code == 403 and desk.leg(leg["id"])["status"] == "sent"


# -- error pages ---------------------------------------------------------------------------------------

def test_errors_are_html_pages_without_a_stack_trace(desk, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(services, "match", boom)
    client = desk.client("demo-desk")
    response = post(client, "/desk/cases/bundles", **CASE, needs=["loan"])
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "secret internal detail" not in text and "Traceback" not in text and "ระบบขัดข้อง" in text
    missing = client.get("/desk/referrals/999999")
    assert missing.status_code == 404 and missing.mimetype == "text/html" and "999999" in page_text(missing)


def test_an_engine_part_that_is_missing_gives_a_clear_page(desk, monkeypatch):
    from matcher.errors import Unavailable

    def missing(*args, **kwargs):
        raise Unavailable("Analysis / การวิเคราะห์เครือข่าย is not installed on this server (matcher.analysis.network).")

    monkeypatch.setattr(services, "kpis", missing)
    response = desk.client("demo-analyst").get("/desk/dashboard")
    assert response.status_code == 503 and "ส่วนวิเคราะห์ยังไม่พร้อม" in page_text(response)


# -- commands ------------------------------------------------------------------------------------------

def test_create_user_reads_the_password_from_stdin_and_refuses_bad_input(runner, db_path):
    result = runner.invoke(args=["create-user", "--role", "member", "--username", "team.a0001", "--member", "A0001",
                                 "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    db = open_db(db_path)
    assert accounts.authenticate(db, "TEAM.A0001", "a-long-password")["member_id"] == "A0001"
    again = runner.invoke(args=["create-user", "--role", "analyst", "--username", "team.a0001", "--password-stdin"],
                          input="another-password\n")
    assert again.exit_code == 1 and "taken" in again.output
    short = runner.invoke(args=["create-user", "--role", "desk", "--username", "d1", "--password-stdin"], input="x\n")
    assert short.exit_code == 1 and "username" in short.output
    nomember = runner.invoke(args=["create-user", "--role", "member", "--username", "m1x", "--password-stdin"],
                             input="a-long-password\n")
    assert nomember.exit_code == 1 and "--member" in nomember.output


def test_demo_users_are_labelled_and_refused_on_real_data(runner, db_path):
    result = runner.invoke(args=["demo-users"])
    assert result.exit_code == 0 and '"password": "rismep-demo"' in result.output
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM users WHERE demo = 1").fetchone()[0] >= 465
    db.execute("UPDATE meta SET value = '0' WHERE key = 'synthetic'")
    refused = runner.invoke(args=["demo-users"])
    assert refused.exit_code == 1 and "not synthetic" in refused.output


# -- small parsers -------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**11))
def test_amounts_typed_with_separators_parse_to_the_same_baht(amount):
    assert parse_baht(f"{amount:,}") == parse_baht(f"฿ {amount}") == parse_baht(f"{amount} บาท") == amount


@pytest.mark.parametrize("text", ["", "-5", "abc", "1e20", "nan"])
def test_amounts_that_are_not_baht_are_refused(text):
    assert parse_baht(text) is None


def test_thai_province_names_sort_in_dictionary_order():
    names = sorted(["เชียงใหม่", "กระบี่", "แพร่", "ชลบุรี", "นครพนม"], key=i18n.thai_sort_key)
    assert names == ["กระบี่", "ชลบุรี", "เชียงใหม่", "นครพนม", "แพร่"]
