"""Match: bundles that cover every coverable need, respect the request, explain and prove themselves."""

import itertools
import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_error_shape
from matcher.engine import coordination
from matcher.geo import distance_matrix
from matcher.engine.matching import match
from matcher.engine.snapshot import Snapshot, build_snapshot
from matcher.store import bump_data_version, open_db


def toy_snapshot(ref, members, collaborations=(), load=None) -> Snapshot:
    """A tiny network: ``members`` are (id, type, province, {category: (capacity, specialisation)})."""
    C, index = len(ref.category_codes), {c: j for j, c in enumerate(ref.category_codes)}
    provinces = [p["code"] for p in ref.provinces]
    offers, spec, cap = (np.zeros((len(members), C), bool), np.zeros((len(members), C)),
                         np.zeros((len(members), C)))
    rows = []
    for i, (mid, kind, province, offerings) in enumerate(members):
        for category, (capacity, s) in offerings.items():
            offers[i, index[category]], cap[i, index[category]], spec[i, index[category]] = True, capacity, s
        rows.append({"id": mid, "type": "consultant" if mid.startswith("C") else "agency", "kind": kind,
                     "name_th": f"สมาชิก {mid} (สมมติ)", "name_en": f"Member {mid} (synthetic)",
                     "province": province, "sectors": set()})
    G = nx.Graph()
    G.add_nodes_from(m[0] for m in members)
    for u, v, joint in collaborations:
        G.add_edge(u, v, joint=joint, completed=joint, length=1 / (1 + joint))
    zeros = np.zeros((len(members), C))
    return Snapshot(version=1, ref=ref, members=rows, categories=list(ref.category_codes), province_codes=provinces,
                    offers=offers, specialisation=spec, capacity=cap,
                    load=np.zeros(len(members)) if load is None else np.asarray(load, float),
                    member_province=np.array([provinces.index(m[2]) for m in members]),
                    province_distance=distance_matrix(ref.provinces), finished=zeros, completed=zeros.copy(),
                    value_baht=zeros.copy(), collaboration=G, dataset={"synthetic": True})


# Two banks equally good for the loan; one has worked three times with the guarantor.
TOY = [("A1", "commercial_bank", "TH-50", {"loan": (10, 0.9)}),
       ("A2", "tcg", "TH-50", {"credit_guarantee": (10, 0.9)}),
       ("A3", "commercial_bank", "TH-50", {"loan": (10, 0.9)})]


def test_past_partners_win_a_tie_and_say_why(ref):
    snap = toy_snapshot(ref, TOY, collaborations=[("A2", "A3", 3)])
    result = match(snap, {"needs": ["loan", "credit_guarantee"], "province": "Chiang Mai", "top_k": 2})
    first, second = result["bundles"]
    c = -np.log(1 / (1 + np.exp(-(0.3 + 2.2 * 0.4))))  # hand-set p of every toy member here
    assert first["assignment"] == {"loan": "A3", "credit_guarantee": "A2"}
    assert first["objective"] == pytest.approx(2 * c + 2 * 0.5 + 0.5 * 0.25, abs=1e-5)
    assert second["assignment"] == {"loan": "A1", "credit_guarantee": "A2"}
    assert first["beat"]["rank"] == 2 and first["beat"]["terms"]["coordination"] == pytest.approx(0.375)
    assert "worked together" in first["beat"]["en"] and "ทำงานร่วมกัน" in first["beat"]["th"]
    joint = [r for m in first["members"] for r in m["reasons"] if r["code"] == "joint_work"]
    assert {r["value"] for r in joint} == {3} and all("A2" in r["en"] or "A3" in r["en"] for r in joint)
    assert result["certificate"]["best_is_network_optimal"] is True


def test_members_at_capacity_are_never_proposed(ref):
    snap = toy_snapshot(ref, TOY, collaborations=[("A2", "A3", 3)], load=[0, 0, 10])
    result = match(snap, {"needs": ["loan", "credit_guarantee"], "province": "TH-50"})
    assert all(m["id"] != "A3" for b in result["bundles"] for m in b["members"])


def test_bundles_cover_every_need_with_members_offering_it(demo):
    needs = ["gmp_haccp", "fda_registration", "loan", "credit_guarantee", "branding"]
    result = match(demo, {"needs": needs, "province": "เชียงใหม่", "sector": "food", "top_k": 3})
    assert result["uncovered"] == [] and len(result["bundles"]) == 3
    sets = set()
    for b in result["bundles"]:
        assert set(b["assignment"]) == set(needs)
        for need, member_id in b["assignment"].items():
            assert demo.offers[demo.member_index[member_id], demo.category_index[need]]
        sets.add(frozenset(m["id"] for m in b["members"]))
        assert 0 < b["success_chance"] <= 1
        assert b["objective"] == pytest.approx(sum(b["terms"].values()), abs=1e-5)
        assert {s["step"] for s in b["plan"]["steps"]} and b["plan"]["legs"]
    assert len(sets) == 3
    objectives = [b["objective"] for b in result["bundles"]]
    assert objectives == sorted(objectives)
    assert all("beat" in b for b in result["bundles"])  # the last one against the 4th best


def test_reasons_are_in_thai_and_english(demo):
    member = match(demo, {"needs": ["loan", "credit_guarantee"], "province": "TH-50"})["bundles"][0]["members"][0]
    codes = {r["code"] for r in member["reasons"]}
    assert {"distance", "capacity_left", "track_record"} <= codes
    assert all(r["th"] and r["en"] for r in member["reasons"])
    assert member["name"] == member["name_th"] and "(สมมติ)" in member["name"]


def test_local_members_are_preferred(demo):
    result = match(demo, {"needs": ["fda_registration"], "province": "Songkhla"})
    assert result["bundles"][0]["members"][0]["province"] == "TH-90"


def test_needs_nobody_offers_are_reported_uncovered(db_path, ref):
    db = open_db(db_path)
    db.execute("DELETE FROM offerings WHERE category = 'halal_cert'")
    bump_data_version(db)
    snap = build_snapshot(db, ref)
    result = match(snap, {"needs": ["halal_cert", "loan"], "province": "TH-90"})
    assert result["uncovered"] == ["halal_cert"] and result["covered"] == ["loan"]
    assert result["uncovered_reasons"][0]["need"] == "halal_cert" and result["uncovered_reasons"][0]["th"]
    assert all(set(b["assignment"]) == {"loan"} for b in result["bundles"])


def test_request_constraints_are_respected(demo):
    base = {"needs": ["gmp_haccp", "loan", "branding"], "province": "TH-50", "sector": "food"}
    first = match(demo, base)["bundles"][0]["members"][0]["id"]
    assert all(m["id"] != first for b in match(demo, {**base, "exclude": [first]})["bundles"] for m in b["members"])
    local = match(demo, {**base, "local_only": True})
    assert all(m["province"] == "TH-50" for b in local["bundles"] for m in b["members"])
    agencies = match(demo, {**base, "kinds": "agencies"})
    assert all(m["type"] == "agency" for b in agencies["bundles"] for m in b["members"])
    small = match(demo, {**base, "max_members": 2})
    assert all(len(b["members"]) <= 2 for b in small["bundles"])
    someone = next(m for m in demo.members if m["province"] == "TH-40" and
                   demo.offers[demo.member_index[m["id"]], demo.category_index["loan"]])["id"]
    forced = match(demo, {**base, "include": [someone]})
    assert all(someone in [m["id"] for m in b["members"]] for b in forced["bundles"])


def test_coordinate_with_members_count_but_are_never_proposed(demo):
    base = {"needs": ["loan", "credit_guarantee"], "province": "TH-50", "explain": True}
    plain = match(demo, base)
    staying = plain["bundles"][0]["members"][0]["id"]
    rematch = match(demo, {**base, "needs": ["credit_guarantee"], "coordinate_with": [staying]})
    assert all(m["id"] != staying for b in rematch["bundles"] for m in b["members"])
    explain = rematch["explain"]
    assert explain["coordinate_with"] == [staying] and explain["coordination"]["members"][-1] == staying
    assert staying not in [e["member"] for e in explain["pool"]]
    assert all(b["terms"]["coordination"] > 0 or any(r["code"] == "joint_work" for m in b["members"]
                                                     for r in m["reasons"]) for b in rematch["bundles"])


def recompute(explain, bundle) -> float:
    pool = {e["member"]: e for e in explain["pool"]}
    ids = explain["coordination"]["members"]
    D = np.array(explain["coordination"]["distance"])
    members = sorted({m for m in bundle["assignment"].values()})
    A = sum(pool[m]["need_costs"][n] for n, m in bundle["assignment"].items())
    F = sum(pool[m]["fixed_cost"] for m in members)
    verts = [ids.index(m) for m in members] + [ids.index(m) for m in explain["coordinate_with"]]
    return A + F + explain["lambda"] * coordination.mst_weight(D, verts)


def test_explain_lets_anyone_recompute_and_check_the_bundles(demo):
    result = match(demo, {"needs": ["gmp_haccp", "packaging_design", "loan"], "province": "TH-65",
                          "sector": "food", "explain": True, "top_k": 3})
    explain = result["explain"]
    D = np.array(explain["coordination"]["distance"])
    assert (D == D.T).all() and len(D) == len(explain["coordination"]["members"])
    for b in result["bundles"]:
        assert recompute(explain, b) == pytest.approx(b["objective"], abs=1e-6)
    # Brute force over the pool: nothing beats bundle 1, and the three are the three best member sets.
    needs = result["covered"]
    holders = [[e["member"] for e in explain["pool"] if n in e["need_costs"]] for n in needs]
    best = {}
    for choice in itertools.product(*holders):
        bundle = {"assignment": dict(zip(needs, choice))}
        key = frozenset(choice)
        best[key] = min(best.get(key, np.inf), recompute(explain, bundle))
    top = sorted(best.values())[:3]
    assert [b["objective"] for b in result["bundles"]] == pytest.approx(top, abs=1e-6)
    assert result["certificate"]["exact_within_pool"] is True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(needs=st.lists(st.sampled_from(["gmp_haccp", "fda_registration", "loan", "credit_guarantee", "branding",
                                       "online_marketing", "halal_cert", "logistics"]), min_size=1, max_size=4,
                      unique=True),
       province=st.sampled_from(["TH-50", "TH-90", "TH-40", "TH-65", "TH-10"]), top_k=st.integers(1, 5))
def test_every_coverable_need_is_covered(demo, needs, province, top_k):
    result = match(demo, {"needs": needs, "province": province, "top_k": top_k})
    assert set(result["covered"]) | set(result["uncovered"]) == set(needs)
    assert len(result["bundles"]) <= top_k
    for b in result["bundles"]:
        assert set(b["assignment"]) == set(result["covered"])
        assert all(0 <= p <= 1 for m in b["members"] for p in m["chance"].values())
        assert 0 <= b["success_chance"] <= 1
    assert len({frozenset(b["assignment"].values()) for b in result["bundles"]}) == len(result["bundles"])


def test_match_endpoint_answers_in_thai_unescaped(client):
    response = client.post("/api/v1/match", json={"needs": ["gmp_haccp", "loan"], "province": "Chiang Mai",
                                                  "explain": True})
    assert response.status_code == 200
    body = response.get_json()
    assert body["province"] == "TH-50" and body["bundles"] and body["synthetic"] is True
    assert body["scorer"] == "hand_set" and "explain" in body
    assert "รับงานได้อีก".encode() in response.data


@pytest.mark.parametrize("body, status, field", [
    ({"needs": ["gmp"], "province": "TH-50"}, 422, "needs"),
    ({"needs": ["loan"], "province": "Atlantis"}, 422, "province"),
    ({"needs": "loan", "province": "TH-50"}, 422, "needs"),
    ({"province": "TH-50"}, 422, "needs"),
    ({"needs": ["loan"]}, 422, "province"),
    ({"needs": [], "province": "TH-50"}, 422, "needs"),
    ({"needs": ["loan"], "province": "TH-50", "top_k": 0}, 422, "top_k"),
    ({"needs": ["loan"], "province": "TH-50", "top_k": "three"}, 422, "top_k"),
    ({"needs": ["loan"], "province": "TH-50", "exclude": ["Z1"]}, 422, "exclude.0"),
    ({"needs": ["loan"], "province": "TH-50", "include": ["Z1"]}, 422, "include.0"),
    ({"needs": ["loan"], "province": "TH-50", "coordinate_with": ["Z1"]}, 422, "coordinate_with.0"),
    ({"needs": ["loan"], "province": "TH-50", "include": ["A0001"], "exclude": ["A0001"]}, 422, "include"),
    ({"needs": ["loan"], "province": "TH-50", "include": ["A0001"], "coordinate_with": ["A0001"]}, 422, "include"),
    ({"needs": ["credit_guarantee"], "province": "TH-50", "include": ["C0001"]}, 409, "include"),
    ({"needs": ["loan"], "province": "TH-50", "exclude": ["A9999"]}, 404, "exclude"),
    ({"needs": ["loan", "credit_guarantee", "halal_cert"], "province": "TH-90", "max_members": 1}, 409,
     "max_members"),
    ({"needs": ["loan"], "province": "TH-50", "max_members": 0}, 422, "max_members"),
    ({"needs": ["loan"], "province": "TH-50", "kinds": "banks"}, 422, "kinds"),
    ({"needs": ["loan"], "province": "TH-50", "cluster": "durian"}, 404, "cluster"),
    ({"needs": ["loan"], "province": "TH-50", "cluster": "Durian!"}, 422, "cluster"),
    ({"needs": ["loan"], "province": "TH-50", "local_only": "perhaps"}, 422, "local_only"),
    ({"needs": ["loan"], "province": "TH-50", "colour": "red"}, 422, "colour"),
    ([1, 2], 422, None),
])
def test_match_errors_have_the_one_shape(client, body, status, field):
    assert_error_shape(client.post("/api/v1/match", json=body), status, field)


def test_too_few_members_allowed_names_the_smallest_bundle(client):
    body = client.post("/api/v1/match", json={"needs": ["loan", "credit_guarantee", "halal_cert"],
                                              "province": "TH-90", "max_members": 1}).get_json()
    assert "smallest needs" in body["error"] and "max_members" in body["error"]


def test_malformed_json_is_a_400_naming_the_body(client):
    response = client.post("/api/v1/match", data="{bad json", content_type="application/json")
    assert_error_shape(response, 400, "body")


def test_cluster_sector_counts_for_fit(demo):
    with_cluster = match(demo, {"needs": ["rnd_product"], "province": "TH-50", "cluster": "herbs"})
    assert with_cluster["bundles"] and json.dumps(with_cluster, ensure_ascii=False)
