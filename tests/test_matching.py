import itertools

import numpy as np
import pytest

from conftest import assert_error_shape
from matcher import bundles
from matcher.matching import match
from matcher.snapshot import build_snapshot
from matcher.store import directory, open_db


@pytest.fixture
def snapshot(db_path, ref):
    return build_snapshot(open_db(db_path), ref)


def test_bundles_cover_every_need_with_members_offering_it(snapshot):
    needs = ["gmp_haccp", "fda_registration", "loan", "credit_guarantee", "branding"]
    result = match(snapshot, {"needs": needs, "province": "เชียงใหม่", "sector": "food", "top_k": 3})
    assert result["uncovered"] == [] and len(result["bundles"]) == 3
    sets = set()
    for b in result["bundles"]:
        assert set(b["assignment"]) == set(needs)
        for need, member_id in b["assignment"].items():
            m = snapshot.member_index[member_id]
            assert snapshot.offers[m, snapshot.category_index[need]]
        sets.add(frozenset(m["id"] for m in b["members"]))
        assert 0 < b["success_chance"] <= 1
        terms = b["terms"]
        assert b["objective"] == pytest.approx(terms["assignment"] + terms["fixed"] + terms["coordination"], abs=1e-5)
    assert len(sets) == 3  # distinct member sets
    objectives = [b["objective"] for b in result["bundles"]]
    assert objectives == sorted(objectives)


def test_reasons_are_in_thai_and_english(snapshot):
    result = match(snapshot, {"needs": ["loan", "credit_guarantee"], "province": "TH-50"})
    member = result["bundles"][0]["members"][0]
    codes = {r["code"] for r in member["reasons"]}
    assert {"distance", "capacity_left", "track_record"} <= codes
    assert all(r["th"] and r["en"] for r in member["reasons"])


def test_local_members_are_preferred(snapshot):
    result = match(snapshot, {"needs": ["fda_registration"], "province": "Songkhla"})
    assert result["bundles"][0]["members"][0]["province"] == "TH-90"


def test_needs_nobody_offers_are_reported_uncovered(db_path, ref):
    db = open_db(db_path)
    db.execute("DELETE FROM offerings WHERE category = 'halal_cert'")
    from matcher.store import bump_data_version
    bump_data_version(db)
    snap = build_snapshot(db, ref)
    result = match(snap, {"needs": ["halal_cert", "loan"], "province": "TH-90"})
    assert result["uncovered"] == ["halal_cert"] and result["covered"] == ["loan"]
    assert all(set(b["assignment"]) == {"loan"} for b in result["bundles"])


def test_excluded_members_never_appear(snapshot):
    first = match(snapshot, {"needs": ["loan"], "province": "TH-50"})["bundles"][0]["members"][0]["id"]
    again = match(snapshot, {"needs": ["loan"], "province": "TH-50", "exclude": [first]})
    assert all(m["id"] != first for b in again["bundles"] for m in b["members"])


def test_search_is_exact_within_the_pool():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n_members, n_needs = 6, 3
        cost = rng.uniform(0.05, 2.0, size=(n_members, n_needs))
        D = rng.uniform(0.1, 3.0, size=(n_members, n_members))
        D = (D + D.T) / 2
        np.fill_diagonal(D, 0)
        pool = [list(range(n_members))] * n_needs
        best = bundles.search(cost, pool, D, top_k=1)[0]
        brute = min(sum(cost[p, n] for n, p in enumerate(choice)) + bundles.FIXED_COST * len(set(choice))
                    + bundles.LAMBDA * bundles.mst_weight(D, sorted(set(choice)))
                    for choice in itertools.product(range(n_members), repeat=n_needs))
        assert best["J"] == pytest.approx(brute)


def test_mst_weight_on_a_known_triangle():
    D = np.array([[0, 1, 4], [1, 0, 2], [4, 2, 0]], dtype=float)
    assert bundles.mst_weight(D, [0, 1, 2]) == 3
    assert bundles.mst_weight(D, [0]) == 0


def test_match_endpoint(client):
    response = client.post("/api/v1/match", json={"needs": ["gmp_haccp", "loan"], "province": "Chiang Mai"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["province"] == "TH-50" and body["bundles"] and body["synthetic"] is True


@pytest.mark.parametrize("body, status, field", [
    ({"needs": ["gmp"], "province": "TH-50"}, 422, "needs"),
    ({"needs": ["loan"], "province": "Atlantis"}, 422, "province"),
    ({"needs": "loan", "province": "TH-50"}, 422, "needs"),
    ({"province": "TH-50"}, 422, "needs"),
    ({"needs": ["loan"]}, 422, "province"),
    ({"needs": [], "province": "TH-50"}, 422, "needs"),
    ({"needs": ["loan"], "province": "TH-50", "top_k": 0}, 422, "top_k"),
    ({"needs": ["loan"], "province": "TH-50", "top_k": "three"}, 422, "top_k"),
    ({"needs": ["loan"], "province": "TH-50", "exclude": ["Z1"]}, 422, "exclude"),
    ({"needs": ["loan"], "province": "TH-50", "colour": "red"}, 422, "colour"),
    ([1, 2], 422, None),
])
def test_match_errors_have_the_one_shape(client, body, status, field):
    assert_error_shape(client.post("/api/v1/match", json=body), status, field)


def test_malformed_json_is_a_400_naming_the_body(client):
    response = client.post("/api/v1/match", data="{bad json", content_type="application/json")
    assert_error_shape(response, 400, "body")
