import pytest

from conftest import assert_error_shape


def test_health_says_synthetic_and_counts(client):
    body = client.get("/api/v1/health").get_json()
    assert body["ok"] is True and body["synthetic"] is True
    assert body["dataset"] == "rismep-demo-synthetic" and "SYNTHETIC" in body["note"]
    assert body["counts"]["agencies"] == 245 and body["counts"]["consultants"] == 217
    assert body["version"]


def test_liveness_answers_without_the_database(app, db_path):
    db_path.unlink()
    client = app.test_client()
    assert client.get("/api/v1/health/live").get_json()["status"] == "live"
    assert_error_shape(client.get("/api/v1/health/ready"), 503)


def test_readiness_follows_the_snapshot_and_the_schema(client, db):
    body = client.get("/api/v1/health/ready").get_json()
    assert body["status"] == "ready" and body["snapshot"] is None  # no request has built one yet
    client.post("/api/v1/match", json={"needs": ["loan"], "province": "TH-50"})
    assert client.get("/api/v1/health/ready").get_json()["snapshot"]["current"] is True
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")
    assert client.get("/api/v1/health/ready").get_json()["snapshot"]["current"] is False
    db.execute("PRAGMA user_version = 3")
    response = client.get("/api/v1/health/ready")
    assert_error_shape(response, 503)
    assert "schema version 3" in response.get_json()["error"]


def test_a_warm_start_builds_the_snapshot_before_any_request(db_path, intake_model_path):
    from api import create_app
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "test",
                      "INTAKE_MODEL": str(intake_model_path), "WARM_START": True})
    held = app.extensions["rismep"].snapshots.current()
    assert held is not None and held.derived.names() >= {"coordination"}
    client = app.test_client()
    assert client.get("/api/v1/health/ready").get_json()["snapshot"]["current"] is True
    assert client.post("/api/v1/match", json={"needs": ["loan"], "province": "TH-50"}).status_code == 200
    assert app.extensions["rismep"].snapshots.current() is held  # the warm snapshot served the match


def test_thai_is_not_escaped(client):
    raw = client.get("/api/v1/taxonomy").get_data(as_text=True)
    assert "ขึ้นทะเบียน อย." in raw and "\\u0e" not in raw


def test_taxonomy_and_provinces(client):
    tax = client.get("/api/v1/taxonomy").get_json()
    assert tax["total"] == 22 and tax["items"][0]["code"] == "rnd_product"
    prov = client.get("/api/v1/provinces").get_json()
    assert prov["total"] == 77
    cm = next(p for p in prov["items"] if p["code"] == "TH-50")
    assert cm["is_hub"] is True and cm["live_since"] == 2017 and cm["name_th"] == "เชียงใหม่"


@pytest.mark.parametrize("query", ["province=TH-50", "province=Chiang%20Mai", "province=เชียงใหม่"])
def test_agencies_filter_by_province_any_name(client, query):
    body = client.get(f"/api/v1/agencies?{query}&limit=500").get_json()
    assert body["total"] == len(body["items"]) > 5
    assert {a["province"] for a in body["items"]} == {"TH-50"}


def test_agencies_filter_by_category_and_kind(client):
    body = client.get("/api/v1/agencies?category=credit_guarantee&limit=500").get_json()
    assert body["total"] > 0
    assert all(any(o["category"] == "credit_guarantee" for o in a["offerings"]) for a in body["items"])
    tcg = client.get("/api/v1/agencies?kind=tcg&limit=500").get_json()
    assert tcg["total"] >= 11 and {a["kind"] for a in tcg["items"]} == {"tcg"}


def test_pagination_is_consistent(client):
    first = client.get("/api/v1/agencies?limit=10&offset=0").get_json()
    second = client.get("/api/v1/agencies?limit=10&offset=10").get_json()
    assert first["total"] == second["total"] == 245
    assert len(first["items"]) == 10
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
    last = client.get("/api/v1/agencies?limit=10&offset=240").get_json()
    assert len(last["items"]) == 5


def test_member_detail(client):
    agency = client.get("/api/v1/agencies/A0001").get_json()
    assert agency["type"] == "agency" and agency["kind"] and agency["offerings"]
    assert all({"category", "capacity_month", "specialisation"} <= set(o) for o in agency["offerings"])
    consultant = client.get("/api/v1/consultants/C0001").get_json()
    assert consultant["type"] == "consultant" and consultant["synthetic"] is True
    cons = client.get("/api/v1/consultants?limit=500").get_json()
    assert cons["total"] == 217


def test_openapi_and_offline_docs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/match", "/api/v1/agencies", "/api/v1/agencies/{member_id}", "/api/v1/health"):
        assert path in spec["paths"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "cdn" not in page.lower() and "/api/v1/docs/assets/swagger-ui-bundle.js" in page
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as js:
        assert js.status_code == 200 and len(js.data) > 100_000


@pytest.mark.parametrize("path, status, field", [
    ("/api/v1/agencies/A9999", 404, "id"),
    ("/api/v1/consultants/A0001", 404, "id"),
    ("/api/v1/agencies?province=Atlantis", 422, "province"),
    ("/api/v1/agencies?category=gmp", 422, "category"),
    ("/api/v1/agencies?kind=bank", 422, "kind"),
    ("/api/v1/consultants?kind=tcg", 422, "kind"),
    ("/api/v1/agencies?limit=0", 422, "limit"),
    ("/api/v1/agencies?limit=abc", 422, "limit"),
    ("/api/v1/agencies?offset=-1", 422, "offset"),
    ("/api/v1/nowhere", 404, None),
])
def test_directory_errors_have_the_one_shape(client, path, status, field):
    assert_error_shape(client.get(path), status, field)


def test_wrong_method_has_the_error_shape(client):
    assert_error_shape(client.delete("/api/v1/agencies"), 405)
