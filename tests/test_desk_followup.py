"""The desk's follow-up pages through the Flask test client: each need's status with close and re-open, the
plan with the other organisations for a member, the needs-action queue, unread counts and notifications,
notification settings, satisfaction, the printable slip and the public status page by tracking code."""

from __future__ import annotations

import re


from matcher import accounts
from test_desk_pages import Desk, desk, desk_template, legs_of, page_text, post, referral_id  # noqa: F401


def sign(desk, who="demo-desk", lang=None):
    return desk.client(who, lang=lang)


def test_a_declined_need_shows_as_needing_action_and_the_desk_closes_and_reopens_it(desk, referral_id):
    legs = legs_of(desk.db, referral_id)
    loan = next(leg for leg in legs if leg["member_id"] == "A0109")
    member = sign(desk, accounts.demo_username("A0109"))
    post(member, f"/desk/referrals/{referral_id}/legs/{loan['id']}", status="declined", reason="no_capacity")
    client = sign(desk)
    text = page_text(client.get(f"/desk/referrals/{referral_id}"))
    assert "ต้องดำเนินการ" in text and "สมาชิกปฏิเสธ" in text
    refused = post(client, f"/desk/referrals/{referral_id}/needs/loan/close", reason="")
    assert refused.status_code == 422 and "กรุณาเลือกเหตุผลที่ปิดความต้องการ" in page_text(refused)
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    closed = post(client, f"/desk/referrals/{referral_id}/needs/loan/close", reason="enterprise_withdrew",
                  note="ผู้ประกอบการขอยกเลิกเรื่องสินเชื่อ")
    assert closed.status_code == 302
    html = client.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    assert 'data-need-status="closed_unmet"' in html and "ผู้ประกอบการขอยกเลิก" in html
    reopened = post(client, f"/desk/referrals/{referral_id}/needs/loan/reopen")
    assert reopened.status_code == 302
    assert 'data-need-status="needs_action"' in client.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)


def test_a_member_sees_the_plan_and_the_other_organisations_but_acts_on_its_own_leg(desk, referral_id):
    member = sign(desk, accounts.demo_username("A0124"))
    html = member.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    plan = re.search(r'<section class="card" aria-labelledby="plan-h">(.*?)</section>', html, re.S).group(1)
    other = desk.db.execute("SELECT name_th FROM members WHERE id = 'A0109'").fetchone()[0]
    assert other in plan and "สินเชื่อและเงินทุนหมุนเวียน" in plan, "the other organisation and its need"
    assert html.count('class="card leg"') == 1, "actions on its own leg only"
    assert "tracking-code" not in html and "พิมพ์ใบส่งต่อบริการ" not in html


def test_the_queue_lists_declined_legs_to_rematch_and_old_legs_not_accepted(desk, referral_id):
    loan = next(leg for leg in legs_of(desk.db, referral_id) if leg["member_id"] == "A0109")
    post(sign(desk, accounts.demo_username("A0109")), f"/desk/referrals/{referral_id}/legs/{loan['id']}",
         status="declined", reason="out_of_area")
    client = sign(desk)
    response = client.get("/desk/queue")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rematch = re.search(r'id="queue-rematch"(.*?)</section>', html, re.S).group(1)
    assert f"#{referral_id}" in rematch and "อยู่นอกพื้นที่ให้บริการ" in rematch
    stale = "".join(re.search(rf'id="queue-{g}"(.*?)</section>', html, re.S).group(1)
                    for g in ("not_accepted", "past_due"))
    demo_open = desk.db.execute("SELECT count(*) FROM referral_needs n JOIN referrals r ON r.id = n.referral_id "
                                "WHERE r.desk = 'desk-TH-50' AND n.detail IN ('not_accepted', 'past_due')").fetchone()[0]
    assert demo_open > 0 and stale.count("<td><a href=\"/desk/referrals/") == demo_open, "the demo's 2018 open legs"
    english = sign(desk, lang="en").get("/desk/queue")
    assert "Not accepted within 3 working days" in page_text(english)


def test_unread_counts_follow_notifications_and_reading_the_referral(desk, referral_id):
    loan = next(leg for leg in legs_of(desk.db, referral_id) if leg["member_id"] == "A0109")
    client = sign(desk)
    before = int(re.search(r'data-unread="(\d+)"', client.get("/desk/queue").get_data(as_text=True) or "")
                 .group(1)) if 'data-unread' in client.get("/desk/queue").get_data(as_text=True) else 0
    post(sign(desk, accounts.demo_username("A0109")), f"/desk/referrals/{referral_id}/legs/{loan['id']}",
         status="declined", reason="no_capacity")
    html = client.get("/desk/notifications").get_data(as_text=True)
    assert f'data-unread="{before + 1}"' in html and "สมาชิกปฏิเสธงาน" in html
    client.get(f"/desk/referrals/{referral_id}")  # reading the referral marks its notifications read
    html = client.get("/desk/notifications").get_data(as_text=True)
    assert (f'data-unread="{before}"' in html) if before else "data-unread" not in html
    member = sign(desk, accounts.demo_username("A0124"))
    assert "data-unread" in member.get("/desk/inbox").get_data(as_text=True), "the member was told of its new leg"


def test_notification_settings_are_saved_and_bad_ones_explained(desk):
    client = sign(desk)
    bad = post(client, "/desk/settings/notifications", channels="email", email="", language="th")
    assert bad.status_code == 422 and "e-mail" in page_text(bad).lower()
    ok = post(client, "/desk/settings/notifications", channels=["email", "webhook"], email="desk50@example.org",
              webhook_url="https://example.org/hooks/rismep", language="en")
    assert ok.status_code == 200 and "whsec_" in ok.get_data(as_text=True), "the webhook secret is shown once"
    again = client.get("/desk/settings/notifications").get_data(as_text=True)
    assert "desk50@example.org" in again and "whsec_" not in again


def test_satisfaction_is_asked_only_once_the_case_is_closed(desk, referral_id):
    client = sign(desk)
    assert 'name="score"' not in client.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    early = post(client, f"/desk/referrals/{referral_id}/satisfaction", score="4")
    assert early.status_code == 409
    for need in ("shelf_life", "loan"):
        post(client, f"/desk/referrals/{referral_id}/needs/{need}/close", reason="enterprise_withdrew")
    html = client.get(f"/desk/referrals/{referral_id}").get_data(as_text=True)
    assert 'name="score"' in html and "ปิดแล้ว ไม่สำเร็จ" in html
    assert post(client, f"/desk/referrals/{referral_id}/satisfaction", score="").status_code == 422
    saved = post(client, f"/desk/referrals/{referral_id}/satisfaction", score="3", note="ยังไม่ได้รับบริการ")
    assert saved.status_code == 302
    assert "คะแนน 3 จาก 5" in page_text(client.get(f"/desk/referrals/{referral_id}"))


def test_the_slip_shows_the_plan_with_addresses_what_to_bring_and_the_tracking_code(desk, referral_id):
    client = sign(desk)
    response = client.get(f"/desk/referrals/{referral_id}/slip")
    assert response.status_code == 200
    text = page_text(response)
    code = desk.db.execute("SELECT tracking_code FROM referrals WHERE id = ?", [referral_id]).fetchone()[0]
    printed = "-".join(code[i:i + 4] for i in range(0, 16, 4))
    assert "ใบส่งต่อบริการ" in text and printed in text
    address, phone = desk.db.execute("SELECT address, phone FROM agencies WHERE member_id = 'A0124'").fetchone()
    assert address in text and phone in text
    assert "ตัวอย่างผลิตภัณฑ์จากการผลิตรอบเดียวกันพร้อมวันที่ผลิต" in text, "what to bring for shelf life"
    assert sign(desk, accounts.demo_username("A0124")).get(f"/desk/referrals/{referral_id}/slip").status_code == 403


def test_the_public_status_page_shows_steps_and_statuses_only(desk, referral_id):
    code = desk.db.execute("SELECT tracking_code FROM referrals WHERE id = ?", [referral_id]).fetchone()[0]
    stranger = desk.app.test_client()
    page = stranger.get(f"/track?code={code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:].lower()}")
    assert page.status_code == 200
    text = page_text(page)
    assert "ยืดอายุผลิตภัณฑ์" in text and "ขั้น 1" in text
    for private in ("ร้านขนมเปี๊ยะแม่ศรี", "ศรี ใจดี", "081-234-5678", "A0124", "A0109",
                    desk.db.execute("SELECT name_th FROM members WHERE id = 'A0124'").fetchone()[0]):
        assert private not in text
    api = stranger.get(f"/api/v1/track/{code}").get_json()
    assert api["status"] == "sent" and [n["need"] for s in api["steps"] for n in s["needs"]] == ["shelf_life", "loan"]
    assert set(api) == {"status", "created_at", "updated_at", "steps"}
    assert stranger.get("/track?code=0000000000000000").status_code == 404
    assert stranger.get("/api/v1/track/not-a-code").status_code == 404


def test_tracking_look_ups_are_rate_limited_per_address(desk):
    desk.app.extensions["rate_limits"]["track"].limit = 3
    client = desk.app.test_client()
    statuses = [client.get("/api/v1/track/0000000000000000").status_code for _ in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
