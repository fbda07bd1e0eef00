"""The new-case steps as pages of their own: every step is POST-redirect-GET with the draft kept in the
store, so reload and Back never resend a form; step 2 links back to step 1 with everything filled in; the
province comes from the enterprise, with a notice when it is not the desk's; drafts are the account's own."""

from __future__ import annotations

import re

from matcher import accounts
from test_desk_pages import CASE, CLASSIFIED, TEXT, desk, desk_template, first_assignment, page_text, referral_id  # noqa: F401

TOKEN = "token-for-tests"
STEP = re.compile(r"^/desk/cases/([0-9a-f]{32})/(needs|bundles|consent)$")


def send(client, path, **data):
    return client.post(path, data={"csrf_token": TOKEN, **data})


def step_of(response) -> tuple[str, str]:
    assert response.status_code == 303, page_text(response)[:1500]
    found = STEP.match(response.location)
    assert found, response.location
    return found.group(1), response.location


def hidden_form(html: str, action: str) -> dict:
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S).group(1)
    data: dict = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        data.setdefault(name, []).append(value.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'"))
    return data


def test_every_step_redirects_to_its_own_page_and_reload_and_back_resend_nothing(desk):
    client = desk.client("demo-desk")
    before = {t: desk.count(t) for t in ("referrals", "enterprises", "cases")}
    token, needs_page = step_of(send(client, "/desk/cases/needs", **CASE))
    first = client.get(needs_page)
    again = client.get(needs_page)  # reload
    assert first.status_code == again.status_code == 200
    assert page_text(first) == page_text(again) and "ยืนยันความต้องการ" in page_text(first)
    chosen = hidden_form(first.get_data(as_text=True), "/desk/cases/bundles")
    assert chosen["draft"] == [token]
    same, bundles_page = step_of(send(client, "/desk/cases/bundles", **chosen, needs=["shelf_life", "loan"]))
    assert same == token, "one draft through the steps"
    html = client.get(bundles_page).get_data(as_text=True)
    assert client.get(bundles_page).status_code == 200 and f'href="{needs_page}"' in html, "a way back to step 2"
    pick = hidden_form(html, "/desk/cases/consent")
    _, consent_page = step_of(send(client, "/desk/cases/consent", **pick))
    consent = client.get(consent_page).get_data(as_text=True)
    assert client.get(needs_page).status_code == 200, "Back to step 2 shows it again"
    form = hidden_form(consent, "/desk/cases/send")
    assert form["assign.shelf_life"] == pick["assign.shelf_life"] and form["draft"] == [token]
    sent = send(client, "/desk/cases/send", **form, consent="yes", consent_by="ศรี ใจดี")
    assert sent.status_code == 302 and "/desk/referrals/" in sent.location
    assert {t: desk.count(t) for t in before} == {t: n + 1 for t, n in before.items()}
    for page in (consent_page, bundles_page, needs_page):  # Back after sending: the referral, not a resend
        back = client.get(page)
        assert back.status_code == 303 and back.location == sent.location
    assert {t: desk.count(t) for t in before} == {t: n + 1 for t, n in before.items()}
    assert desk.db.execute("SELECT data FROM case_drafts WHERE token = ?", [token]).fetchone()[0] is None, \
        "a sent draft keeps no personal data"


def test_step_two_links_back_to_step_one_with_everything_filled_in(desk):
    client = desk.client("demo-desk")
    token, needs_page = step_of(send(client, "/desk/cases/needs", **{**CASE, "province": ""}))
    html = client.get(needs_page).get_data(as_text=True)
    back = re.search(r'<a href="([^"]+)" id="change-details">', html).group(1).replace("&amp;", "&")
    step1 = client.get(back).get_data(as_text=True)
    for value in (CASE["enterprise_name"], CASE["contact_name"], CASE["contact_phone"], TEXT):
        assert value in step1
    assert f'name="draft" value="{token}"' in step1
    assert re.search(r'<option value="">[^<]*</option>', step1.split('id="province"')[1].split("</select>")[0]), \
        "a province read from the description is read again, not fixed"
    changed = send(client, "/desk/cases/needs", **{**CASE, "province": "TH-83", "draft": token})
    assert step_of(changed)[0] == token, "the same draft, corrected"
    html = client.get(needs_page).get_data(as_text=True)
    assert 'name="province" value="TH-83"' in html


def test_an_enterprise_in_another_province_is_matched_there_with_a_notice(desk):
    client = desk.client("demo-desk")
    _, needs_page = step_of(send(client, "/desk/cases/needs", **{**CASE, "province": "TH-33"}))
    html = client.get(needs_page).get_data(as_text=True)
    notice = re.search(r'id="province-differs">(.*?)</div>', html, re.S).group(1)
    assert "ศรีสะเกษ" in notice and "เชียงใหม่" in notice
    conflict = re.search(r'id="province-conflict">(.*?)</div>', html, re.S).group(1)
    assert "เชียงใหม่" in conflict and "ศรีสะเกษ" in conflict, "the description names Chiang Mai"
    _, bundles_page = step_of(send(client, "/desk/cases/bundles", **hidden_form(html, "/desk/cases/bundles"),
                                   needs=["loan"]))
    html = client.get(bundles_page).get_data(as_text=True)
    assert 'id="province-differs"' in html and "ศรีสะเกษ" in html.split('id="province-differs"')[1][:400]
    assert "0 กม." not in html


def test_the_province_named_in_the_description_is_used_and_not_flagged(desk):
    client = desk.client("demo-desk")
    _, needs_page = step_of(send(client, "/desk/cases/needs", **{**CASE, "province": ""}))
    html = client.get(needs_page).get_data(as_text=True)
    assert 'name="province" value="TH-50"' in html and 'name="province_from" value="text"' in html
    assert 'id="province-differs"' not in html and 'id="province-conflict"' not in html
    assert 'id="province-assumed"' not in html


def test_a_draft_is_the_accounts_own(desk):
    client = desk.client("demo-desk")
    _, needs_page = step_of(send(client, "/desk/cases/needs", **CASE))
    other = desk.client("demo-admin").get(needs_page)
    assert other.status_code == 303 and other.location.endswith("/desk/cases/new")
    assert CASE["contact_name"] not in page_text(desk.client("demo-admin").get(needs_page, follow_redirects=True))
    assert desk.client("demo-desk").get("/desk/cases/" + "0" * 32 + "/bundles").status_code == 303


def test_a_refused_step_keeps_the_draft_and_stays_on_the_same_address(desk):
    client = desk.client("demo-desk")
    token, needs_page = step_of(send(client, "/desk/cases/needs", **CASE))
    form = hidden_form(client.get(needs_page).get_data(as_text=True), "/desk/cases/bundles")
    refused = send(client, "/desk/cases/bundles", **form)  # no need ticked
    assert refused.status_code == 422 and TEXT in refused.get_data(as_text=True)
    assert f'name="draft" value="{token}"' in refused.get_data(as_text=True)


def test_a_refused_value_keeps_what_the_member_typed_with_a_format_hint(desk, referral_id):
    leg_id, member_id = desk.db.execute("SELECT id, member_id FROM referral_legs WHERE referral_id = ? ORDER BY id",
                                        [referral_id]).fetchone()
    member = desk.client(accounts.demo_username(member_id))
    path = f"/desk/referrals/{referral_id}/legs/{leg_id}"
    for status in ("accepted", "in_progress"):
        assert send(member, path, status=status).status_code == 302
    note = "ยืดอายุได้ 30 วัน"
    refused = send(member, path, status="completed", value_baht="สองแสนบาท", note=note)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    form = html.split(f'id="value-{leg_id}"')[1]
    assert form.startswith(' name="value_baht"') and 'value="สองแสนบาท"' in form.split(">")[0]
    assert f">{note}</textarea>" in form, "the note is kept"
    hint = re.search(rf'id="value-hint-{leg_id}">(.*?)</p>', html).group(1)
    assert "200,000" in hint and 'aria-describedby="action-error value-hint' in form.split(">")[0]
    assert desk.db.execute("SELECT status FROM referral_legs WHERE id = ?", [leg_id]).fetchone()[0] == "in_progress"
    done = send(member, path, status="completed", value_baht="200,000", note=note)
    assert done.status_code == 302


def test_the_consent_line_never_shows_an_empty_name(desk, referral_id):
    member_id = desk.db.execute("SELECT member_id FROM referral_legs WHERE referral_id = ? ORDER BY id",
                                [referral_id]).fetchone()[0]
    for username in ("demo-desk", accounts.demo_username(member_id)):
        html = desk.client(username).get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
        line = re.search(r'id="consent-line">(.*?)</dd>', html, re.S).group(1)
        assert "ได้รับความยินยอมจาก" in line and "—" not in line and "จาก  เมื่อ" not in line
        assert re.search(r"ได้รับความยินยอมจาก(?:ศรี ใจดี|สถานประกอบการแล้ว) เมื่อ \S", line.replace("จาก ", "จาก")), line


def test_the_bundles_at_a_glance_agree_with_the_cards_and_name_organisations_not_codes(desk):
    client = desk.client("demo-desk")
    needs = ["shelf_life", "fda_registration", "loan"]
    response = client.post("/desk/cases/bundles", data={"csrf_token": TOKEN, **CASE, "needs": needs},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    glance = html.split('id="compare"')[1].split("</section>")[0]
    cards = re.findall(r'<article class="bundle".*?</article>', html, re.S)
    assert len(cards) >= 2
    who = [dict((need, name) for name, covered in re.findall(
        r'<li class="member">\s*<strong><a href="[^"]+">([^<]+)</a></strong>.*?<dd>(.*?)</dd>', card, re.S)
        for need in needs if desk_label(need) in covered) for card in cards]
    for need in needs:
        row = re.search(rf'<tr class="(same|differs)" data-need="{need}">(.*?)</tr>', glance, re.S)
        cells = re.findall(r"<td>(.*?)</td>", row.group(2))
        assert cells == [w.get(need) for w in who], (need, cells, who)
        assert (row.group(1) == "same") == (len(set(cells)) == 1), "marked the same exactly when it is"
    differ = [n for n in needs if 'class="differs" data-need="' + n + '"' in glance]
    summary = re.search(r'<p id="compare-summary">(.*?)</p>', glance, re.S).group(1)
    for need in differ:
        assert desk_label(need) in summary.split("ชุดต่างกันที่")[1]
    members = re.search(r'id="cmp_members">(.*?)</tr>', glance, re.S).group(1)
    assert [int(v) for v in re.findall(r"<td>(\d+)</td>", members)] == \
        [len(re.findall(r'<li class="member">', card)) for card in cards]
    assert not re.search(r"\b[AC]\d{4}\b", re.sub(r"<[^>]+>", " ", html.split('id="compare"')[1])), \
        "no member codes in what the page shows, only names"
    joint = re.findall(r"<li>([^<]*เคยทำงานร่วมกันมาแล้ว[^<]*)</li>", html)
    for card in cards:
        lines = re.findall(r"<li>([^<]*เคยทำงานร่วมกันมาแล้ว[^<]*)</li>", card)
        assert len(lines) == len(set(lines)), "each pair once"
    assert all(" และ " in line for line in joint)


def desk_label(code: str) -> str:
    return next(n["label_th"] for n in CLASSIFIED["needs"] if n["code"] == code)


def test_the_referral_page_names_people_and_desks_not_codes(desk, referral_id):
    html = desk.client("demo-desk").get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    text = page_text(desk.client("demo-desk").get(f"/desk/referrals/{referral_id}"))
    assert "desk-TH-50" not in text and not re.search(r"\(#\d+\)", text)
    assert not re.search(r"\b[AC]\d{4}\b", text), "no member codes in what the page shows"
    assert "ศูนย์บริการจังหวัดเชียงใหม่" in text and 'class="actor"' in html
    slip = page_text(desk.client("demo-desk").get(f"/desk/referrals/{referral_id}/slip"))
    assert "desk-TH-50" not in slip and "ศูนย์บริการจังหวัดเชียงใหม่" in slip
