"""The desk's own pages in a real browser (Debian's chromium driven by Playwright), sharing one browser and
one server with tests/test_browser.py:

- the whole new-case flow with the keyboard only, Enter submitting every form (never switching the
  language), and Reload and Back after every step (no "Confirm Form Resubmission", no second referral);
- the desk's list and the member's inbox at 390x844: cards, nothing cut off (element boxes inside the
  viewport);
- axe-core on every page of each role, in Thai and English, at 1366x768 and 390x844: no serious or critical
  violation. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest

from test_browser import TEXT, Visit, browser, referral_count, server  # noqa: F401
from test_browser_directory import SIZES, axe_source, boxes_outside, check_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STEP = re.compile(r"/desk/cases/([0-9a-f]{32})/(needs|bundles|consent)$")


def lang_of(page) -> str:
    return page.locator("html").get_attribute("lang")


def type_into(page, label: str, text: str) -> None:
    """Focus a field by its label, the way Tab would land on it, and type as a person does."""
    page.get_by_label(label, exact=True).focus()
    page.keyboard.type(text)


def press_enter_in(page, selector: str) -> None:
    page.locator(selector).first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("load")


def reload_and_back(page, url: str, previous: str | None) -> None:
    """Reload the step (the same page, no resubmission), then Back to the previous step and Forward again."""
    response = page.reload()
    assert response.status == 200 and page.url == url, page.url
    if previous:
        response = page.go_back()
        assert response is not None and response.status == 200 and page.url == previous, page.url
        response = page.go_forward()
        assert response is not None and response.status == 200 and page.url == url


def test_the_keyboard_flow_with_enter_back_and_reload_after_every_step(browser, server, axe_source):  # noqa: F811
    visit = Visit(browser, server, width=1366, height=768)
    page = visit.go("/desk/signin")
    type_into(page, "ชื่อผู้ใช้", "demo-desk")
    type_into(page, "รหัสผ่าน", "rismep-demo")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/desk/cases/new") and lang_of(page) == "th"
    step1 = page.url
    type_into(page, "ชื่อสถานประกอบการ (จำเป็น)", "วิสาหกิจชุมชนกระเทียมศรีสะเกษ (ทดสอบ สมมติ)")
    type_into(page, "ชื่อผู้ติดต่อ", "มะลิ ทดสอบ")
    type_into(page, "คำบรรยายปัญหาและความต้องการ (จำเป็น)", TEXT)
    page.get_by_label("จังหวัด", exact=True).select_option("TH-33")  # Si Sa Ket, not the desk's Chiang Mai
    before = referral_count(server)

    press_enter_in(page, "#contact_name")  # Enter in a text field sends the case form
    needs = page.url
    assert STEP.search(needs) and needs.endswith("/needs") and lang_of(page) == "th", "sent, still in Thai"
    notice = page.locator("#province-differs").inner_text()
    assert "ศรีสะเกษ" in notice and "เชียงใหม่" in notice
    check_page(visit, axe_source, "40-keyboard-needs", 1366)
    reload_and_back(page, needs, step1)
    page.get_by_role("link", name="แก้ไขรายละเอียดหรือจังหวัด").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_label("ชื่อผู้ติดต่อ").input_value() == "มะลิ ทดสอบ", "step 1 again, filled in"
    assert page.get_by_label("จังหวัด", exact=True).input_value() == "TH-33"
    press_enter_in(page, "#enterprise_name")
    assert page.url == needs, "the same draft"

    press_enter_in(page, 'label.chip input[type="checkbox"]')  # Enter on a need chip sends the needs
    bundles = page.url
    assert bundles.endswith("/bundles") and lang_of(page) == "th"
    assert page.locator("#compare").is_visible() and page.locator("#province-differs").is_visible()
    check_page(visit, axe_source, "41-keyboard-bundles", 1366)
    reload_and_back(page, bundles, needs)

    press_enter_in(page, "button.choose-bundle")
    consent = page.url
    assert consent.endswith("/consent") and lang_of(page) == "th"
    reload_and_back(page, consent, bundles)
    page.get_by_label(re.compile("ยินยอมให้ส่งข้อมูล")).focus()
    page.keyboard.press("Space")
    page.get_by_label("ชื่อผู้ให้ความยินยอม").fill("")
    type_into(page, "ชื่อผู้ให้ความยินยอม", "มะลิ ทดสอบ")
    check_page(visit, axe_source, "42-keyboard-consent", 1366)
    press_enter_in(page, "#consent_by")  # Enter in the consenting person's name sends the referral
    sent = page.url
    assert re.search(r"/desk/referrals/\d+$", sent) and lang_of(page) == "th"
    assert referral_count(server) == before + 1
    page.reload()
    assert page.url == sent and referral_count(server) == before + 1, "reload sends nothing again"
    page.go_back()
    page.wait_for_load_state("load")
    assert page.url == sent and referral_count(server) == before + 1, "Back to step 4 leads to the referral"
    visit.shot("43-keyboard-sent")
    visit.close()


def member_with_a_task(server) -> tuple[str, int]:
    from matcher import accounts
    from matcher.store import open_db
    db = open_db(server.db_path)
    try:
        referral_id, member_id = db.execute(
            "SELECT r.id, l.member_id FROM referrals r JOIN referral_legs l ON l.referral_id = r.id "
            "WHERE r.desk = 'desk-TH-50' ORDER BY r.id DESC LIMIT 1").fetchone()
    finally:
        db.close()
    return accounts.demo_username(member_id), referral_id


@pytest.mark.parametrize("size", ["phone", "wide"])
def test_the_desk_list_and_the_inbox_fit_a_phone_as_cards(browser, server, size):  # noqa: F811
    width, height = SIZES[size]
    member, _ = member_with_a_task(server)
    for account, path in (("demo-desk", "/desk/referrals"), (member, "/desk/inbox")):
        visit = Visit(browser, server, width=width, height=height)
        visit.sign_in(account)
        page = visit.go(path)
        page.wait_for_load_state("load")
        items = page.locator("li.ref-item")
        assert items.count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        assert boxes_outside(page, width) == []
        first = items.nth(0).bounding_box()
        if size == "phone":
            assert first["width"] <= width and page.locator(".ref-head").is_hidden(), "cards, no column headings"
            labels = items.nth(0).locator(".dir-label")
            assert labels.first.is_visible(), "each card labels its facts"
        else:
            assert page.locator(".ref-head").is_visible()
        assert re.match(r"หน้า \d+ จาก \d+ · รายการที่ \d+-\d+ จาก \d+", page.locator("#list-where").inner_text())
        visit.shot(f"44-{path.rsplit('/', 1)[1]}-{size}")
        visit.close()


def desk_pages(server) -> dict[str, list[str]]:
    member, referral_id = member_with_a_task(server)
    return {"demo-desk": ["/desk/cases/new", "STEPS", "/desk/referrals", f"/desk/referrals/{referral_id}",
                          "/desk/queue", "/desk/notifications", "/desk/settings/notifications"],
            member: ["/desk/inbox", f"/desk/referrals/{referral_id}", "/desk/notifications"],
            "demo-analyst": ["/desk/dashboard", "/desk/dashboard?year=2025&province=TH-50",
                             "/desk/dashboard/cell/TH-50/loan", "/desk/referrals", "/desk/dashboard/report"]}


def draft_steps(visit) -> list[str]:
    """Walk the case steps once (by mouse; the keyboard has its own test) and return their addresses."""
    page = visit.go("/desk/cases/new")
    page.locator("#enterprise_name").fill("ร้านทดสอบ axe (สมมติ)")
    page.locator("#text").fill(TEXT)
    page.locator("#case-form button[type=submit]").click()
    page.wait_for_url(STEP)
    needs = page.url
    page.locator("#needs-form button.primary").click()
    page.wait_for_url(re.compile(r"/bundles$"))
    bundles = page.url
    page.locator("button.choose-bundle").first.click()
    page.wait_for_url(re.compile(r"/consent$"))
    return [needs, bundles, page.url]


@pytest.mark.parametrize("size", ["wide", "phone"])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_page_of_every_role_passes_axe(browser, server, axe_source, lang, size):  # noqa: F811
    width, height = SIZES[size]
    for account, paths in desk_pages(server).items():
        visit = Visit(browser, server, width=width, height=height)
        visit.sign_in(account)
        if lang == "en":
            visit.go("/desk/lang/en")
        for path in paths:
            targets = draft_steps(visit) if path == "STEPS" else [path]
            for target in targets:
                visit.page.goto(target if target.startswith("http") else server.url + target)
                if "/report" not in target:  # the report is bilingual and self-contained
                    assert lang_of(visit.page) == lang
                name = re.sub(r"[^a-z0-9]+", "-", re.sub(r"[0-9a-f]{32}", "draft", target.split("/desk/", 1)[-1]))
                check_page(visit, axe_source, f"50-{account.split('-')[1]}-{name.strip('-')}-{lang}-{size}", width)
        visit.close()
    anonymous = Visit(browser, server, width=width, height=height)
    if lang == "en":
        anonymous.go("/desk/lang/en")
    for path in ("/desk/signin", "/track"):
        anonymous.go(path)
        check_page(anonymous, axe_source, f"50-public-{path.strip('/').replace('/', '-')}-{lang}-{size}", width)
    anonymous.close()


def test_the_heatmap_headings_stay_in_view_and_the_report_fits_a_phone_with_a_way_back(browser, server):  # noqa: F811
    visit = Visit(browser, server, width=1366, height=768)
    page = visit.sign_in("demo-analyst")
    page.wait_for_load_state("load")
    box = page.locator(".heat-wrap")
    heading = page.locator("table.heatmap thead th").nth(3)
    before = heading.bounding_box()
    box.evaluate("el => el.scrollTop = 600")
    after = heading.bounding_box()
    assert abs(after["y"] - before["y"]) < 2, "the heading row stays in view while the rows scroll"
    assert page.evaluate("getComputedStyle(document.querySelector('table.heatmap thead th:nth-child(4)')).writingMode")\
        == "horizontal-tb"
    cell = page.locator("table.heatmap td a").first
    with page.expect_navigation():
        cell.click()
    assert "/desk/dashboard/cell/" in page.url and page.locator("#cell-demand").is_visible()
    visit.shot("45-heatmap-cell")
    visit.close()
    phone = Visit(browser, server, width=390, height=844)
    page = phone.sign_in("demo-analyst")
    page = phone.go("/desk/dashboard/report")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391, "the report fits a phone"
    back = page.locator("p.back a")
    assert back.is_visible()
    with page.expect_navigation():
        back.click()
    assert page.url.endswith("/desk/dashboard")
    phone.shot("46-report-phone-back")
    phone.close()
