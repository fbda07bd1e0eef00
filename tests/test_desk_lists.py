"""The desk's list and a member's inbox: search and filters that agree with the store, a pager that says
where you are, a refused filter named on its field (never a 500), names instead of codes."""

from __future__ import annotations

import re

from matcher import accounts
from test_desk_pages import desk, desk_template, page_text, referral_id  # noqa: F401

DESK = "desk-TH-50"


def count(db, where: str = "", params=()) -> int:
    return db.execute("SELECT count(*) FROM referrals r LEFT JOIN cases c ON c.id = r.case_id "
                      "LEFT JOIN enterprises e ON e.id = r.enterprise_id WHERE r.desk = ?" + where,
                      [DESK, *params]).fetchone()[0]


def where_line(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r'id="list-where"[^>]*>(.*?)</p>', html, re.S).group(1))


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/desk/referrals/(\d+)"', html)]


def test_the_desk_list_pages_by_twenty_and_says_where_you_are(desk):
    client = desk.client("demo-desk")
    total = count(desk.db)
    assert total > 20, "the demo desk has more than a page"
    pages = -(-total // 20)
    html = client.get("/desk/referrals").get_data(as_text=True)
    assert where_line(html) == f"หน้า 1 จาก {pages} · รายการที่ 1-20 จาก {total}"
    assert len(numbers(html)) == 20
    last = client.get(f"/desk/referrals?page={pages}").get_data(as_text=True)
    assert where_line(last) == f"หน้า {pages} จาก {pages} · รายการที่ {20 * (pages - 1) + 1}-{total} จาก {total}"
    assert 'aria-current="page"' in last and "ก่อนหน้า" in last
    beyond = client.get(f"/desk/referrals?page={pages + 5}").get_data(as_text=True)
    assert where_line(beyond) == where_line(last), "a page past the end shows the last one"


def test_filters_by_need_province_text_member_and_date_agree_with_the_store(desk):
    client = desk.client("demo-desk")
    need = desk.db.execute("SELECT n.value FROM referrals r JOIN cases c ON c.id = r.case_id, json_each(c.needs) n "
                           "WHERE r.desk = ? GROUP BY n.value ORDER BY count(*) LIMIT 1", [DESK]).fetchone()[0]
    expected = count(desk.db, " AND EXISTS (SELECT 1 FROM json_each(c.needs) n WHERE n.value = ?)", [need])
    html = client.get(f"/desk/referrals?need={need}").get_data(as_text=True)
    assert where_line(html).endswith(f"จาก {expected}")
    rid, name, created = desk.db.execute(
        "SELECT r.id, e.name, r.created_at FROM referrals r JOIN enterprises e ON e.id = r.enterprise_id "
        "WHERE r.desk = ? ORDER BY r.id DESC LIMIT 1", [DESK]).fetchone()
    found = client.get("/desk/referrals", query_string={"q": name[2:9]}).get_data(as_text=True)
    assert rid in numbers(found)
    assert all(name[2:9].lower() in n.lower() for n in re.findall(r'class="ref-enterprise">([^<]*)<', found))
    assert numbers(client.get(f"/desk/referrals?q=%23{rid}").get_data(as_text=True)) == [rid]
    day = created[:10]
    dated = client.get(f"/desk/referrals?from={day}&to={day}").get_data(as_text=True)
    on_day = count(desk.db, " AND substr(r.created_at, 1, 10) = ?", [day])
    assert rid in numbers(dated) and where_line(dated).endswith(f"จาก {on_day}")
    member_id, member_name = desk.db.execute(
        "SELECT m.id, m.name_th FROM referral_legs l JOIN referrals r ON r.id = l.referral_id "
        "JOIN members m ON m.id = l.member_id WHERE r.desk = ? AND m.type = 'consultant' LIMIT 1", [DESK]).fetchone()
    by_member = client.get("/desk/referrals", query_string={"member": member_name}).get_data(as_text=True)
    with_member = count(desk.db, " AND EXISTS (SELECT 1 FROM referral_legs l JOIN members m ON m.id = l.member_id "
                                 "WHERE l.referral_id = r.id AND replace(m.name_th, ' ', '') LIKE ?)",
                        ["%" + member_name.replace(" ", "") + "%"])
    assert where_line(by_member).endswith(f"จาก {with_member}") and member_id not in page_text(
        client.get("/desk/referrals", query_string={"member": member_name})), "names, not codes"
    province = desk.db.execute("SELECT c.province FROM referrals r JOIN cases c ON c.id = r.case_id WHERE r.desk = ? "
                               "GROUP BY c.province ORDER BY count(*) LIMIT 1", [DESK]).fetchone()[0]
    in_province = client.get(f"/desk/referrals?province={province}").get_data(as_text=True)
    assert where_line(in_province).endswith(f"จาก {count(desk.db, ' AND c.province = ?', [province])}")


def test_a_bad_filter_is_named_on_its_field_and_keeps_the_others(desk):
    client = desk.client("demo-desk")
    response = client.get("/desk/referrals?from=2569-13-40&q=ขนม&province=TH-999")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="from-error"' in html and "2569-13-40" in html and 'id="province-error"' in html
    assert re.search(r'id="q" name="q" value="ขนม"', html), "what was typed stays"


def test_the_inbox_lists_only_the_members_own_tasks_by_name(desk, referral_id):
    member_id = desk.db.execute("SELECT member_id FROM referral_legs WHERE referral_id = ? ORDER BY id",
                                [referral_id]).fetchone()[0]
    html = desk.client(accounts.demo_username(member_id)).get("/desk/inbox").get_data(as_text=True)
    assert referral_id in numbers(html)
    assert member_id not in page_text(desk.client(accounts.demo_username(member_id)).get("/desk/inbox"))
    own = desk.db.execute("SELECT count(DISTINCT referral_id) FROM referral_legs WHERE member_id = ?",
                          [member_id]).fetchone()[0]
    assert where_line(html).endswith(f"จาก {own}")
    assert 'id="member"' not in html, "a member does not filter by member"


def test_the_analyst_lists_every_desks_referrals_without_personal_data(desk, referral_id):
    client = desk.client("demo-analyst")
    response = client.get("/desk/referrals?q=ขนม")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="no-personal-data"' in html
    total = desk.db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    assert where_line(html).endswith(f"จาก {total}"), "every desk's, and the text search is not offered"
    names = [r[0] for r in desk.db.execute("SELECT name FROM enterprises WHERE name IS NOT NULL")]
    contacts = [r[0] for r in desk.db.execute("SELECT contact_phone FROM enterprises WHERE contact_phone IS NOT NULL")] \
        if "contact_phone" in {c[1] for c in desk.db.execute("PRAGMA table_info(enterprises)")} else []
    text = page_text(response)
    assert not [n for n in names if n in text], "no enterprise names"
    assert not [c for c in contacts if c in text] and "081-234-5678" not in text and 'id="q"' not in html
    assert numbers(html) == [], "a single referral is not opened by an analyst"
    assert client.get(f"/desk/referrals/{referral_id}").status_code == 403


def test_a_heatmap_cell_drills_down_to_its_members_and_its_demand(desk):
    client = desk.client("demo-analyst")
    dashboard = client.get("/desk/dashboard").get_data(as_text=True)
    cells = re.findall(r'href="/desk/dashboard/cell/(TH-\d+)/([a-z_]+)"', dashboard)
    assert len(cells) > 1000
    assert 'class="rot"' not in dashboard, "headings read horizontally"
    province, need = "TH-50", "loan"
    assert (province, need) in cells
    html = client.get(f"/desk/dashboard/cell/{province}/{need}").get_data(as_text=True)
    here = desk.db.execute("SELECT count(*) FROM members m JOIN offerings o ON o.member_id = m.id "
                           "WHERE m.province = ? AND o.category = ?", [province, need]).fetchone()[0]
    assert len(re.findall(r'<li><a href="/desk/directory/', html.split('id="cell-here"')[1].split("</ul>")[0])) == here
    asked = desk.db.execute("SELECT count(*) FROM referrals r JOIN cases c ON c.id = r.case_id WHERE c.province = ? "
                            "AND EXISTS (SELECT 1 FROM json_each(c.needs) n WHERE n.value = ?)", [province, need]).fetchone()[0]
    unresolved = desk.db.execute("SELECT count(*) FROM referrals r JOIN cases c ON c.id = r.case_id WHERE c.province = ? "
                                 "AND EXISTS (SELECT 1 FROM json_each(c.needs) n WHERE n.value = ?) AND r.status != 'completed'",
                                 [province, need]).fetchone()[0]
    line = re.search(r'id="cell-demand">(.*?)</p>', html).group(1)
    assert f"{asked} เรื่อง" in line and f"ยังไม่ได้รับการแก้ไขครบ {unresolved} เรื่อง" in line
    assert f'href="/desk/referrals?province={province}&amp;need={need}"' in html
    assert client.get("/desk/dashboard/cell/TH-999/loan").status_code == 404


def test_single_points_of_failure_name_each_service_once_with_its_numbers_explained(desk):
    html = desk.client("demo-analyst").get("/desk/dashboard").get_data(as_text=True)
    section = html.split('id="spof-h"')[1].split("</section>")[0]
    assert 'id="spof-explained"' in section
    for row in re.findall(r"<tr><td>.*?</tr>", section, re.S):
        services = re.findall(r"<li>([^<:]+):", row)
        assert len(services) == len(set(services)), row
        assert not re.search(r"\([AC]\d{4}", row), "names, not codes"


def test_the_report_links_back_and_dates_in_the_buddhist_era(desk):
    html = desk.client("demo-analyst").get("/desk/dashboard/report").get_data(as_text=True)
    assert re.search(r'<body><p class="back"><a href="/desk/dashboard">‹ กลับไปหน้าภาพรวม</a></p>', html)
    generated = re.search(r"generated (\d+)/(\d+)/(\d{4}) \d\d:\d\d \(เวลาประเทศไทย", html)
    assert generated and int(generated.group(3)) >= 2500, "a Buddhist-era year"
    assert "table{display:block;overflow-x:auto;max-width:100%}" in html, "wide tables scroll inside the page"


def test_the_dashboard_filters_by_year_and_province_with_the_kpis_figures(desk):
    from matcher.analysis import kpis as kpi
    from matcher.reference import load_reference
    from conftest import DATA_DIR
    figures = kpi.kpis(desk.db, load_reference(DATA_DIR))
    year = max(r["year"] for r in figures["by_year"])
    row = next(r for r in figures["by_year"] if r["year"] == year)
    client = desk.client("demo-analyst")
    html = client.get(f"/desk/dashboard?year={year}&province=TH-50").get_data(as_text=True)
    section = html.split('id="sel-year"')[1].split("</section>")[0]
    assert f"ปี {year + 543}" in section, "the Buddhist-era year"
    assert f"<td class=\"num\">{row['referrals']:,.0f}</td>" in section
    province = html.split('id="sel-province"')[1].split("</section>")[0]
    assert "เชียงใหม่" in province
    assert f"<td class=\"num\">{figures['by_province']['TH-50']['referrals']:,.0f}</td>" in province
    refused = client.get("/desk/dashboard?year=1066")
    assert refused.status_code == 422 and 'id="year-error"' in refused.get_data(as_text=True)
