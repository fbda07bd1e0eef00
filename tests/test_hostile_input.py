"""Inputs that once answered 500: each answers a 4xx in the one error shape (JSON for the API, an HTML page
for the desk), writes nothing and leaves no traceback in the log."""

from __future__ import annotations

import io
import logging
import re
import zipfile

import pytest

from conftest import assert_error_shape
from matcher import accounts
from matcher.store import keys, open_db

DEEP = "[" * 2000 + "]" * 2000
LONG_NUMBER = "1" * 5000


@pytest.fixture
def admin(app, db_path):
    db = open_db(db_path)
    try:
        return {"Authorization": f"Bearer {keys.create_key(db, role='admin', name='hostile')['key']}"}
    finally:
        db.close()


def json_endpoints(app) -> list[str]:
    """Every POST path of the API that takes a JSON body (path parameters filled with 1)."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.rule.startswith("/api/") and "import" not in rule.rule:
            paths.append(re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule))
    return sorted(paths)


def test_every_json_endpoint_is_covered(app):
    assert {"/api/v1/match", "/api/v1/intake/classify", "/api/v1/referrals"} <= set(json_endpoints(app))


@pytest.mark.parametrize("body, words", [(DEEP, "levels deep"), ('{"top_k": %s}' % LONG_NUMBER, "digits"),
                                         ('{"needs": [%s]}' % LONG_NUMBER, "digits"),
                                         ('{"value_baht": %s.5}' % LONG_NUMBER, "digits")])
def test_deep_json_and_long_numbers_answer_400_on_every_json_endpoint(app, admin, caplog, body, words):
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        for path in json_endpoints(app):
            response = client.post(path, data=body, content_type="application/json", headers=admin)
            error = assert_error_shape(response, 400, "body")
            assert words in error["error"], (path, error)
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]


def test_a_date_at_the_end_of_the_calendar_is_a_filter_not_a_crash(client, admin):
    response = client.get("/api/v1/referrals?to=9999-12-31", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["total"] > 0


# -- the desk ----------------------------------------------------------------------------------------

@pytest.fixture
def desk_client(app, db_path):
    db = open_db(db_path)
    accounts.create_demo_accounts(db)
    db.close()
    client = app.test_client()
    html = client.get("/desk/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post("/desk/signin", data={"username": "demo-desk", "password": accounts.DEMO_PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                            client.get("/desk/cases/new").get_data(as_text=True)).group(1)
    return client


INJECTED = "/%0D%0ASet-Cookie:x=1"


@pytest.mark.parametrize("method, path", [("GET", "/desk/signin"), ("GET", "/desk/lang/en"),
                                          ("POST", "/desk/signin")])
def test_a_next_address_with_a_line_break_is_ignored(app, method, path):
    client = app.test_client()
    if method == "GET":
        response = client.get(f"{path}?next={INJECTED}")
    else:
        html = client.get("/desk/signin").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        response = client.post(path, data={"username": "nobody", "password": "wrong-password", "csrf_token": token,
                                           "next": "/\r\nSet-Cookie:x=1"})
    assert response.status_code < 500
    assert "x=1" not in response.headers.get("Set-Cookie", "")
    assert "\n" not in (response.headers.get("Location") or "")


@pytest.mark.parametrize("url", ["/desk/referrals?offset=²", "/desk/referrals?offset=" + "9" * 4400,
                                 "/desk/cases/new?enterprise_id=²", "/desk/cases/new?enterprise_id=" + "9" * 4400])
def test_odd_digits_in_desk_addresses_are_ignored(desk_client, url):
    response = desk_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("enterprise_id", ["²", "9" * 4301])
def test_odd_enterprise_ids_on_send_are_refused_on_the_field(desk_client, db_path, enterprise_id):
    before = _count(db_path, "referrals")
    response = desk_client.post("/desk/cases/send", data={
        "csrf_token": desk_client.csrf, "enterprise_id": enterprise_id, "enterprise_name": "x", "province": "TH-50",
        "text": "ต้องการเงินทุน", "needs": ["loan"], "assign.loan": "A0109", "consent": "yes", "consent_by": "x"})
    assert response.status_code == 422
    assert 'id="enterprise_id-error"' in response.get_data(as_text=True) or "enterprise_id" in response.get_data(
        as_text=True)
    assert _count(db_path, "referrals") == before


def test_the_desk_answers_503_when_the_store_cannot_take_writes(app, desk_client, db_path):
    from web import context

    def read_only_store():
        context.get_db().execute("PRAGMA query_only = 1")

    app.before_request_funcs.setdefault(None, []).append(read_only_store)
    before = _count(db_path, "referrals")
    response = desk_client.post("/desk/cases/send", data={
        "csrf_token": desk_client.csrf, "enterprise_name": "ร้านทดสอบ", "province": "TH-50", "text": "ต้องการเงินทุน",
        "needs": ["loan"], "assign.loan": "A0109", "consent": "yes", "consent_by": "ทดสอบ",
        "idempotency_key": "0123456789abcdef"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = response.get_data(as_text=True)
    assert "ฐานข้อมูล" in text and "Traceback" not in text
    assert _count(db_path, "referrals") == before


def _count(path, table: str) -> int:
    db = open_db(path)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


# -- imports -----------------------------------------------------------------------------------------

ENTITY_DOCTYPES = {
    "external entity": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    "billion laughs": '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                      '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
}


def workbook_with_doctype(doctype: str, entity: str) -> bytes:
    """A real agencies workbook whose first sheet declares entities and uses one in a cell."""
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "agencies"
    sheet.append(["external_id", "name_th", "province", "kind"])
    sheet.append(["EX-XXE-1", "PLACEHOLDER", "TH-50", "university"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = text.replace("?>", "?>" + doctype, 1) if text.startswith("<?xml") else doctype + text
                text = text.replace('t="s"', 't="inlineStr"', 0)
                text = re.sub(r"<c r=\"B2\"[^>]*>.*?</c>", f'<c r="B2" t="inlineStr"><is><t>&{entity};</t></is></c>',
                              text)
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("attack, entity", [("external entity", "e"), ("billion laughs", "d")])
def test_a_workbook_with_entities_is_refused_on_the_file_field(client, admin, db_path, attack, entity):
    before = _count(db_path, "members")
    data = workbook_with_doctype(ENTITY_DOCTYPES[attack], entity)
    response = client.post("/api/v1/admin/import", headers=admin,
                           data={"file": (io.BytesIO(data), "agencies.xlsx")}, content_type="multipart/form-data")
    body = assert_error_shape(response, 422, "file")
    assert "root:" not in response.get_data(as_text=True) and "workbook" in body["error"]
    assert _count(db_path, "members") == before


def test_a_csv_with_a_huge_header_is_refused_at_once(client, admin, db_path):
    header = ",".join(f"c{i}" for i in range(200_000))
    data = (header + "\r\n" + ",".join("x" for _ in range(3)) + "\r\n").encode()
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart
    boundary, payload = encode_multipart({"file": FileStorage(io.BytesIO(data), "agencies.csv"), "dry_run": "true"})
    response = client.post("/api/v1/admin/import", headers=admin, data=payload,
                           content_type=f"multipart/form-data; boundary={boundary}")
    body = assert_error_shape(response, 422, "file")
    assert "200,000 columns" in body["error"]
