"""Match: bundles that cover every coverable need, respect the request, rank by their chance, explain and
prove themselves."""

import itertools
import json
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_error_shape
from matcher.engine import features as F
from matcher.engine import scoring
from matcher.engine.matching import match
from matcher.engine.objective import leg_cost
from matcher.engine.request import MatchRequest
from matcher.engine.snapshot import Snapshot, build_snapshot
from matcher.geo import distance_matrix
from matcher.store import bump_data_version, open_db


def toy_snapshot(ref, members, collaborations=(), load=None, month_load=None) -> Snapshot:
    """A tiny network: ``members`` are (id, kind, province, {category: (capacity, specialisation)})."""
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
    none = np.zeros(len(members))
    return Snapshot(version=1, ref=ref, members=rows, categories=list(ref.category_codes), province_codes=provinces,
                    offers=offers, specialisation=spec, capacity=cap,
                    load=none.copy() if load is None else np.asarray(load, float),
                    month_load=none.copy() if month_load is None else np.asarray(month_load, float),
                    member_province=np.array([provinces.index(m[2]) for m in members]),
                    province_distance=distance_matrix(ref.provinces), finished=zeros, completed=zeros.copy(),
                    value_baht=zeros.copy(), collaboration=G, dataset={"synthetic": True})


def run(snapshot, **body):
    return match(snapshot, MatchRequest.parse(snapshot, body))


def prior_logit(spec, *, joint=0.0, others=0, same_province=True, needs=1):
    """The hand-set prior's logit of a toy leg: no history (track record at the 60 % prior), no load, in
    the enterprise's province unless said, no sector."""
    w = scoring.PRIOR_WEIGHTS
    return (scoring.PRIOR_INTERCEPT + w["specialisation"] * spec + w["category_completion_rate"] * F.PRIOR_RATE
            + w["same_province"] * same_province + w["extra_needs"] * (needs - 1)
            + w["joint_partners"] * math.log1p(joint) + w["other_members"] * others)


# Two banks equally good for the loan; one has worked three times with the guarantor, the only one.
TOY = [("A1", "commercial_bank", "TH-50", {"loan": (10, 0.9)}),
       ("A2", "tcg", "TH-50", {"credit_guarantee": (10, 0.9)}),
       ("A3", "commercial_bank", "TH-50", {"loan": (10, 0.9)})]


def test_past_partners_rank_first_and_the_sentence_says_why(ref):
    snap = toy_snapshot(ref, TOY, collaborations=[("A2", "A3", 3)])
    result = run(snap, needs=["loan", "credit_guarantee"], province="Chiang Mai", top_k=2)
    first, second = result.bundles
    assert first.assignment == {"loan": "A3", "credit_guarantee": "A2"}
    assert second.assignment == {"loan": "A1", "credit_guarantee": "A2"}  # the sole guarantor stays
    partners = 1 / (1 + math.exp(-prior_logit(0.9, joint=3, others=1)))
    strangers = 1 / (1 + math.exp(-prior_logit(0.9, others=1)))
    assert first.chance == pytest.approx(partners ** 2, abs=1e-4)
    assert second.chance == pytest.approx(strangers ** 2, abs=1e-4)
    assert first.objective == pytest.approx(-math.log(first.chance), abs=1e-4)
    codes = [r.code for r in first.comparison.reasons]
    assert codes == ["chance_higher", "more_joint_work"]
    assert first.comparison.reasons[1].params == {"this": 3, "other": 0}
    joint = [r for leg in first.legs for r in leg.reasons if r.code == "joint_work"]
    assert {(r.params["with"], r.params["referrals"]) for r in joint} == {("A2", 3), ("A3", 3)}
    assert result.certificate["best_is_network_optimal"] is True


def test_one_member_for_both_needs_when_one_leg_is_likelier_than_two(ref):
    both = [("A9", "sme_d_bank", "TH-50", {"loan": (10, 0.8), "credit_guarantee": (10, 0.8)})] + TOY[:2]
    result = run(toy_snapshot(ref, both), needs=["loan", "credit_guarantee"], province="TH-50", top_k=2)
    best = result.bundles[0]
    assert [leg.member for leg in best.legs] == ["A9"] and best.legs[0].needs == ["loan", "credit_guarantee"]
    one_leg = 1 / (1 + math.exp(-prior_logit(0.8, needs=2)))
    assert best.chance == pytest.approx(one_leg, abs=1e-4) and best.legs[0].chance == pytest.approx(one_leg, abs=1e-4)
    assert [r.code for r in best.comparison.reasons][:2] == ["chance_higher", "fewer_members"]


def test_members_at_capacity_are_never_proposed(ref):
    snap = toy_snapshot(ref, TOY, collaborations=[("A2", "A3", 3)], load=[0, 0, 10])
    result = run(snap, needs=["loan", "credit_guarantee"], province="TH-50")
    assert all(leg.member != "A3" for b in result.bundles for leg in b.legs)


def test_this_months_load_lowers_the_chance(ref):
    idle = run(toy_snapshot(ref, TOY), needs=["loan"], province="TH-50", top_k=2)
    busy = run(toy_snapshot(ref, TOY, month_load=[9, 0, 0]), needs=["loan"], province="TH-50", top_k=2)
    assert idle.bundles[0].chance == busy.bundles[0].chance  # A3 stays as good as A1 was
    assert {leg.member for b in busy.bundles for leg in b.legs} == {"A1", "A3"}
    assert busy.bundles[0].legs[0].member == "A3" and busy.bundles[1].chance < idle.bundles[1].chance


def test_bundles_cover_every_need_with_members_offering_it(demo):
    needs = ["gmp_haccp", "fda_registration", "loan", "credit_guarantee", "branding"]
    result = run(demo, needs=needs, province="เชียงใหม่", sector="food", top_k=3)
    assert result.uncovered == [] and len(result.bundles) == 3
    sets = set()
    for b in result.bundles:
        assert set(b.assignment) == set(needs)
        for need, member_id in b.assignment.items():
            assert demo.offers[demo.member_index[member_id], demo.category_index[need]]
        sets.add(frozenset(b.members))
        assert 0 < b.chance <= 1
        assert b.chance == pytest.approx(math.prod(leg.chance for leg in b.legs), abs=2e-4)
        assert b.plan.steps and {leg.member for leg in b.legs} == {w.member for s in b.plan.steps for w in s.work}
    assert len(sets) == 3
    chances = [b.chance for b in result.bundles]
    assert chances == sorted(chances, reverse=True)
    assert all(b.comparison is not None for b in result.bundles)  # the last one against the best not shown


def test_local_members_are_preferred(demo):
    result = run(demo, needs=["fda_registration"], province="Songkhla")
    assert result.bundles[0].legs[0].province == "TH-90"


def test_needs_nobody_offers_are_reported_uncovered(db_path, ref):
    db = open_db(db_path)
    db.execute("DELETE FROM offerings WHERE category = 'halal_cert'")
    bump_data_version(db)
    snap = build_snapshot(db, ref)
    result = run(snap, needs=["halal_cert", "loan"], province="TH-90")
    assert [u.need for u in result.uncovered] == ["halal_cert"] and result.covered == ["loan"]
    assert result.uncovered[0].reason.code == "no_member_offers"
    assert all(set(b.assignment) == {"loan"} for b in result.bundles)


def test_request_constraints_are_respected(demo):
    base = {"needs": ["gmp_haccp", "loan", "branding"], "province": "TH-50", "sector": "food"}
    first = run(demo, **base).bundles[0].legs[0].member
    assert all(leg.member != first for b in run(demo, **base, exclude=[first]).bundles for leg in b.legs)
    local = run(demo, **base, local_only=True)
    assert all(leg.province == "TH-50" for b in local.bundles for leg in b.legs)
    agencies = run(demo, **base, kinds="agencies")
    assert all(leg.type == "agency" for b in agencies.bundles for leg in b.legs)
    small = run(demo, **base, max_members=2)
    assert all(len(b.legs) <= 2 for b in small.bundles)
    someone = next(m for m in demo.members if m["province"] == "TH-40" and
                   demo.offers[demo.member_index[m["id"]], demo.category_index["loan"]])["id"]
    forced = run(demo, **base, include=[someone])
    assert forced.bundles and all(someone in b.members for b in forced.bundles)


def test_alternatives_are_different_teams(demo):
    result = run(demo, needs=["gmp_haccp", "loan"], province="TH-50", sector="food", top_k=3)
    first = set(result.bundles[0].members)
    for b in result.bundles[1:]:
        shared = first & set(b.members)
        # a member shared with bundle 1 is the only one left for one of its needs
        for member_id in shared:
            need = next(n for n, m in b.assignment.items() if m == member_id)
            j = demo.category_index[need]
            others = [m["id"] for m in demo.members if demo.offers[demo.member_index[m["id"]], j]]
            assert others


def test_members_on_the_case_count_but_are_never_proposed(demo):
    base = {"needs": ["loan", "credit_guarantee"], "province": "TH-50", "explain": True}
    staying = run(demo, **base).bundles[0].legs[0].member
    rematch = run(demo, **{**base, "needs": ["credit_guarantee"], "coordinate_with": [staying]})
    assert all(leg.member != staying for b in rematch.bundles for leg in b.legs)
    explain = rematch.explain
    assert explain["coordinate_with"] == [staying] and explain["joint"]["members"][-1] == staying
    assert staying not in [e["member"] for e in explain["pool"]]
    coord = demo.coordination()
    for b in rematch.bundles:
        for leg in b.legs:
            joint = coord.joint(demo.member_index[leg.member], demo.member_index[staying])
            said = [r for r in leg.reasons if r.code == "joint_work" and r.params["on_case"]]
            assert [r.params["referrals"] for r in said] == ([joint] if joint else [])


def test_an_assumed_province_offers_no_distance(demo):
    result = run(demo, needs=["loan"], province="TH-50", province_assumed=True)
    assert result.province_assumed is True
    for b in result.bundles:
        for leg in b.legs:
            assert leg.distance_km is None and all(r.code != "distance" for r in leg.reasons)
        assert all(r.code not in ("nearer", "farther") for r in b.comparison.reasons)


def recompute(explain, assignment) -> float:
    """J of an assignment from the explain block alone, as its formula says."""
    pool = {e["member"]: e["leg_logits"] for e in explain["pool"]}
    ids = explain["joint"]["members"]
    joint = np.array(explain["joint"]["referrals"])
    legs: dict[str, list[str]] = {}
    for need in explain["needs"]:
        legs.setdefault(assignment[need], []).append(need)
    on_case = [ids.index(m) for m in explain["coordinate_with"]]
    w = explain["weights"]
    J = 0.0
    for member, needs in legs.items():
        key = "+".join(needs)
        if key not in pool[member]:
            return math.inf
        partners = [ids.index(o) for o in legs if o != member] + on_case
        z = (pool[member][key] + w["joint_partners"] * math.log1p(joint[ids.index(member), partners].sum())
             + w["other_members"] * (len(legs) - 1 + len(on_case)))
        J += math.log1p(math.exp(-z))
    return J


def test_explain_lets_anyone_recompute_and_check_the_bundles(demo):
    result = run(demo, needs=["gmp_haccp", "packaging_design", "loan"], province="TH-65", sector="food",
                 explain=True, top_k=3)
    explain = result.explain
    joint = np.array(explain["joint"]["referrals"])
    assert (joint == joint.T).all() and len(joint) == len(explain["joint"]["members"])
    for b in result.bundles:
        assert recompute(explain, b.assignment) == pytest.approx(b.objective, abs=1e-6)
        assert math.exp(-b.objective) == pytest.approx(b.chance, abs=1e-4)
    # Brute force over the pool: nothing beats bundle 1.
    holders = [[e["member"] for e in explain["pool"] if n in e["leg_logits"]] for n in explain["needs"]]
    best = min(recompute(explain, dict(zip(explain["needs"], choice))) for choice in itertools.product(*holders))
    assert result.bundles[0].objective == pytest.approx(best, abs=1e-6)
    assert result.certificate["exact_within_pool"] is True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(needs=st.lists(st.sampled_from(["gmp_haccp", "fda_registration", "loan", "credit_guarantee", "branding",
                                       "online_marketing", "halal_cert", "logistics"]), min_size=1, max_size=4,
                      unique=True),
       province=st.sampled_from(["TH-50", "TH-90", "TH-40", "TH-65", "TH-10"]), top_k=st.integers(1, 5))
def test_every_coverable_need_is_covered(demo, needs, province, top_k):
    result = run(demo, needs=needs, province=province, top_k=top_k)
    assert set(result.covered) | {u.need for u in result.uncovered} == set(needs)
    assert len(result.bundles) <= top_k
    for b in result.bundles:
        assert set(b.assignment) == set(result.covered)
        assert all(0 < leg.chance <= 1 for leg in b.legs) and 0 < b.chance <= 1
    assert len({frozenset(b.assignment.values()) for b in result.bundles}) == len(result.bundles)


def test_match_endpoint_answers_codes_and_thai_and_english(client):
    response = client.post("/api/v1/match", json={"needs": ["gmp_haccp", "loan"], "province": "Chiang Mai",
                                                  "explain": True})
    assert response.status_code == 200
    body = response.get_json()
    assert body["province"] == "TH-50" and body["bundles"] and body["synthetic"] is True
    assert body["scorer"] == "hand_set" and "explain" in body and body["order"]["by"] == "success_chance"
    member = body["bundles"][0]["members"][0]
    assert all({"code", "params", "th", "en"} <= set(r) for r in member["reasons"])
    assert "รับงานได้อีก".encode() in response.data
    beat = body["bundles"][0]["beat"]
    assert beat["reasons"][0]["code"] in ("chance_higher", "chance_equal") and beat["th"] and beat["en"]
    assert body["bundles"][0]["chance_meaning"]["th"].startswith("จากกรณีลักษณะเดียวกันทุก 100 ราย")


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
    ({"needs": ["loan"], "province": "TH-50", "province_assumed": "perhaps"}, 422, "province_assumed"),
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
    plain = run(demo, needs=["rnd_product"], province="TH-50")
    with_cluster = run(demo, needs=["rnd_product"], province="TH-50", cluster="herbs")
    fit = scoring.sector_fit(demo, "herbs_cosmetics")
    best = demo.member_index[with_cluster.bundles[0].legs[0].member]
    assert with_cluster.bundles and (fit[best] or with_cluster.bundles[0].chance <= plain.bundles[0].chance)
    assert json.dumps([b.chance for b in with_cluster.bundles])


def test_leg_cost_is_the_negative_log_of_the_chance():
    z = np.array([-3.0, 0.0, 2.5])
    assert leg_cost(z) == pytest.approx(-np.log(1 / (1 + np.exp(-z))))
