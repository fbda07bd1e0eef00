"""The analysis endpoints: shapes, filters, live reads of the store, and one error shape on every error."""

import pytest

from conftest import assert_error_shape
from matcher.store import bump_data_version, open_db, transaction
from test_kpis import complete_one_referral


def deactivate(db_path, member_id: str) -> None:
    """Take a member out of the network (as an administrator would)."""
    db = open_db(db_path)
    with transaction(db):
        db.execute("UPDATE members SET active = 0 WHERE id = ?", [member_id])
        bump_data_version(db)
    db.close()


def test_gaps_cover_every_province_and_category(client):
    body = client.get("/api/v1/gaps").get_json()
    assert body["synthetic"] is True and body["filters"] == {"province": None, "category": None, "hub": None}
    assert len(body["matrix"]["provinces"]) == 77 and len(body["matrix"]["categories"]) == 22
    assert set(body["summary"]) == {"no_member_in_reach", "demand_exceeds_capacity", "declined_for_capacity",
                                    "no_member_in_province"}
    assert sum(body["summary"].values()) == len(body["gaps"])
    assert body["period"]["first"].startswith("2017") and body["period"]["months"] == 24
    for gap in body["gaps"]:
        assert gap["reason"]["th"] and gap["reason"]["en"] and gap["cases"] > 0


@pytest.mark.parametrize("query", ["province=TH-50", "province=Chiang%20Mai", "province=เชียงใหม่"])
def test_gaps_for_one_province_by_any_name(client, query):
    body = client.get(f"/api/v1/gaps?{query}").get_json()
    assert body["filters"]["province"] == "TH-50" and body["matrix"]["provinces"] == ["TH-50"]
    assert all(g["province"] == "TH-50" for g in body["gaps"])
    assert {s["area"] for s in body["single_providers"]} <= {"TH-50"}


def test_gaps_for_a_hub_area_and_a_category(client):
    body = client.get("/api/v1/gaps?hub=ขอนแก่น&category=halal_cert").get_json()
    assert body["filters"] == {"province": None, "category": "halal_cert", "hub": "TH-40"}
    assert body["matrix"]["categories"] == ["halal_cert"] and "TH-40" in body["matrix"]["provinces"]
    assert len(body["matrix"]["provinces"]) > 1


def test_removing_a_sole_provider_opens_a_gap_in_reach(client, db_path):
    critical = client.get("/api/v1/network/metrics").get_json()["critical_members"]
    assert critical
    member, need = critical[0]["member"], critical[0]["needs"][0]
    url = f"/api/v1/gaps?province={need['province']}&category={need['category']}"
    before = client.get(url).get_json()
    assert "no_member_in_reach" not in {g["kind"] for g in before["gaps"]}
    deactivate(db_path, member)
    after = client.get(url).get_json()
    gap = next(g for g in after["gaps"] if g["kind"] == "no_member_in_reach")
    assert (gap["province"], gap["category"], gap["cases"]) == (need["province"], need["category"], need["cases"])
    assert after["matrix"]["levels"] == [[0]]


def test_network_metrics(client):
    body = client.get("/api/v1/network/metrics").get_json()
    graph = body["graph"]
    assert graph["members"] == 462 and graph["collaborations"] > 50
    assert body["betweenness"]["exact"] is True and len(body["brokers"]) == 10
    scores = [b["betweenness"] for b in body["brokers"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert body["brokers"][0]["name_th"] and body["brokers"][0]["province"]
    assert body["isolates"] and body["communities"]["count"] >= 2 and body["communities"]["modularity"] > 0
    cut = {a["member"] for a in body["articulation_points"]}
    assert all(b[0] in cut or b[1] in cut for b in body["bridges_between_groups"])
    assert {s["level"] for s in body["single_providers"]} == {"province", "hub"}


def test_kpis_follow_the_store_without_restarting(client, db_path):
    before = client.get("/api/v1/kpis").get_json()
    assert before["referrals"] == 400 and before["budget_baht"] == 13_000_000
    db = open_db(db_path)
    complete_one_referral(db, 500_000.0)
    db.close()
    after = client.get("/api/v1/kpis").get_json()
    assert after["value_baht"] == before["value_baht"] + 500_000.0
    assert after["completed_legs"] == before["completed_legs"] + 1 and after["referrals"] == 401


def test_kpis_budget_override(client):
    body = client.get("/api/v1/kpis?budget=1000000").get_json()
    assert body["budget_source"] == "override" and body["value_per_baht"] == round(body["value_baht"] / 1e6, 4)


def test_rollout_plan(client):
    body = client.get("/api/v1/rollout/plan?target=44").get_json()
    assert (body["target"], body["live_now"], body["to_add"], len(body["steps"])) == (44, 16, 28, 28)
    assert body["objective"]["th"] and body["objective"]["en"] and body["quality"] >= 0.632
    assert client.get("/api/v1/rollout/plan").get_json()["target"] == 22


def test_clusters_and_cluster_gaps(client):
    body = client.get("/api/v1/clusters").get_json()
    assert body["total"] == 8 and {"garlic", "halal_food"} <= {c["id"] for c in body["items"]}
    detail = client.get("/api/v1/clusters/halal_food/gaps").get_json()
    assert detail["id"] == "halal_food" and set(detail["members_by_stage"]) == {"upstream", "midstream", "downstream"}
    assert detail["bundle"] is None or detail["bundle"]["needs"] == detail["shared_needs"]


def test_heatmap_png(client):
    response = client.get("/api/v1/gaps/heatmap.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_thai_is_not_escaped(client):
    raw = client.get("/api/v1/rollout/plan").get_data(as_text=True)
    assert "เข้าร่วมเครือข่าย" in raw


@pytest.mark.parametrize("url, status, field", [
    ("/api/v1/gaps?province=Atlantis", 422, "province"),
    ("/api/v1/gaps?category=gmp", 422, "category"),
    ("/api/v1/gaps?hub=Chiang%20Rai", 422, "hub"),
    ("/api/v1/gaps?since=2018-13", 422, "since"),
    ("/api/v1/gaps?until=yesterday", 422, "until"),
    ("/api/v1/kpis?budget=-1", 422, "budget"),
    ("/api/v1/kpis?budget=lots", 422, "budget"),
    ("/api/v1/rollout/plan?target=0", 422, "target"),
    ("/api/v1/rollout/plan?target=78", 422, "target"),
    ("/api/v1/rollout/plan?target=half", 422, "target"),
    ("/api/v1/clusters/durian/gaps", 404, "cluster_id"),
])
def test_errors_have_one_shape_and_name_the_field(client, url, status, field):
    body = assert_error_shape(client.get(url), status, field)
    assert body["error"]


def test_hub_error_lists_the_hubs(client):
    body = assert_error_shape(client.get("/api/v1/gaps?hub=เชียงราย"), 422, "hub")
    assert "Chiang Mai" in body["error"] and len(body["errors"][0]["allowed"]) == 11
