import json

import numpy as np
import pytest

from matcher.synthetic import demo
from matcher.store import directory, history, open_db


@pytest.fixture(scope="module")
def rows(ref):
    return demo.generate(ref, seed=demo.DEMO_SEED, scale="demo")


def test_generator_is_deterministic(ref, rows):
    again = demo.generate(ref, seed=demo.DEMO_SEED, scale="demo")
    assert again == rows
    other = demo.generate(ref, seed=7, scale="demo")
    assert other["members"] != rows["members"]


def test_published_2018_shape(ref, rows):
    members = rows["members"]
    assert sum(m["type"] == "agency" for m in members) == 245
    assert sum(m["type"] == "consultant" for m in members) == 217
    live = {m["province"] for m in members}
    names = {ref.province_by_code[c]["name_en"] for c in live}
    assert len(live) == 16
    assert {"Chiang Rai", "Phetchabun", "Nakhon Sawan", "Nong Bua Lam Phu", "Roi Et", "Songkhla"} <= names
    assert 380 <= len(rows["referrals"]) <= 400
    legs_per_referral = {}
    for leg in rows["legs"]:
        legs_per_referral[leg["referral_id"]] = legs_per_referral.get(leg["referral_id"], 0) + 1
    assert sum(n > 1 for n in legs_per_referral.values()) >= 72


def test_everything_is_labelled_synthetic(rows):
    assert all(m["synthetic"] == 1 and ("synthetic" in m["name_en"]) for m in rows["members"])
    assert all(e["synthetic"] == 1 and "สมมติ" in e["name"] for e in rows["enterprises"])
    assert all(e["contact_email"].endswith("@example.com") for e in rows["enterprises"])


def test_members_offer_what_their_kind_offers(ref, rows):
    offered = {}
    for o in rows["offerings"]:
        offered.setdefault(o["member_id"], set()).add(o["category"])
    for m in rows["members"]:
        if m["type"] == "agency":
            assert offered[m["id"]] == set(ref.kind_by_code[m["kind"]]["categories"])
        else:
            assert offered[m["id"]] <= set(demo.CONSULTANT_CATEGORIES)


def test_outcomes_follow_the_hidden_truth(rows):
    truth = {t["leg_id"]: t["p_success"] for t in rows["truth"]}
    finished = [l for l in rows["legs"] if l["status"] in ("completed", "closed_unresolved")]
    p = np.array([truth[l["id"]] for l in finished])
    done = np.array([l["status"] == "completed" for l in finished])
    assert 0 < p.min() and p.max() < 1
    # completed legs had a clearly higher true chance than unresolved ones
    assert p[done].mean() > p[~done].mean() + 0.05
    assert all(l["value_baht"] > 0 for l in finished if l["status"] == "completed")


def test_truth_model_rewards_specialisation_and_penalises_distance_and_load():
    base = demo.truth_logit(0.8, 0, 0.2, 0.0, 1, 0)
    assert demo.truth_logit(0.4, 0, 0.2, 0.0, 1, 0) < base
    assert demo.truth_logit(0.8, 300, 0.2, 0.0, 1, 0) < base
    assert demo.truth_logit(0.8, 0, 1.5, 0.0, 1, 0) < base
    assert demo.truth_logit(0.8, 0, 0.2, 0.0, 1, 3) > base


def test_seeded_store_matches_the_generator(db_path, rows):
    db = open_db(db_path)
    counts = directory.counts(db)
    assert counts["agencies"] == 245 and counts["consultants"] == 217 and counts["provinces"] == 77
    assert counts["referrals"] == len(rows["referrals"])
    assert directory.dataset_info(db)["synthetic"] is True
    leg = db.execute("SELECT needs FROM referral_legs LIMIT 1").fetchone()[0]
    assert isinstance(json.loads(leg), list)
    assert len(history.demo_truth(db)) == len(rows["legs"])


@pytest.mark.slow
def test_agencies_have_a_fictitious_address_in_their_province_and_office_hours(ref, rows):
    from matcher.hours import canonical_hours
    agencies = [m for m in rows["members"] if m["type"] == "agency"]
    for m in agencies:
        province = ref.province_by_code[m["province"]]["name_th"]
        assert m["address"].endswith("(ที่อยู่สมมติ)") and province in m["address"], m
        assert canonical_hours(m["hours"]) == m["hours"]
    assert {m["hours"] for m in agencies if m["kind"] == "provincial_industry_office"} == {"Mo-Fr 08:30-16:30"}
    assert len({m["address"] for m in agencies}) > 0.9 * len(agencies)


def test_consultants_have_their_name_in_english_too(rows):
    from matcher.synthetic.places import FAMILY_EN, GIVEN_EN
    for m in (m for m in rows["members"] if m["type"] == "consultant"):
        given, family = m["name_th"].split(" (")[0].split(" ")
        assert m["name_en"] == f"{GIVEN_EN[given]} {FAMILY_EN[family]} (consultant, synthetic)"


def test_addresses_draw_from_their_own_stream_so_the_rest_of_the_network_is_unchanged(ref, rows, monkeypatch):
    from matcher.synthetic import places
    monkeypatch.setattr(places, "fictitious_address", lambda rng, province: "")
    plain = demo.generate(ref, seed=demo.DEMO_SEED, scale="demo")
    for key in rows:
        if key == "members":
            assert [dict(m, address=None) for m in plain[key]] == [dict(m, address=None) for m in rows[key]]
        else:
            assert plain[key] == rows[key], key
