"""Open Referral HSDS 3.0: the export is valid against the official schemas, deterministic and round-trips
through import; the read-only HSDS API answers in the shapes of the official OpenAPI description.

The official schemas are read from ../shared/hsds (never copied into the project); the tests that need
them skip with a message where that folder is absent.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from pathlib import Path

import jsonschema
import pytest
import referencing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing.jsonschema import DRAFT202012
from werkzeug.serving import make_server

from conftest import assert_error_shape
from matcher.exchange import hsds
from matcher.errors import Unprocessable
from matcher.store import data_version, directory, open_db, imports as store

HSDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "hsds"
BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
OPENAPI = "urn:rismep-test:hsds-openapi"
HELD = ("id", "name_th", "name_en", "province", "sectors", "external_id", "active", "synthetic", "kind", "phone",
        "website", "address", "hours", "offerings")


class Schemas:
    """The official schemas as a registry; ``check(instance, ref)`` lists the validation errors."""

    def __init__(self, folder: Path):
        resources = [(BASE + f.relative_to(folder).as_posix(), DRAFT202012.create_resource(json.loads(f.read_text())))
                     for f in [*folder.glob("*.json"), *folder.glob("compiled/*.json")]]
        self.openapi = json.loads((folder / "openapi.json").read_text())
        resources.append((OPENAPI, DRAFT202012.create_resource(self.openapi)))
        self.registry = referencing.Registry().with_resources(resources)

    def errors(self, instance, ref: str) -> list[str]:
        validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=self.registry,
                                                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)][:5]

    def response_ref(self, path: str) -> str:
        """The JSON pointer of the 200 response schema of GET ``path`` in the HSDS OpenAPI description."""
        assert path in self.openapi["paths"], path
        return f"{OPENAPI}#/paths/{path.replace('/', '~1')}/get/responses/200/content/application~1json/schema"


@pytest.fixture(scope="session")
def schemas() -> Schemas:
    if not (HSDS_DIR / "openapi.json").exists():
        pytest.skip(f"The official HSDS 3.0 schemas are not at {HSDS_DIR} (../shared/hsds from the project root); "
                    f"put openreferral/specification's schema folder there to run the HSDS validation tests.")
    return Schemas(HSDS_DIR)


@pytest.fixture
def empty_db(tmp_path, ref):
    handle = open_db(tmp_path / "empty.db")
    directory.write_reference(handle, ref.categories, ref.provinces, ref.agency_kinds)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def demo_export(demo_db_template, ref):
    handle = open_db(demo_db_template, migrate_schema=False)
    try:
        return hsds.export_store(handle, ref)
    finally:
        handle.close()


def agencies_as_held(db) -> list[dict]:
    return [{k: m[k] for k in HELD} for m in store.agencies_with_offerings(db)]


# -- the export ------------------------------------------------------------------------------------------

def test_export_is_valid_hsds_as_a_whole_and_row_by_row(schemas, demo_export):
    doc, _ = demo_export
    assert schemas.errors(doc, BASE + "compiled/tabular.json") == []
    for table, rows in doc.items():
        assert rows, table
        for row in rows[:300]:
            assert schemas.errors(row, BASE + f"{table}.json") == [], (table, row)


def test_the_schemas_catch_a_broken_row(schemas, demo_export):
    org = dict(demo_export[0]["organization"][0], id="A0001")
    assert any("uuid" in e for e in schemas.errors(org, BASE + "organization.json"))
    assert schemas.errors({"id": str(uuid.uuid4())}, BASE + "organization.json")  # name, description missing


def test_export_maps_agencies_offerings_and_taxonomies(demo_export, db, ref):
    doc, summary = demo_export
    agencies = store.agencies_with_offerings(db)
    assert len(doc["organization"]) == len(agencies) == 245
    assert len(doc["service"]) == len(doc["service_at_location"]) == len(doc["service_area"]) == sum(
        len(a["offerings"]) for a in agencies)
    categories = [t for t in doc["taxonomy_term"] if t["taxonomy"] == "RISMEP service categories"]
    assert sorted(t["code"] for t in categories) == sorted(ref.category_codes) and len(categories) == 22
    a1 = agencies[0]
    org = next(o for o in doc["organization"] if o["id"] == hsds.hsds_id("organization", a1["id"]))
    assert org["name"] == a1["name_th"] and org["alternate_name"] == a1["name_en"]
    assert "SYNTHETIC" in org["description"] and "ข้อมูลสมมติ" in org["description"]
    first = a1["offerings"][0]
    service_id = hsds.hsds_id("service", a1["id"], first["category"])
    values = {a["link_type"]: a["value"] for a in doc["attribute"] if a["link_id"] == service_id}
    assert values == {"service_category": first["category"], "capacity_month": str(first["capacity_month"]),
                      "specialisation": str(first["specialisation"])}
    area = next(a for a in doc["service_area"] if a["service_id"] == service_id)
    assert area["name"] == ref.province_by_code[a1["province"]]["name_en"]
    identifiers = {i["identifier_type"]: i["identifier"] for i in doc["organization_identifier"]
                   if i["organization_id"] == org["id"]}
    assert identifiers == {"rismep_member_id": a1["id"]}


def test_export_leaves_out_what_hsds_cannot_hold_and_says_so(demo_export):
    doc, summary = demo_export
    text = json.dumps(doc, ensure_ascii=False)
    assert "C0001" not in text and "@example.com" not in text and "consent" not in text
    assert summary["left_out"]["consultants"] == 217 and summary["left_out"]["referrals"] == 400
    assert summary["left_out"]["enterprises"] == 600


def test_export_is_deterministic(db, ref, demo_export):
    again, _ = hsds.export_store(db, ref)
    assert json.dumps(again, sort_keys=True) == json.dumps(demo_export[0], sort_keys=True)
    assert hsds.hsds_id("organization", "A0001") == str(uuid.uuid5(hsds.NAMESPACE, "organization:A0001"))


  # -- import and the round trip -----------------------------------------------------------------------------

def test_export_then_import_round_trips_into_an_empty_store(db, empty_db, ref, demo_export):
    doc, _ = demo_export
    report = hsds.import_hsds(empty_db, json.loads(json.dumps(doc)), ref=ref)
    assert report["counts"]["agencies"] == {"inserted": 245, "updated": 0}
    assert agencies_as_held(empty_db) == agencies_as_held(db)
    assert hsds.export_store(empty_db, ref)[0] == doc


def test_importing_its_own_export_changes_nothing(db, ref, demo_export):
    before = agencies_as_held(db)
    report = hsds.import_hsds(db, demo_export[0], ref=ref)
    assert report["counts"]["agencies"] == {"inserted": 0, "updated": 245}
    assert agencies_as_held(db) == before


def test_dry_run_writes_nothing(empty_db, ref, demo_export):
    version = data_version(empty_db)
    report = hsds.import_hsds(empty_db, demo_export[0], ref=ref, dry_run=True)
    assert report["valid"] and report["counts"]["offerings"]["inserted"] == len(demo_export[0]["service"])
    assert empty_db["members"].count == 0 and data_version(empty_db) == version


def foreign_services() -> list[dict]:
    """A nested HSDS dataset from elsewhere: no RISMEP identifiers, categories and kind matched by term."""
    org_id, loc_id = str(uuid.uuid4()), str(uuid.uuid4())
    kind_term = {"id": str(uuid.uuid4()), "code": "university", "name": "University",
                 "description": "x", "taxonomy": "RISMEP agency kinds"}
    org = {"id": org_id, "name": "อุทยานวิทยาศาสตร์ภาคเหนือ", "description": "science park",
           "locations": [{"id": loc_id, "location_type": "physical", "addresses": [
               {"id": str(uuid.uuid4()), "address_1": "1 Huay Kaew Rd", "city": "Mueang",
                "state_province": "Chiang Mai", "postal_code": "50200", "country": "TH", "address_type": "physical"}]}],
           "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term_id": kind_term["id"], "taxonomy_term": kind_term}]}
    term = {"id": str(uuid.uuid4()), "code": "FOOD-SHELF", "name": "Shelf-life extension and preservation",
            "description": "food shelf life"}
    return [{"id": str(uuid.uuid4()), "name": "Shelf life lab", "status": "active", "organization": org,
             "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term": term}]}]


def test_a_foreign_nested_dataset_imports_by_external_id(empty_db, ref):
    services = foreign_services()
    report = hsds.import_hsds(empty_db, {"contents": services}, ref=ref)
    assert report["counts"]["agencies"]["inserted"] == 1 and [w["code"] for w in report["warnings"]] == ["no_capacity"]
    (agency,) = store.agencies_with_offerings(empty_db)
    assert agency["external_id"] == f"hsds:{services[0]['organization']['id']}" and agency["id"] == "A0001"
    assert (agency["province"], agency["kind"]) == ("TH-50", "university")
    assert agency["name_th"] == "อุทยานวิทยาศาสตร์ภาคเหนือ"
    assert agency["offerings"] == [{"category": "shelf_life", "capacity_month": 0, "specialisation": 0.5}]
    again = hsds.import_hsds(empty_db, services, ref=ref)
    assert again["counts"]["agencies"] == {"inserted": 0, "updated": 1}


@pytest.mark.parametrize("break_it, message", [
    (lambda d: d["attribute"].clear(), "agency kind"),
    (lambda d: d["location"].clear(), "province is unknown"),
    (lambda d: d["organization"].pop(), "organization is not in the file"),
    (lambda d: d["organization_identifier"][0].update(identifier="X99"), "not an agency id"),
])
def test_bad_documents_are_refused_whole(empty_db, ref, demo_export, break_it, message):
    doc = json.loads(json.dumps(demo_export[0]))
    break_it(doc)
    with pytest.raises(Unprocessable, match=message) as caught:
        hsds.import_hsds(empty_db, doc, ref=ref)
    assert caught.value.details()[0]["code"] and empty_db["members"].count == 0
    assert hsds.import_hsds(empty_db, doc, ref=ref, dry_run=True)["valid"] is False


@pytest.mark.parametrize("data, message", [
    (b"{not json", "not valid JSON"), (b"\xff\xfe{}", "not UTF-8"), (b"42", "neither"),
    (b'{"organization": {"id": "x"}}', "must be a list"), (b'{"organization": [{"name": "no id"}]}', "string id")])
def test_unreadable_documents_get_a_clear_message(empty_db, ref, data, message):
    with pytest.raises(Unprocessable, match=message):
        hsds.import_hsds(empty_db, hsds.load_document(data), ref=ref)


names = st.text(st.characters(codec="utf-8", categories=("L", "M", "N", "P", "Zs")), min_size=1, max_size=40)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({
    "name_th": names, "name_en": st.none() | names, "province": st.sampled_from(["TH-10", "TH-50", "TH-90"]),
    "kind": st.sampled_from(["university", "tcg", "thailand_post"]), "active": st.booleans(),
    "phone": st.none() | st.from_regex(r"0[0-9]{1,2}-[0-9]{6}", fullmatch=True),
    "address": st.none() | names,
    "hours": st.none() | st.sampled_from(["Mo-Fr 08:30-16:30", "Mo-Fr 08:30-12:00,13:00-16:30; Sa 09:00-12:00",
                                          "Mo,We 09:00-12:00; Su 00:00-24:00"]),
    "offerings": st.dictionaries(st.sampled_from(["loan", "branding", "shelf_life"]), st.tuples(
        st.integers(0, 500), st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 3))), max_size=3)}),
    min_size=1, max_size=5))
def test_round_trip_is_lossless_for_any_agencies(tmp_path_factory, ref, rows):
    source, target = (open_db(tmp_path_factory.mktemp("rt") / f"{n}.db") for n in ("source", "target"))
    for handle in (source, target):
        directory.write_reference(handle, ref.categories, ref.provinces, ref.agency_kinds)
    members = [dict(r, id=f"A{i:04d}", type="agency", sectors="food", created_at="2024-01-01T00:00:00",
                    active=int(r["active"])) for i, r in enumerate(rows, start=1)]
    offers = [{"member_id": m["id"], "category": c, "capacity_month": n, "specialisation": s}
              for m in members for c, (n, s) in m.pop("offerings").items()]
    directory.write_members(source, members, offers)
    doc, _ = hsds.export_store(source, ref)
    hsds.import_hsds(target, json.loads(json.dumps(doc, ensure_ascii=False)), ref=ref)
    assert agencies_as_held(target) == agencies_as_held(source)
    source.close()
    target.close()


def test_export_and_import_commands(runner, tmp_path, db_path):
    out = tmp_path / "directory.hsds.json"
    exported = runner.invoke(args=["export-hsds", str(out)])
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.stdout)
    assert summary["counts"]["organization"] == 245 and summary["left_out"]["consultants"] == 217
    assert "ข้อมูลสมมติ" in out.read_text(encoding="utf-8")  # Thai unescaped, synthetic said
    dry = runner.invoke(args=["import-hsds", str(out), "--dry-run", "--quiet"])
    assert dry.exit_code == 0 and json.loads(dry.stdout)["counts"]["agencies"]["updated"] == 245
    bad = tmp_path / "bad.json"
    bad.write_text('{"service": [{"id": "s1", "name": "x", "status": "active", "organization_id": "nope"}]}')
    failed = runner.invoke(args=["import-hsds", str(bad)])
    assert failed.exit_code == 1 and "organization is not in the file" in failed.output


# -- the HSDS API ------------------------------------------------------------------------------------------

def first_ids(client) -> dict:
    service = client.get("/hsds/services?per_page=1").get_json()["contents"][0]
    term = client.get("/hsds/taxonomy_terms?per_page=1").get_json()["contents"][0]
    return {"service": service["id"], "organization": service["organization_id"], "term": term["id"],
            "taxonomy": term["taxonomy_id"],
            "sal": client.get("/hsds/service_at_locations?per_page=1").get_json()["contents"][0]["id"]}


ENDPOINTS = [  # (our path, the HSDS OpenAPI path whose 200 schema the answer must satisfy)
    ("/hsds/", "/"), ("/hsds/services?per_page=5", "/services"), ("/hsds/services?per_page=3&full=true", "/services"),
    ("/hsds/services/{service}", "/services/{id}"), ("/hsds/organizations?per_page=5", "/organizations"),
    ("/hsds/organizations?per_page=2&full=1&full_service=1", "/organizations"),
    ("/hsds/organizations/{organization}", "/organizations/{id}"),
    ("/hsds/organizations/{organization}?full_service=true", "/organizations/{id}"),
    ("/hsds/taxonomies", "/taxonomies"), ("/hsds/taxonomies/{taxonomy}", "/taxonomies/{id}"),
    ("/hsds/taxonomy_terms?per_page=30", "/taxonomy_terms"), ("/hsds/taxonomy_terms/{term}", "/taxonomy_terms/{id}"),
    ("/hsds/service_at_locations?per_page=5", "/service_at_locations"),
    ("/hsds/service_at_locations?per_page=2&full=1", "/service_at_locations"),
]


@pytest.mark.parametrize("path, spec_path", ENDPOINTS)
def test_api_answers_in_the_official_shapes(client, schemas, path, spec_path):
    response = client.get(path.format(**first_ids(client)))
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert schemas.errors(body, schemas.response_ref(spec_path)) == []
    if "contents" in body and spec_path in ("/services", "/organizations", "/service_at_locations"):
        assert body["contents"] and body["size"] == len(body["contents"])


def test_service_at_location_by_id_nests_service_and_location(client, schemas):
    # The published description gives compiled/service.json for this path, which looks like a slip:
    # the answer is a service_at_location, checked against compiled/service_at_location.json.
    body = client.get(f"/hsds/service_at_locations/{first_ids(client)['sal']}").get_json()
    assert schemas.errors(body, BASE + "compiled/service_at_location.json") == []
    assert body["service"]["id"] == body["service_id"] and body["location"]["id"] == body["location_id"]


def test_api_filters_and_pages(client, ref):
    terms = client.get("/hsds/taxonomy_terms?per_page=500").get_json()["contents"]
    loan = next(t for t in terms if t["code"] == "loan")
    page = client.get(f"/hsds/services?taxonomy_term_id={loan['id']}&per_page=500").get_json()
    assert page["total_items"] > 0 and {s["name"] for s in page["contents"]} == {loan["name"]}
    kinds = next(t for t in terms if t["code"] == "tcg")["taxonomy_id"]
    assert client.get(f"/hsds/services?taxonomy_id={kinds}").get_json()["total_items"] == 0  # kinds tag orgs
    everything = client.get("/hsds/services?per_page=7&page=2").get_json()
    assert (everything["page_number"], everything["size"], everything["first_page"]) == (2, 7, False)
    assert everything["total_pages"] == -(-everything["total_items"] // 7)
    beyond = client.get(f"/hsds/services?per_page=500&page={everything['total_pages'] + 5}").get_json()
    assert beyond["empty"] is True and beyond["contents"] == []
    org = client.get("/hsds/organizations?search=ไปรษณีย์&per_page=500").get_json()
    assert org["total_items"] > 0 and all("ไปรษณีย์" in o["name"] for o in org["contents"])
    raw = client.get("/hsds/taxonomy_terms?search=อย.").get_data(as_text=True)
    assert "ขึ้นทะเบียน อย." in raw


@pytest.mark.parametrize("path, status, field", [
    ("/hsds/services/not-an-id", 404, "id"), ("/hsds/organizations/00000000-0000-0000-0000-000000000000", 404, "id"),
    ("/hsds/taxonomy_terms/x", 404, "id"), ("/hsds/service_at_locations/x", 404, "id"),
    ("/hsds/taxonomies/x", 404, "id"),
    ("/hsds/services?page=0", 422, "page"), ("/hsds/services?per_page=501", 422, "per_page"),
    ("/hsds/services?format=ndjson", 422, "format"), ("/hsds/organizations?full=maybe", 422, "full")])
def test_api_errors_take_the_one_shape(client, path, status, field):
    assert_error_shape(client.get(path, headers={"Accept": "text/html"}), status, field=field)


def test_api_follows_the_store(client, runner, tmp_path):
    before = client.get("/hsds/organizations").get_json()["total_items"]
    csv_file = tmp_path / "agencies.csv"
    csv_file.write_text("external_id,name_th,province,kind\nNEW-1,หน่วยงานใหม่,TH-50,tcg\n", encoding="utf-8")
    assert runner.invoke(args=["import-members", str(csv_file), "--quiet"]).exit_code == 0
    after = client.get("/hsds/organizations?search=หน่วยงานใหม่").get_json()
    assert after["total_items"] == 1 and client.get("/hsds/organizations").get_json()["total_items"] == before + 1


def test_an_hsds_client_reads_the_directory_over_real_http(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/hsds"
        with urllib.request.urlopen(f"{base}/") as response:
            assert json.load(response)["version"] == "3.0"
        with urllib.request.urlopen(f"{base}/services?per_page=2") as response:
            assert response.headers["Content-Type"].startswith("application/json")
            service_id = json.load(response)["contents"][0]["id"]
        with urllib.request.urlopen(f"{base}/services/{service_id}") as response:
            assert json.load(response)["service_areas"][0]["attributes"][0]["taxonomy_term"]["code"].startswith("TH-")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
