"""The member directory, the member pages, the tile map and the styled error pages: the search and the view
models on the demo network (expected answers recomputed from the store with SQL of their own), then the
pages through the Flask test client in Thai and English."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import pytest

from conftest import signed_in_client
from matcher import accounts
from matcher.store import open_db
from web.desk import directory_search as ds
from web.desk import tilemap

THAI = re.compile(r"[\u0E00-\u0E7F]")


@pytest.fixture(scope="module")
def accounts_template(demo_db_template, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("directory") / "directory.db"
    shutil.copy(demo_db_template, path)
    db = open_db(path)
    accounts.create_demo_accounts(db)
    db.close()
    return path


@pytest.fixture
def site(accounts_template, tmp_path):
    from api import create_app
    path = tmp_path / "directory.db"
    shutil.copy(accounts_template, path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test"})
    db = open_db(path)
    yield Site(app, db)
    db.close()


class Site:
    def __init__(self, app, db):
        self.app, self.db = app, db

    def client(self, username: str | None = None, lang: str | None = None):
        return signed_in_client(self.app, self.db, username, lang)

    @contextlib.contextmanager
    def context(self, lang: str = "th"):
        """A request context in ``lang`` (the view models read the page's language and the snapshot)."""
        with self.app.test_request_context("/desk/directory"):
            from flask import session
            session["lang"] = lang
            yield

    def rows(self, sql: str, params=()) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()


def html(response) -> str:
    return response.get_data(as_text=True)


def text_of(response) -> str:
    import html as markup
    return markup.unescape(re.sub(r"<[^>]+>", " ", html(response)))


def get_html(client, path):
    return client.get(path, headers={"Accept": "text/html"})


def active_ids(site, where: str = "1", params=()) -> set[str]:
    return {r[0] for r in site.rows(
        f"SELECT m.id FROM members m LEFT JOIN agencies a ON a.member_id = m.id WHERE m.active = 1 AND {where}", params)}


# -- the search ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [("สำนักงาน อุตสาหกรรม", "สำนักงานอุตสาหกรรมจังหวัด"),
                                           ("Chiang  MAI", "chiang mai"), ("ศูนย์\u200bส่งเสริม", "ศูนย์ส่งเสริม")])
def test_names_match_without_regard_to_case_or_spacing(typed, stored):
    assert ds.name_key(typed) in ds.name_key(stored)


def test_each_filter_finds_what_the_store_holds(site):
    with site.context():
        from web.context import get_reference, get_snapshot
        snapshot, ref = get_snapshot(), get_reference()

        def found(**args):
            query = ds.parse_query(args, ref)
            assert not query.errors
            return {snapshot.members[i]["id"] for i in ds.matching_members(snapshot, query)}

        offers_gmp = "EXISTS (SELECT 1 FROM offerings o WHERE o.member_id = m.id AND o.category = 'gmp_haccp')"
        assert found(need="gmp_haccp") == active_ids(site, offers_gmp)
        assert found(province="เชียงใหม่") == found(province="TH-50") == active_ids(site, "m.province = 'TH-50'")
        assert found(kind="consultant") == active_ids(site, "m.type = 'consultant'")
        assert found(kind="agency") == active_ids(site, "m.type = 'agency'")
        assert found(kind="tcg") == active_ids(site, "a.kind = 'tcg'")
        by_name = active_ids(site, "replace(m.name_th, ' ', '') LIKE '%สำนักงานอุตสาหกรรม%'")
        assert by_name and found(name="สำนักงาน อุตสาหกรรม") == by_name
        assert found(name="industry office") == active_ids(site, "lower(m.name_en) LIKE '%industry office%'")
        somchai = active_ids(site, "m.type = 'consultant' AND m.name_en LIKE 'Somchai %'")
        assert somchai and found(name="somchai", kind="consultant") == somchai
        both = found(need="gmp_haccp", province="TH-50", kind="consultant")
        assert both == active_ids(site, f"{offers_gmp} AND m.province = 'TH-50' AND m.type = 'consultant'")


def test_the_map_counts_every_province_without_the_province_filter(site):
    with site.context():
        from web.context import get_reference, get_snapshot
        query = ds.parse_query({"need": "loan", "province": "TH-50"}, get_reference())
        counts = ds.counts_by_province(get_snapshot(), query)
    expected = dict(site.rows(
        "SELECT m.province, count(*) FROM members m JOIN offerings o ON o.member_id = m.id "
        "WHERE m.active = 1 AND o.category = 'loan' GROUP BY m.province"))
    assert counts == expected and len(counts) > 1


@pytest.mark.parametrize("args, field", [({"need": "gmp"}, "need"), ({"province": "Chaing Mia"}, "province"),
                                         ({"kind": "bank"}, "kind"), ({"page": "x"}, "page"), ({"page": "0"}, "page"),
                                         ({"name": "ก" * 101}, "name")])
def test_bad_filters_are_named_and_ignored(site, args, field):
    with site.context():
        from web.context import get_reference
        query = ds.parse_query(args, get_reference())
    assert list(query.errors) == [field]


@pytest.mark.parametrize("total, page, expected", [
    (132, 3, {"page": 3, "pages": 7, "first": 41, "last": 60, "previous": 2, "next": 4, "offered": [1, 2, 3, 4, 5, 7]}),
    (132, 7, {"page": 7, "pages": 7, "first": 121, "last": 132, "previous": 6, "next": None}),
    (132, 99, {"page": 7, "first": 121}),  # past the end: the last page
    (0, 1, {"page": 1, "pages": 1, "first": 0, "last": 0, "previous": None, "next": None}),
    (20, 1, {"pages": 1, "first": 1, "last": 20, "next": None}),
])
def test_pagination_says_where_you_are(total, page, expected):
    got = ds.pagination(total, page)
    assert {k: got[k] for k in expected} == expected


def test_results_are_in_thai_dictionary_order_agencies_first(site):
    from web.desk import i18n
    with site.context("th"):
        from web.context import get_reference, get_snapshot
        snapshot = get_snapshot()
        found = ds.search(snapshot, ds.parse_query({"province": "TH-50", "page": "1"}, get_reference()))
        members = [snapshot.members[i] for i in found["indices"]]
    types = [m["type"] for m in members]
    assert types == sorted(types)  # "agency" < "consultant"
    names = [m["name_th"] for m in members if m["type"] == "agency"]
    assert names == sorted(names, key=i18n.thai_sort_key)


# -- the tile map ----------------------------------------------------------------------------------------

def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    def luminance(colour):
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_tile_colour_keeps_text_readable():
    for fill, ink in tilemap.PALETTE:
        assert contrast(fill, ink) >= 4.5, (fill, ink)


@pytest.mark.parametrize("highest, classes", [(0, []), (1, [(1, 1)]), (3, [(1, 1), (2, 2), (3, 3)]),
                                               (7, [(1, 2), (3, 4), (5, 6), (7, 7)]),
                                               (41, [(1, 11), (12, 22), (23, 33), (34, 41)])])
def test_count_classes_cover_every_count_once(highest, classes):
    assert tilemap.count_classes(highest) == classes
    for n in range(1, highest + 1):
        assert sum(low <= n <= high for low, high in classes) == 1


def test_the_tile_map_places_77_provinces_on_their_own_tiles_roughly_where_they_lie(ref):
    tiles = ref.province_tiles()
    assert set(tiles) == set(ref.province_by_code) and len({(t["col"], t["row"]) for t in tiles.values()}) == 77
    # north is up and east is right: Chiang Rai above Bangkok above Songkhla; Ubon to the east of Tak
    assert tiles["TH-57"]["row"] < tiles["TH-10"]["row"] < tiles["TH-90"]["row"]
    assert tiles["TH-34"]["col"] > tiles["TH-63"]["col"]
    assert len({t["abbr_th"] for t in tiles.values()}) == len({t["abbr_en"] for t in tiles.values()}) == 77


def test_the_map_view_model_colours_links_and_tells_the_counts(site):
    with site.context("en"):
        view = tilemap.tile_map({"TH-50": 12, "TH-57": 3, "TH-10": 0}, selected="TH-57",
                                label=lambda name, n: f"{name}: {n}", href=lambda code: f"/x?province={code}")
    tiles = {t["code"]: t for t in view["tiles"]}
    assert len(tiles) == 77 and view["total"] == 15 and view["provinces_with"] == 2
    assert tiles["TH-50"]["fill"] == tilemap.PALETTE[4][0] and tiles["TH-10"]["fill"] == tilemap.PALETTE[0][0]
    assert tiles["TH-50"]["href"] == "/x?province=TH-50" and tiles["TH-10"]["href"] is None
    assert tiles["TH-57"]["selected"] and tiles["TH-50"]["label"] == "Chiang Mai: 12"
    assert [t["code"] for t in view["table"]] == ["TH-50", "TH-57"]
    assert [item["text"] for item in view["legend"]] == ["0", "1-3", "4-6", "7-9", "10-12"]


# -- the member page's numbers -----------------------------------------------------------------------------

def busiest_agency(site) -> str:
    return site.rows("SELECT l.member_id FROM referral_legs l JOIN members m ON m.id = l.member_id "
                     "WHERE m.type = 'agency' GROUP BY l.member_id ORDER BY count(*) DESC, l.member_id LIMIT 1")[0][0]


def test_the_member_view_counts_its_work_from_the_store(site):
    from web.desk.directory_views import member_view
    member_id = busiest_agency(site)
    legs = site.rows("SELECT status, value_baht, needs FROM referral_legs WHERE member_id = ?", [member_id])
    with site.context("th"):
        from web.context import get_db, get_snapshot
        view = member_view(get_db(), get_snapshot(), member_id)
    totals = view["work"]["totals"]
    assert totals["received"] == len(legs)
    assert totals["completed"] == sum(s == "completed" for s, _, _ in legs)
    assert totals["finished"] == sum(s in ("completed", "closed_unresolved") for s, _, _ in legs)
    assert totals["open"] == sum(s in ("sent", "accepted", "in_progress") for s, _, _ in legs)
    assert totals["value_baht"] == pytest.approx(sum(v or 0 for s, v, _ in legs if s == "completed"))
    assert totals["rate"] == pytest.approx(totals["completed"] / totals["finished"])
    assert view["capacity"]["used"] == totals["open"]
    capacity = site.rows("SELECT sum(capacity_month) FROM offerings WHERE member_id = ?", [member_id])[0][0]
    assert view["capacity"]["total"] == capacity and view["capacity"]["left"] == max(capacity - totals["open"], 0)
    import json
    for row in view["work"]["by_category"]:
        mine = [(s, v) for s, v, needs in legs if row["category"] in json.loads(needs)]
        assert row["received"] == len(mine) and row["completed"] == sum(s == "completed" for s, _ in mine)
    assert view["contact"]["address"].endswith("(ที่อยู่สมมติ)") and view["contact"]["hours"]


def test_specialisation_is_said_in_words(site):
    from web.desk.directory_views import specialisation_words
    with site.context("en"):
        assert [specialisation_words(v) for v in (0.95, 0.85, 0.7, 0.5, 0.49, 0.0)] == [
            "highly specialised", "highly specialised", "specialised", "experienced", "general service",
            "general service"]


# -- the pages ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("account", ["demo-desk", "demo-a0001", "demo-analyst", "demo-admin"])
@pytest.mark.parametrize("lang", ["th", "en"])
def test_every_role_finds_the_directory_in_its_menu_and_in_its_language(site, account, lang):
    client = site.client(account, lang)
    home = client.get("/", follow_redirects=True)
    assert 'href="/desk/directory"' in html(home)
    response = client.get("/desk/directory")
    assert response.status_code == 200 and f'<html lang="{lang}">' in html(response)
    body = text_of(response)
    assert ("ทำเนียบสมาชิกเครือข่าย" in body) == (lang == "th") and ("Member directory" in body) == (lang == "en")
    assert "ข้อมูลสมมติ" in body


def test_a_search_page_says_where_it_is_and_links_the_pages(site):
    client = site.client("demo-desk")
    total = len(active_ids(site))
    response = client.get("/desk/directory?page=2")
    body = text_of(response)
    pages = -(-total // 20)
    assert f"หน้า 2 จาก {pages} · 21-40 จาก {total}" in body
    assert 'aria-current="page"' in html(response) and "/desk/directory?page=3" in html(response)
    assert html(response).count('class="dir-item"') == 20


def test_results_show_names_not_codes(site):
    response = site.client("demo-desk", "en").get("/desk/directory?kind=consultant")
    names = re.findall(r'<div class="dir-name"><a href="[^"]+">([^<]+)</a>', html(response))
    assert len(names) == 20
    for name in names:
        assert not re.search(r"\b[AC]\d{4}\b|desk-TH|TH-\d\d|#\d", name), name
        assert not THAI.search(name) and "(consultant, synthetic)" in name


def test_a_province_tile_filters_by_that_province(site):
    client = site.client("demo-desk")
    response = client.get("/desk/directory?need=loan")
    link = re.search(r'<a href="([^"]+)" class="tile-link"><title>เชียงใหม่ มีสมาชิก (\d+) ราย</title>', html(response))
    assert link, "the Chiang Mai tile is a link with its count"
    target = link.group(1).replace("&amp;", "&")
    assert "need=loan" in target and "province=TH-50" in target
    filtered = client.get(target)
    expected = active_ids(site, "m.province = 'TH-50' AND EXISTS (SELECT 1 FROM offerings o WHERE o.member_id = m.id "
                                "AND o.category = 'loan')")
    assert len(expected) == int(link.group(2))
    assert set(re.findall(r'data-member="([AC]\d+)"', html(filtered))) == expected
    assert 'class="tile tile-selected" data-province="TH-50"' in html(filtered)


def test_bad_filters_get_a_422_that_names_the_field_and_keeps_the_rest(site):
    response = site.client("demo-desk").get("/desk/directory?need=gmp&name=%E0%B8%AA%E0%B8%B3%E0%B8%99%E0%B8%B1%E0%B8%81")
    assert response.status_code == 422
    assert 'id="dir-need" name="need" aria-invalid="true"' in html(response)
    assert "ไม่รู้จักบริการ 'gmp'" in text_of(response) and 'value="สำนัก"' in html(response)


@pytest.mark.parametrize("lang, words", [("th", ("ที่ตั้งและการติดต่อ", "เวลาทำการ", "จันทร์-ศุกร์", "ผลงานที่ผ่านมา")),
                                         ("en", ("Address and contact", "Opening hours", "Mon-Fri", "Work so far"))])
def test_an_agency_page_shows_what_it_offers_where_when_and_its_work(site, lang, words):
    member_id = busiest_agency(site)
    response = site.client("demo-desk", lang).get(f"/desk/directory/{member_id}")
    assert response.status_code == 200
    body = text_of(response)
    for word in words:
        assert word in body, word
    address, phone = site.rows("SELECT address, phone FROM agencies WHERE member_id = ?", [member_id])[0]
    assert address in html(response) and phone in body
    assert re.search(r"spec_|specialisation\b|0\.\d\d", body) is None, "specialisation in words, not numbers"


def test_a_consultant_page_shows_only_what_is_public(site):
    consultant = site.rows("SELECT member_id FROM consultants WHERE affiliation IS NOT NULL ORDER BY member_id LIMIT 1")[0][0]
    response = site.client("demo-desk", "en").get(f"/desk/directory/{consultant}")
    body = text_of(response)
    assert response.status_code == 200 and "Consultants are individuals" in body
    assert "Address and contact" not in body and "Work so far" not in body and "Phone" not in body
    name_en = site.rows("SELECT name_en FROM members WHERE id = ?", [consultant])[0][0]
    assert name_en in body and "Affiliation" in body


def test_the_member_page_links_back_to_the_same_search(site):
    client = site.client("demo-desk")
    listing = html(client.get("/desk/directory?need=loan&page=2"))
    link = re.search(r'<div class="dir-name"><a href="([^"]+)"', listing).group(1).replace("&amp;", "&")
    member = html(client.get(link))
    back = re.search(r'<p class="back-link"><a href="([^"]+)"', member).group(1).replace("&amp;", "&")
    assert back.startswith("/desk/directory?") and "need=loan" in back and "page=2" in back


def test_the_directory_needs_a_sign_in(site):
    response = site.client().get("/desk/directory")
    assert response.status_code == 302 and "/desk/signin" in response.location


# -- the error pages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, title, text", [("th", "ไม่พบหน้าที่ต้องการ", "ที่อยู่อาจพิมพ์ผิด"),
                                              ("en", "Page not found", "the address may be mistyped")])
@pytest.mark.parametrize("path", ["/desk/nothing-here", "/no/such/page", "/desk/directory/Z9999"])
def test_unknown_pages_get_the_styled_page_in_the_page_language(site, lang, title, text, path):
    response = get_html(site.client("demo-desk", lang), path)
    body = text_of(response)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert f'<html lang="{lang}">' in html(response) and title in body and 'class="next-steps"' in html(response)
    assert "/api/v1/docs" not in html(response) and "GET /" not in body
    if path != "/desk/directory/Z9999":
        assert text in body
    other = "Page not found" if lang == "th" else "ไม่พบหน้าที่ต้องการ"
    assert other not in body, "one language per page"


def test_a_missing_referral_is_said_in_the_desk_language_with_the_list_to_go_to(site):
    response = get_html(site.client("demo-desk"), "/desk/referrals/999999")
    body = text_of(response)
    assert response.status_code == 404 and "ไม่พบการส่งต่อเลขที่ 999999" in body
    assert 'href="/desk/referrals">ดูรายการส่งต่อทั้งหมด' in html(response)
    assert "/api/v1" not in body and "list them" not in body


@pytest.mark.parametrize("lang, words", [("th", "ไม่มีสิทธิ์เปิดหน้านี้"), ("en", "You may not open this page")])
def test_a_page_of_another_role_is_a_styled_403(site, lang, words):
    response = get_html(site.client("demo-a0001", lang), "/desk/dashboard")
    assert response.status_code == 403 and words in text_of(response)
    assert "/" not in text_of(response).split(words)[1].split("(")[0]  # no paths in the explanation
    assert ("may not use this page" in text_of(response)) == (lang == "en")


def test_an_unexpected_error_is_a_styled_500_without_detail(site, monkeypatch):
    from web.desk import directory_pages

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")
    monkeypatch.setattr(directory_pages, "search", boom)
    response = get_html(site.client("demo-desk", "en"), "/desk/directory")
    body = text_of(response)
    assert response.status_code == 500 and "Something went wrong" in body and "secret internal detail" not in body
    assert 'href="/desk/directory">Try this page again' in html(response)


def test_a_busy_store_is_a_styled_503(site, monkeypatch):
    import sqlite3

    from web.desk import directory_pages

    def busy(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(directory_pages, "search", busy)
    response = get_html(site.client("demo-desk"), "/desk/directory")
    assert response.status_code in (500, 503)
    assert "Traceback" not in html(response) and "database is locked" not in html(response)
    assert ("ระบบยังไม่พร้อมให้บริการ" if response.status_code == 503 else "ระบบขัดข้อง") in text_of(response)


def test_the_api_keeps_its_json_error_shape(site):
    from conftest import assert_error_shape
    assert_error_shape(get_html(site.client("demo-desk"), "/api/v1/no-such-thing"), 404)
    assert_error_shape(site.client().get("/api/v1/agencies/Z1"), 404, "id")


def test_print_stylesheet_is_linked_for_print_only(site):
    response = site.client("demo-desk").get("/desk/directory")
    assert re.search(r'<link rel="stylesheet" href="/static/print\.css" media="print">', html(response))
    sheet = site.client().get("/static/print.css")
    css = sheet.get_data(as_text=True)
    sheet.close()
    assert "@page" in css and "A4" in css and "nav" in css
