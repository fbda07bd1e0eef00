"""Spreadsheet import: templates, matching by any name, all-or-nothing writes, bad files, the admin endpoint
and the import-members command. Runs on private copies of the synthetic demo network."""

from __future__ import annotations

import codecs
import csv
import io
import json
import threading
from pathlib import Path

import openpyxl
import pytest

from matcher.hygiene import thai_normalised
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from conftest import assert_error_shape
from matcher.exchange import importer, tables
from matcher.errors import Unprocessable
from matcher.exchange.importer import import_file
from matcher.exchange.tables import FileTooLarge
from matcher.store import data_version, directory, open_db

TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "import_templates"
ORDER = ("agencies.csv", "agencies_th.csv", "consultants.csv", "offerings.csv", "enterprises.csv")
AGENCY_HEADER = "external_id,name_th,name_en,province,kind\n"


def run(db, ref, text: str | bytes, name="agencies.csv", **kw) -> dict:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_file(db, data, name, ref=ref, **kw)


def problems(report) -> list[tuple]:
    return [(p["row"], p["column"], p["code"]) for p in report["problems"]]


def snapshot(db) -> tuple:
    """Everything an import may touch, to show that a refused file changed nothing."""
    return (data_version(db), db.execute("SELECT count(*), group_concat(name_th) FROM members").fetchone(),
            db.execute("SELECT count(*), sum(capacity_month) FROM offerings").fetchone(),
            db.execute("SELECT count(*) FROM enterprises").fetchone())


def member_by_external_id(db, external_id: str) -> dict:
    member_id = db.execute("SELECT id FROM members WHERE external_id = ?", [external_id]).fetchone()[0]
    return directory.get_member(db, member_id)


# -- the templates -----------------------------------------------------------------------------------

def test_templates_import_in_order_and_again_as_updates(db, ref):
    first = {name: run(db, ref, (TEMPLATES / name).read_bytes(), name) for name in ORDER}
    assert all(r["valid"] and r["imported"] and not r["warnings"] for r in first.values())
    assert first["agencies.csv"]["counts"]["agencies"] == {"inserted": 3, "updated": 0}
    assert first["offerings.csv"]["counts"]["offerings"] == {"inserted": 6, "updated": 0}
    assert first["agencies_th.csv"]["sheets"][0]["kind"] == "agencies"  # told by its Thai headers
    uni = member_by_external_id(db, "EX-CM-UNI-01")
    assert uni["id"] == "A0246" and uni["province"] == "TH-50" and uni["kind"] == "university"
    assert uni["name_th"] == "คณะอุตสาหกรรมเกษตร มหาวิทยาลัยตัวอย่าง (ตัวอย่าง)"
    assert uni["sectors"] == ["food", "herbs_cosmetics"] and uni["synthetic"] is False
    assert {(o["category"], o["capacity_month"], o["specialisation"]) for o in uni["offerings"]} == {
        ("shelf_life", 6, 0.85), ("rnd_product", 4, 0.8)}
    assert uni["hours"] == "Mo-Fr 08:30-16:30" and "อำเภอเมืองเชียงใหม่" in uni["address"]
    assert member_by_external_id(db, "EX-CR-TCG-01")["hours"] == "Mo-Fr 08:30-15:30"  # "จ.-ศ. 08.30-15.30 น."
    assert member_by_external_id(db, "EX-CM-PHO-01")["hours"] == "Mo-Fr 08:30-16:30"  # Thai headers and words
    sp = member_by_external_id(db, "EX-CM-SP-001")
    assert sp["type"] == "consultant" and sp["affiliation"] == "A0246" and sp["years_experience"] == 12
    ent = db.execute("SELECT sector, size, tax_id, contact_email FROM enterprises WHERE external_id = 'EX-ENT-0002'"
                     ).fetchone()
    assert ent == ("textiles", "small", "0105512345671", None)
    again = {name: run(db, ref, (TEMPLATES / name).read_bytes(), name) for name in ORDER}
    assert all(c["inserted"] == 0 for r in again.values() for k, c in r["counts"].items() if k != "new_ids")
    assert again["offerings.csv"]["counts"]["offerings"]["updated"] == 6


@pytest.mark.parametrize("name", ORDER)
def test_every_template_is_documented_column_by_column(name):
    doc = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    header = (TEMPLATES / name).read_text(encoding="utf-8").splitlines()[0].split(",")
    assert f"`{name}`" in doc
    for column in header:
        assert f"`{column}`" in doc, column


def test_readme_lists_every_column_of_every_kind():
    doc = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    for kind, columns in importer.COLUMNS.items():
        for column in columns:
            assert f"`{column.name}`" in doc and all(a in doc for a in column.aliases[:1]), (kind, column.name)


# -- matching by code, English or Thai name; suggest, never guess ---------------------------------------

@pytest.mark.parametrize("province, kind", [
    ("TH-50", "university"), ("Chiang Mai", "University (research and technology transfer)"),
    ("เชียงใหม่", "มหาวิทยาลัย / ราชภัฏ / ราชมงคล"), ("จังหวัดเชียงใหม่", "UNIVERSITY"),
    ("chiang-mai", " university ")])
def test_province_and_kind_by_code_english_or_thai(db, ref, province, kind):
    run(db, ref, AGENCY_HEADER + f"Z1,ทดสอบ,Test,{province},{kind}\n")
    got = member_by_external_id(db, "Z1")
    assert (got["province"], got["kind"]) == ("TH-50", "university")


@pytest.mark.parametrize("category", ["credit_guarantee", "Credit guarantee", "ค้ำประกันสินเชื่อ", "CREDIT GUARANTEE"])
def test_category_by_code_english_or_thai(db, ref, category):
    report = run(db, ref, f"member,category,capacity_month\nA0001,{category},7\n", "offerings.csv")
    assert report["counts"]["offerings"]["inserted"] == 1
    assert {"category": "credit_guarantee", "capacity_month": 7, "specialisation": 0.5} in \
        directory.get_member(db, "A0001")["offerings"]


@pytest.mark.parametrize("row, column, code, suggestion", [
    ("Z1,ทดสอบ,,Chiang Mia,university", "province", "unknown_province", "TH-50 Chiang Mai (เชียงใหม่)"),
    ("Z1,ทดสอบ,,เชียงใหม,university", "province", "unknown_province", "เชียงใหม่"),
    ("Z1,ทดสอบ,,TH-50,univercity", "kind", "unknown_kind", "university (University"),
    ("Z1,ทดสอบ,,TH-50,มหาวิทยาลัย", "kind", "unknown_kind", "university"),
])
def test_close_misspellings_are_suggested_not_taken(db, ref, row, column, code, suggestion):
    before = snapshot(db)
    report = run(db, ref, AGENCY_HEADER + row + "\n", dry_run=True)
    assert report["valid"] is False and problems(report) == [(2, column, code)]
    assert suggestion in report["problems"][0]["fix"] and report["problems"][0]["problem_th"]
    assert snapshot(db) == before


def test_misspelt_category_is_suggested(db, ref):
    report = run(db, ref, "member,category,capacity_month\nA0001,credit_guarante,3\n", "offerings.csv", dry_run=True)
    assert problems(report) == [(2, "category", "unknown_category")]
    assert "Did you mean: credit_guarantee" in report["problems"][0]["fix"]


# -- upserts and exact text ------------------------------------------------------------------------------

def test_thai_text_is_kept_exactly(db, ref):
    name = "น้ำพริก\u200bแม่ดี ๑๒๓ ผู้ใหญ่ลี้ \u0e4c\u0e48"  # zero-width space, Thai digits, stacked marks
    run(db, ref, AGENCY_HEADER + f'Z1,"  {name}  ",,TH-50,university\n')
    assert member_by_external_id(db, "Z1")["name_th"] == name


def test_rows_are_upserted_by_external_id_and_absent_columns_are_kept(db, ref):
    run(db, ref, "external_id,name_th,province,kind,phone,website\n"
                 "Z1,เดิม,TH-50,university,053-111111,https://old.example\n")
    first = member_by_external_id(db, "Z1")
    run(db, ref, "external_id,name_th,province,kind,website\nZ1,ใหม่,Chiang Rai,tcg,\n")
    second = member_by_external_id(db, "Z1")
    assert second["id"] == first["id"] and second["name_th"] == "ใหม่" and second["province"] == "TH-57"
    assert second["kind"] == "tcg" and second["phone"] == "053-111111"  # phone column absent: kept
    assert second["website"] is None  # website column present but empty: cleared


def test_dry_run_writes_nothing_and_counts_what_a_real_run_does(db, ref):
    text = (TEMPLATES / "agencies.csv").read_text(encoding="utf-8")
    before = snapshot(db)
    dry = run(db, ref, text, dry_run=True)
    assert dry["valid"] and not dry["imported"] and snapshot(db) == before
    real = run(db, ref, text)
    assert real["counts"] == dry["counts"] and snapshot(db) != before


def test_one_bad_row_and_nothing_is_written(db, ref):
    before = snapshot(db)
    text = AGENCY_HEADER + "Z1,ดี,,TH-50,university\nZ2,เสีย,,Atlantis,university\nZ3,ดี,,TH-57,tcg\n"
    with pytest.raises(Unprocessable) as caught:
        run(db, ref, text)
    assert "nothing was imported" in caught.value.message
    assert [(e["row"], e["field"], e["value"]) for e in caught.value.details()] == [(3, "province", "Atlantis")]
    assert snapshot(db) == before


@pytest.mark.parametrize("text, name, expected", [
    (AGENCY_HEADER + "Z1,a,,TH-50,university\nZ1,b,,TH-50,university\n", "agencies.csv",
     [(3, "external_id", "duplicate")]),
    (AGENCY_HEADER + "Z1,,,TH-50,university\n", "agencies.csv", [(2, "name_th", "missing_value")]),
    ("member,category,capacity_month\nNOPE,loan,3\n", "offerings.csv", [(2, "member", "unknown_member")]),
    ("member,category,capacity_month\nA0001,loan,-1\nA0001,gmp_haccp,2.5\nA0002,loan,lots\n", "offerings.csv",
     [(2, "capacity_month", "out_of_range"), (3, "capacity_month", "out_of_range"),
      (4, "capacity_month", "not_a_number")]),
    ("member,category,capacity_month,specialisation\nA0001,loan,3,1.5\n", "offerings.csv",
     [(2, "specialisation", "out_of_range")]),
    ("external_id,name_th,province,affiliation\nS1,ที่ปรึกษา,TH-50,C0001\n", "consultants.csv",
     [(2, "affiliation", "unknown_member")]),
    ("external_id,name,province,contact_email,tax_id,size\nE1,ร้าน,TH-50,not-an-email,12345,huge\n", "enterprises.csv",
     [(2, "size", "unknown_value"), (2, "contact_email", "bad_format"), (2, "tax_id", "bad_format")]),
    ("external_id,name,province,cluster_id\nE1,ร้าน,TH-50,no-such-cluster\n", "enterprises.csv",
     [(2, "cluster_id", "unknown_cluster")]),
    ("external_id,name_th,province,kind,hours\nZ1,หน่วยงาน,TH-50,university,สองแสน\nZ2,หน่วยงาน,TH-50,university,Mo-Fr\n",
     "agencies.csv", [(2, "hours", "bad_format"), (3, "hours", "bad_format")]),
])
def test_bad_rows_are_reported_by_row_and_column(db, ref, text, name, expected):
    report = run(db, ref, text, name, dry_run=True)
    assert sorted(problems(report)) == sorted(expected)
    assert all(p["fix"] and p["fix_th"] for p in report["problems"])


def test_an_external_id_cannot_change_member_type(db, ref):
    run(db, ref, AGENCY_HEADER + "Z1,หน่วยงาน,,TH-50,university\n")
    report = run(db, ref, "external_id,name_th,province\nZ1,คน,TH-50\n", "consultants.csv", dry_run=True)
    assert problems(report) == [(2, "external_id", "type_clash")]


def test_a_workbook_imports_every_sheet_with_cross_references(db, ref, tmp_path):
    book = openpyxl.Workbook()
    sheets = {"หน่วยงาน": [["รหัสอ้างอิง", "ชื่อ", "จังหวัด", "ประเภทหน่วยงาน"],
                          ["W1", "หน่วยงาน ก", "Songkhla", "tcg"]],
              "consultants": [["external_id", "name_th", "province", "affiliation", "years_experience"],
                              ["WS1", "ที่ปรึกษา ข", "สงขลา", "W1", 7.0]],
              "บริการ": [["member", "category", "capacity_month"], ["W1", "credit_guarantee", 12],
                         ["WS1", "branding", 2]],
              "notes": [["anything"], ["goes here"]]}
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(db, ref, buffer.getvalue(), "network.xlsx")
    assert report["format"] == "xlsx" and report["valid"]
    assert [s["kind"] for s in report["sheets"]] == ["agencies", "consultants", "offerings"]
    assert [w["code"] for w in report["warnings"]] == ["ignored_sheet"]
    consultant = member_by_external_id(db, "WS1")
    assert consultant["affiliation"] == member_by_external_id(db, "W1")["id"]
    assert consultant["years_experience"] == 7 and consultant["offerings"][0]["category"] == "branding"


# -- bad files get a clear message and change nothing ------------------------------------------------------

def xlsx_bytes(rows, title="agencies") -> bytes:
    book = openpyxl.Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


THAI_ROW = AGENCY_HEADER + "Z1,มหาวิทยาลัยทดสอบ,,เชียงใหม่,university\n"


@pytest.mark.parametrize("data, name, status, message", [
    (b"", "agencies.csv", 422, "empty"),
    (b" \r\n \n", "agencies.csv", 422, "empty"),
    (THAI_ROW.encode("cp874"), "agencies.csv", 422, "TIS-620 / Windows-874 (cp874)"),
    (codecs.BOM_UTF16_LE + THAI_ROW.encode("utf-16-le"), "agencies.csv", 422, "UTF-16"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "agencies.xls", 422, "Excel 97-2003 (.xls)"),
    (b"external_id\x00,name\n", "agencies.csv", 422, "binary"),
    (b"PK\x03\x04 this is no zip at all", "agencies.xlsx", 422, "damaged"),
    (b"external_id,name_th\nZ1,x\n", "agencies.xlsx", 422, "not an Excel workbook"),
    (b"a,b,c\n1,2,3\n", "members.csv", 422, "--kind"),
])
def test_bad_files_are_refused_with_a_clear_message(db, ref, data, name, status, message):
    before = snapshot(db)
    with pytest.raises(Exception) as caught:
        run(db, ref, data, name)
    assert caught.value.status == status and message in caught.value.message
    assert snapshot(db) == before


def test_cp874_message_says_how_to_resave(db, ref):
    with pytest.raises(Unprocessable, match="CSV UTF-8"):
        run(db, ref, THAI_ROW.encode("cp874"))


def test_a_utf8_bom_is_fine(db, ref):
    report = run(db, ref, codecs.BOM_UTF8 + THAI_ROW.encode("utf-8"))
    assert report["encoding"] == "utf-8-sig" and member_by_external_id(db, "Z1")["name_th"] == "มหาวิทยาลัยทดสอบ"


@pytest.mark.parametrize("limit, value", [("MAX_FILE_BYTES", 100), ("MAX_ROWS", 3), ("MAX_UNPACKED_BYTES", 1000)])
def test_huge_files_are_refused(db, ref, monkeypatch, limit, value):
    monkeypatch.setattr(tables, limit, value)
    rows = "".join(f"Z{i},ชื่อ {i},,TH-50,university\n" for i in range(5))
    data = xlsx_bytes([r.split(",") for r in (AGENCY_HEADER + rows).splitlines()]) if limit == "MAX_UNPACKED_BYTES" \
        else (AGENCY_HEADER + rows).encode()
    before = snapshot(db)
    with pytest.raises(FileTooLarge) as caught:
        run(db, ref, data, "agencies.xlsx" if limit == "MAX_UNPACKED_BYTES" else "agencies.csv")
    assert caught.value.status == 413 and "split" in caught.value.message.lower()
    assert snapshot(db) == before


def test_missing_and_misspelt_columns_are_named(db, ref):
    report = run(db, ref, "external_id,name_th,provnce,kind,fax\nZ1,ชื่อ,TH-50,tcg,02\n", dry_run=True)
    assert [(p["column"], p["code"]) for p in report["problems"]] == [
        ("provnce", "misspelt_column"), ("province", "missing_column")]
    assert "Did you mean 'province'" in report["problems"][0]["fix"]
    assert [(w["column"], w["code"]) for w in report["warnings"]] == [("fax", "ignored_column")]


@pytest.mark.parametrize("data, name", [
    ((AGENCY_HEADER + 'Z1,=HYPERLINK("http://x"),,TH-50,university\n').encode(), "agencies.csv"),
    (xlsx_bytes([["external_id", "name_th", "province", "kind"], ["Z1", "=CONCAT(\"a\",\"b\")", "TH-50", "tcg"]]),
     "agencies.xlsx"),
    (xlsx_bytes([["external_id", "name_th", "province", "kind"], ["Z1", "ชื่อ", "=A1", "tcg"]]), "agencies.xlsx"),
])
def test_formulas_are_refused(db, ref, data, name):
    before = snapshot(db)
    report = run(db, ref, data, name, dry_run=True)
    assert [p["code"] for p in report["problems"]] == ["formula"]
    assert "Paste Special > Values" in report["problems"][0]["fix"]
    with pytest.raises(Unprocessable):
        run(db, ref, data, name)
    assert snapshot(db) == before


# -- concurrency and a property --------------------------------------------------------------------------

def test_concurrent_imports_lose_nothing(db_path, ref):
    def worker(prefix: str, errors: list):
        handle = open_db(db_path)
        try:
            for batch in range(3):
                rows = "".join(f"{prefix}{batch}-{i},ชื่อ {prefix}{i},,TH-50,university\n" for i in range(20))
                import_file(handle, (AGENCY_HEADER + rows).encode(), "agencies.csv", ref=ref)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            handle.close()

    errors: list = []
    threads = [threading.Thread(target=worker, args=(p, errors)) for p in ("P", "Q", "R")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    handle = open_db(db_path)
    ids = [r[0] for r in handle.execute("SELECT id FROM members WHERE external_id IS NOT NULL")]
    assert len(ids) == len(set(ids)) == 180
    handle.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(codec="utf-8", categories=("L", "M", "N", "P", "Zs")), min_size=1, max_size=60)
       .map(str.strip).filter(lambda s: s and not s.startswith("=")))
def test_any_name_round_trips_through_a_csv_file(db, ref, name):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["external_id", "name_th", "province", "kind"], ["PROP", name, "TH-50", "tcg"]])
    run(db, ref, buffer.getvalue())
    assert member_by_external_id(db, "PROP")["name_th"] == thai_normalised(name).strip()


# -- over HTTP and on the command line ---------------------------------------------------------------------

def admin_key(runner, role="admin") -> dict:
    result = runner.invoke(args=["create-key", "--role", role])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


def upload(client, data: bytes, name: str, headers=None, **form):
    """POST a multipart upload built in memory (large bodies would otherwise spool to a temporary file)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=name), **form})
    return client.post("/api/v1/admin/import", headers=headers or {}, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_import_endpoint_needs_an_admin_key(client, runner):
    data = (TEMPLATES / "agencies.csv").read_bytes()
    assert_error_shape(upload(client, data, "agencies.csv"), 401)
    assert_error_shape(upload(client, data, "agencies.csv", admin_key(runner, "analyst")), 403)


def test_import_endpoint_dry_run_then_real_run(client, runner):
    headers = admin_key(runner)
    data = (TEMPLATES / "agencies.csv").read_bytes()
    dry = upload(client, data, "agencies.csv", headers, dry_run="true")
    assert dry.status_code == 200 and dry.get_json()["valid"] and not dry.get_json()["imported"]
    assert dry.get_json()["rows"][0] == {"sheet": "agencies.csv", "row": 2, "kind": "agencies", "key": "A0246",
                                         "action": "insert"}
    thai = upload(client, (AGENCY_HEADER + "Z1,ชื่อ,,เชียงใหม,university\n").encode(), "agencies.csv", headers,
                  dry_run="true")
    assert "ไม่รู้จักจังหวัดนี้" in thai.get_data(as_text=True)  # Thai unescaped
    real = upload(client, data, "agencies.csv", headers)
    new_id = real.get_json()["counts"]["new_ids"]["EX-CM-UNI-01"]
    agency = client.get(f"/api/v1/agencies/{new_id}").get_json()
    assert agency["external_id"] == "EX-CM-UNI-01" and agency["province"] == "TH-50"
    health = client.get("/api/v1/health").get_json()
    assert health["counts"]["agencies"] == 248


def test_import_endpoint_refuses_bad_rows_in_the_error_shape(client, runner):
    response = upload(client, (AGENCY_HEADER + "Z1,ชื่อ,,Atlantis,university\n").encode(), "agencies.csv",
                      admin_key(runner))
    body = assert_error_shape(response, 422, field="province")
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["value"] == "Atlantis"
    assert client.get("/api/v1/health").get_json()["counts"]["agencies"] == 245


@pytest.mark.parametrize("data, name, form, status, field", [
    ("x" * (tables.MAX_FILE_BYTES + 100_000), "agencies.csv", {}, 413, "file"),
    (THAI_ROW.encode("cp874"), "agencies.csv", {}, 422, "file"),
    (b"a,b\n1,2\n", "agencies.csv", {"kind": "planets"}, 422, "kind"),
])
def test_import_endpoint_bad_files(client, runner, data, name, form, status, field):
    data = data.encode() if isinstance(data, str) else data
    assert_error_shape(upload(client, data, name, admin_key(runner), **form), status, field=field)


def test_import_endpoint_without_a_file(client, runner):
    response = client.post("/api/v1/admin/import", headers=admin_key(runner), data={"dry_run": "true"},
                           content_type="multipart/form-data")
    assert_error_shape(response, 422, field="file")


def test_import_members_command(runner, db_path):
    ok = runner.invoke(args=["import-members", str(TEMPLATES / "agencies.csv"), "--dry-run", "--quiet"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["counts"]["agencies"] == {"inserted": 3, "updated": 0}
    handle = open_db(db_path)
    assert handle.execute("SELECT count(*) FROM members WHERE external_id LIKE 'EX-%'").fetchone()[0] == 0
    handle.close()


def test_import_members_command_reports_problems(runner, tmp_path):
    path = tmp_path / "offerings.csv"
    path.write_text("member,category,capacity_month\nA0001,gmp,3\n", encoding="utf-8")
    result = runner.invoke(args=["import-members", str(path)])
    assert result.exit_code == 1 and "nothing was imported" in result.output and "gmp_haccp" in result.output
