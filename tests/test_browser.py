"""The desk in a real browser: Debian's chromium (headless) driven by Playwright against the real app
served over HTTP on 127.0.0.1, on a private copy of the synthetic demo network.

The whole flow (a Thai description to a sent referral, a member accepting and completing its leg, the
analyst seeing the value in the KPIs), a sign-in failure and a consent refusal. Every step leaves a
screenshot in test-artifacts/screenshots/ (git-ignored). Nothing is fetched from outside 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import DATA_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TEXT = "ขนมเปี๊ยะขึ้นราภายใน 3 วัน อยากได้ อย. ด้วย และต้องการเงินทุนหมุนเวียน อยู่เชียงใหม่"
THAI = re.compile(r"[\u0E00-\u0E7F]")
THAI_FONTS = {"Loma", "Garuda", "Waree", "Norasi", "Kinnari", "Laksaman", "Sawasdee", "Purisa", "Umpush",
              "Tlwg Typo", "Tlwg Typist", "Tlwg Typewriter", "Tlwg Mono", "Kinnari", "Noto Sans Thai", "Sarabun"}
PASSWORD = "rismep-demo"


@pytest.fixture(scope="module")
def server(demo_db_template, tmp_path_factory, intake_model_path):
    """The real app on a free port of 127.0.0.1 (werkzeug, threaded), with the DEMO accounts."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium fonts-thai-tlwg; "
                    f".ci/run does) to run the browser tests")
    from werkzeug.serving import make_server

    from api import create_app
    from matcher import accounts
    from matcher.store import open_db
    path = tmp_path_factory.mktemp("browser") / "rismep.db"
    shutil.copy(demo_db_template, path)
    db = open_db(path)
    accounts.create_demo_accounts(db)
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "browser-test-secret",
                      "INTAKE_MODEL": str(intake_model_path)})
    app.extensions["rismep"].intake  # load (or train once) before the clock of the first page starts
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_port}", db_path=path, app=app)
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (requirements-dev.txt); "
                                                                 "never run 'playwright install': Debian's chromium is used")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


class Visit:
    """One person's browser context: records console errors and refuses any request off 127.0.0.1."""

    def __init__(self, browser, server, width=1280, height=900):
        self.server, self.errors, self.outside = server, [], []
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="th-TH")
        self.context.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), self._refuse)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message) -> None:
        # A refused form answers 401/422 on purpose, which chromium also logs; CSP and script errors count.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _refuse(self, route):
        self.outside.append(route.request.url)
        route.abort()

    def go(self, path: str):
        self.page.goto(self.server.url + path)
        return self.page

    def sign_in(self, username: str, password: str = PASSWORD):
        page = self.go("/")
        page.get_by_label("ชื่อผู้ใช้").fill(username)
        page.get_by_label("รหัสผ่าน").fill(password)
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        page.wait_for_load_state()
        return page

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self):
        assert not self.outside, f"requests left 127.0.0.1: {self.outside}"
        assert not self.errors, f"console errors (CSP or script): {self.errors}"
        self.context.close()


def referral_count(server) -> int:
    from matcher.store import open_db
    db = open_db(server.db_path)
    try:
        return db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    finally:
        db.close()


def legs_of(server, referral_id: int) -> list[dict]:
    from matcher.store import open_db
    db = open_db(server.db_path)
    try:
        return [dict(zip(("id", "member_id", "needs", "status"), r)) for r in db.execute(
            "SELECT id, member_id, needs, status FROM referral_legs WHERE referral_id = ? ORDER BY id",
            [referral_id])]
    finally:
        db.close()


def kpi_value(server) -> float:
    from matcher.analysis import kpis as kpi
    from matcher.reference import load_reference
    from matcher.store import open_db
    db = open_db(server.db_path)
    try:
        return kpi.kpis(db, load_reference(DATA_DIR))["value_baht"]
    finally:
        db.close()


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts chromium really used to draw the element's text (DevTools CSS.getPlatformFontsForNode)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return fonts


def fill_case(page) -> None:
    page.get_by_label("ชื่อสถานประกอบการ (จำเป็น)").fill("ร้านขนมเปี๊ยะแม่ศรี (ทดสอบ สมมติ)")
    page.get_by_label("ชื่อผู้ติดต่อ").fill("ศรี ใจดี")
    page.get_by_label("โทรศัพท์").fill("081-234-5678")
    page.get_by_label("จังหวัด").select_option("")  # the province named in the description fills it
    page.get_by_label("ประเภทธุรกิจ").select_option("food")
    page.get_by_label("คำบรรยายปัญหาและความต้องการ (จำเป็น)").fill(TEXT)


def chip(page, code: str):
    return page.locator(f'label.chip[data-need="{code}"]')


def test_whole_flow_from_a_thai_description_to_a_completed_referral_in_the_kpis(browser, server):
    value_before = kpi_value(server)

    # 1. The desk officer signs in (Thai first) and the page really draws Thai with a Thai font.
    desk = Visit(browser, server)
    page = desk.go("/")
    assert page.url.endswith("/desk/signin") and page.locator("html").get_attribute("lang") == "th"
    assert page.get_by_text("ข้อมูลสมมติ").first.is_visible()
    assert len(THAI.findall(page.inner_text("body"))) > 50, "the page reads in Thai"
    fonts = platform_fonts(page, "h1")
    assert {f["familyName"] for f in fonts} & THAI_FONTS and all(f["glyphCount"] > 0 for f in fonts), fonts
    desk.shot("01-sign-in")
    desk.sign_in("demo-desk")

    # 2. A new case in Thai.
    assert page.url.endswith("/desk/cases/new")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link", "the skip link comes first"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    fill_case(page)
    desk.shot("02-new-case")
    page.get_by_role("button", name="วิเคราะห์ความต้องการ").click()

    # 3. Needs as chips with Thai labels and the words that suggested them; the officer edits them.
    shelf = chip(page, "shelf_life")
    assert "ยืดอายุผลิตภัณฑ์" in shelf.inner_text() and "ขึ้นรา" in shelf.inner_text()
    assert shelf.locator("input").is_checked()
    assert chip(page, "loan").locator("input").is_checked()
    assert page.get_by_text("จังหวัดที่พบในคำบรรยาย: เชียงใหม่").is_visible()
    desk.shot("03-needs-suggested")
    chip(page, "loan").click()  # remove: the bank loan goes as a separate case
    assert not chip(page, "loan").locator("input").is_checked()
    page.get_by_role("checkbox", name=re.compile("ขึ้นทะเบียน อย.")).check()  # add: the FDA registration asked for
    if not page.locator("details.add-needs").get_attribute("open"):
        page.locator("details.add-needs > summary").click()
    page.get_by_role("checkbox", name="ออกแบบผลิตภัณฑ์และบรรจุภัณฑ์").check()  # add: packaging against mould
    desk.shot("04-needs-edited")
    page.get_by_role("button", name="ดูชุดบริการที่แนะนำ").click()

    # 4. Bundles side by side: members, needs, distance, capacity, joint work, chance, plan, why, map.
    summary = page.locator("section.summary").inner_text()
    assert "ขึ้นทะเบียน อย." in summary and "ออกแบบผลิตภัณฑ์และบรรจุภัณฑ์" in summary
    assert "สินเชื่อและเงินทุนหมุนเวียน" not in summary
    bundles = page.locator("article.bundle")
    assert bundles.count() >= 2
    page.wait_for_load_state("load")  # measured once the stylesheet has applied (the grid lays the cards out)
    page.wait_for_function("getComputedStyle(document.querySelector('.bundles')).display === 'grid'")
    one, two = bundles.nth(0).bounding_box(), bundles.nth(1).bounding_box()
    assert two["x"] > one["x"] + one["width"] - 5 and abs(two["y"] - one["y"]) < 5, "side by side"
    first = bundles.nth(0).inner_text()
    for label in ("โอกาสสำเร็จครบทุกความต้องการ", "จากกรณีลักษณะเดียวกันทุก 100 ราย", "รับผิดชอบ", "ระยะทาง",
                  "รับงานได้อีก", "เคยทำงานร่วมกัน", "ลำดับการส่งต่อ"):
        assert label in first, label
    assert page.locator("#order-note").inner_text().startswith("เรียงชุดบริการตามโอกาส")
    assert re.search(r"\d+%", first)
    assert page.locator("#why-text").inner_text().startswith("ชุดที่ 1")
    assert page.locator("svg.members-map circle.member-dot").count() >= 2
    desk.shot("05-recommendations")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 376, "readable at phone width"
    desk.shot("06-recommendations-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # 5. Consent (PDPA notice in Thai), then send: the referral page opens.
    page.get_by_role("button", name="เลือกชุดที่ 1").click()
    assert page.get_by_role("heading", name=re.compile("พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล")).is_visible()
    assert page.get_by_label("ชื่อผู้ให้ความยินยอม").input_value() == "ศรี ใจดี"
    page.get_by_label(re.compile("ยินยอมให้ส่งข้อมูล")).check()
    desk.shot("07-consent")
    page.get_by_role("button", name="ยืนยันและส่งต่อบริการ").click()
    match = re.search(r"/desk/referrals/(\d+)$", page.url)
    assert match, page.url
    referral_id = int(match.group(1))
    assert page.get_by_text(f"ส่งต่อบริการแล้ว เลขที่ {referral_id}").is_visible()
    legs = legs_of(server, referral_id)
    sent = [leg for leg in legs if leg["status"] == "sent"]
    assert len(legs) >= 2 and sent and {leg["status"] for leg in legs} <= {"sent", "waiting"}
    assert page.locator("[data-leg-status=sent]").count() == len(sent)
    waiting = [leg for leg in legs if leg["status"] == "waiting"]
    assert any("ออกแบบผลิตภัณฑ์และบรรจุภัณฑ์" in leg["needs"] or "packaging_design" in leg["needs"]
               for leg in waiting), "packaging waits for the FDA number and the shelf life"
    desk.shot("08-referral-sent")
    desk.close()

    # 6. The member of the first leg signs in, accepts, starts and completes with a value and a note.
    leg = sent[0]
    member = Visit(browser, server)
    page = member.sign_in(f"demo-{leg['member_id'].lower()}")
    assert page.url.endswith("/desk/inbox")
    page.get_by_role("link", name=f"เลขที่ {referral_id}", exact=True).click()
    own = [x for x in legs if x["member_id"] == leg["member_id"]]
    assert page.locator("article.leg").count() == len(own), "a member acts on its own legs only"
    assert page.locator("section[aria-labelledby=plan-h] li li").count() == len(legs), "and sees the whole plan"
    member.shot("09-member-inbox-referral")
    page.locator(f"#leg-{leg['id']}").get_by_role("button", name="รับเรื่อง").click()
    assert page.locator(f"#leg-{leg['id']} [data-leg-status]").get_attribute("data-leg-status") == "accepted"
    member.shot("10-member-accepted")
    page.locator(f"#leg-{leg['id']}").get_by_role("button", name="เริ่มดำเนินการ").click()
    complete = page.locator(f"#leg-{leg['id']} form").filter(has=page.locator("input[name=status][value=completed]"))
    complete.get_by_label("มูลค่าทางเศรษฐกิจที่เกิดขึ้น (บาท)").fill("250,000")
    complete.get_by_label("บันทึก").fill("ยืดอายุขนมเปี๊ยะได้ 30 วัน ขึ้นทะเบียน อย. แล้ว")
    member.shot("11-member-completing")
    complete.get_by_role("button", name="ปิดงานสำเร็จ").click()
    assert page.locator(f"#leg-{leg['id']} [data-leg-status]").get_attribute("data-leg-status") == "completed"
    timeline = page.locator("ol.timeline").inner_text()
    assert "250,000" in timeline and "ยืดอายุขนมเปี๊ยะได้ 30 วัน" in timeline
    member.shot("12-member-completed")
    member.close()

    # 7. The analyst sees the value in the KPIs.
    analyst = Visit(browser, server)
    page = analyst.sign_in("demo-analyst")
    assert page.url.endswith("/desk/dashboard")
    assert kpi_value(server) == value_before + 250_000
    assert f"{value_before + 250_000:,.0f}" in page.locator("#kpi-value").inner_text()
    assert page.locator("table.heatmap td").count() > 100
    analyst.shot("13-analyst-dashboard")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Economic value created" in page.locator("#kpi-value").inner_text()
    analyst.shot("14-analyst-dashboard-english")
    analyst.close()


def pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF (its page objects; chromium writes one per printed page)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_the_referral_slip_prints_on_one_a4_page_and_the_public_page_shows_only_statuses(browser, server):
    from matcher.engine.snapshot import build_snapshot
    from matcher.reference import load_reference
    from matcher.referrals import service
    from matcher.store import directory, open_db
    db = open_db(server.db_path)
    try:
        rows = lambda c: [m["id"] for m in directory.list_members(db, "agency", province="TH-50",  # noqa: E731
                                                                  category=c, limit=50)[0]]
        needs = ["gmp_haccp", "fda_registration", "shelf_life", "packaging_design", "loan", "credit_guarantee"]
        assignment = {n: rows(n)[0] for n in needs}
        desk_user = {"role": "desk", "desk": "desk-TH-50", "member_id": None, "key_id": None, "name": "desk"}
        made = service.create_referral(db, build_snapshot(db, load_reference(DATA_DIR)), {
            "enterprise": {"name": "วิสาหกิจชุมชนแปรรูปลำไยบ้านสันทราย (ทดสอบ สมมติ)", "province": "TH-50",
                           "sector": "food", "contact": {"name": "มาลี ทดสอบ", "phone": "081-111-2222"}},
            "needs": needs, "assignment": assignment,
            "consent": {"given": True, "by": "มาลี ทดสอบ", "at": "2026-01-05T10:00:00+07:00",
                        "scope": "share_contact_with_bundle_members"}}, desk_user)
    finally:
        db.close()
    visit = Visit(browser, server)
    visit.sign_in("demo-desk")
    page = visit.go(f"/desk/referrals/{made['id']}/slip")
    text = page.inner_text("body")
    assert "ใบส่งต่อบริการ" in text and "ขั้น 3" in text and "สิ่งที่ควรเตรียมไป" in text
    code = "-".join(made["tracking_code"][i:i + 4] for i in range(0, 16, 4))
    assert page.locator("#slip-code").inner_text() == code
    visit.shot("30-referral-slip")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (SHOTS / "30-referral-slip.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1, "the slip prints on one A4 page"
    visit.close()

    public = Visit(browser, server)
    page = public.go(f"/track?code={code}")
    status = page.locator("#track-status").inner_text()
    assert status == "ส่งแล้ว"
    body = page.inner_text("main")
    assert "มาตรฐาน GMP/HACCP และความปลอดภัยอาหาร" in body and "ขั้น 3" in body
    for private in ("ลำไยบ้านสันทราย", "มาลี", "081-111-2222", assignment["gmp_haccp"]):
        assert private not in body
    public.shot("31-public-status")
    public.close()


def test_sign_in_failure_is_explained_and_signs_nobody_in(browser, server):
    visit = Visit(browser, server)
    page = visit.sign_in("demo-desk", "not-the-password")
    assert page.url.endswith("/desk/signin")
    alert = page.get_by_role("alert").first
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in alert.inner_text()
    assert page.get_by_label("ชื่อผู้ใช้").input_value() == "demo-desk"
    assert page.get_by_label("รหัสผ่าน").get_attribute("aria-invalid") == "true"
    visit.shot("20-sign-in-failure")
    visit.go("/desk/cases/new")
    assert page.url.endswith("/desk/signin?next=/desk/cases/new")
    visit.close()


def test_sending_without_consent_is_refused_and_creates_nothing(browser, server):
    visit = Visit(browser, server)
    page = visit.sign_in("demo-desk")
    fill_case(page)
    page.get_by_role("button", name="วิเคราะห์ความต้องการ").click()
    page.get_by_role("button", name="ดูชุดบริการที่แนะนำ").click()
    page.get_by_role("button", name="เลือกชุดที่ 1").click()
    before = referral_count(server)
    page.get_by_role("button", name="ยืนยันและส่งต่อบริการ").click()  # the consent box left unticked
    alert = page.locator("#consent-error")
    assert "ยังไม่ได้รับความยินยอมจากผู้ประกอบการ" in alert.inner_text()
    # focus moves to the message once the page's script has run (a timeout here means it never does)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'consent-error'", timeout=10_000)
    assert page.url.endswith("/desk/cases/send") and referral_count(server) == before
    assert page.get_by_label("ชื่อผู้ให้ความยินยอม").input_value() == "ศรี ใจดี", "nothing typed is lost"
    visit.shot("21-consent-refused")
    visit.close()


def test_thai_fonts_are_installed():
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig is absent")
    listing = subprocess.run(["fc-list", ":lang=th", "family"], capture_output=True, text=True, check=False).stdout
    assert set(re.split(r"[,\n]", listing)) & THAI_FONTS, "apt-get install fonts-thai-tlwg"
