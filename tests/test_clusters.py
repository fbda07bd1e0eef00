"""Clusters along the value chain: toy rows with known answers, then the demo store and its bundles."""

import json

import pytest

from graphs import clusters
from matcher.analysis import network as analysis
from matcher.errors import NotFound
from matcher.store import open_db

STAGES = [{"cluster_id": "garlic", "stage": "upstream", "enterprises": 4},
          {"cluster_id": "garlic", "stage": "downstream", "enterprises": 2},
          {"cluster_id": "other", "stage": "midstream", "enterprises": 9}]
NEEDS = [{"cluster_id": "garlic", "stage": "upstream", "category": "organic_cert", "cases": 5, "enterprises": 4},
         {"cluster_id": "garlic", "stage": "downstream", "category": "organic_cert", "cases": 1, "enterprises": 1},
         {"cluster_id": "garlic", "stage": "downstream", "category": "branding", "cases": 2, "enterprises": 2},
         {"cluster_id": "garlic", "stage": "upstream", "category": "halal_cert", "cases": 1, "enterprises": 1},
         {"cluster_id": "other", "stage": "midstream", "category": "loan", "cases": 9, "enterprises": 9}]
SERVICES = [{"cluster_id": "garlic", "stage": "upstream", "member_id": "A1", "category": "organic_cert", "legs": 3,
             "completed": 2, "value_baht": 100.0},
            {"cluster_id": "garlic", "stage": "downstream", "member_id": "C7", "category": "branding", "legs": 2,
             "completed": 0, "value_baht": 0.0},
            {"cluster_id": "garlic", "stage": "upstream", "member_id": "A1", "category": "halal_cert", "legs": 1,
             "completed": 0, "value_baht": 0.0}]


def test_stage_counts_and_missing_stages():
    counts = clusters.stage_counts(STAGES, "garlic")
    assert counts == {"upstream": 4, "midstream": 0, "downstream": 2}
    assert clusters.missing_stages(counts) == ["midstream"]
    assert clusters.missing_stages(clusters.stage_counts(STAGES, "nobody")) == list(clusters.STAGES)


def test_members_by_stage():
    by_stage = clusters.members_by_stage(SERVICES, "garlic")
    assert by_stage["upstream"] == [{"member": "A1", "legs": 4, "completed": 2, "value_baht": 100.0,
                                     "categories": ["halal_cert", "organic_cert"]}]
    assert [m["member"] for m in by_stage["downstream"]] == ["C7"] and by_stage["midstream"] == []


def test_needs_profile_and_missing_services():
    needs = clusters.needs_profile(NEEDS, SERVICES, "garlic")
    assert [(n["category"], n["enterprises"], n["stages"], n["completed"]) for n in needs] == [
        ("organic_cert", 5, ["upstream", "downstream"], 2), ("branding", 2, ["downstream"], 0),
        ("halal_cert", 1, ["upstream"], 0)]
    missing = clusters.missing_services(needs, {"organic_cert": ["A1"], "branding": ["C7"]})
    assert missing == [{"category": "branding", "why": "never_completed", "enterprises": 2},
                       {"category": "halal_cert", "why": "no_provider_in_reach", "enterprises": 1}]


@pytest.mark.parametrize("enterprises, expected", [(6, ["organic_cert", "branding"]), (30, ["organic_cert"]),
                                                   (100, [])])
def test_shared_needs_are_raised_by_enough_of_the_cluster(enterprises, expected):
    needs = clusters.needs_profile(NEEDS, SERVICES, "garlic")
    assert clusters.shared_needs(needs, enterprises) == expected


def test_demo_clusters_hold_aggregates_only(db_path, ref):
    body = analysis.clusters(open_db(db_path), ref)
    assert body["total"] == 8 and body["synthetic"] is True
    garlic = next(c for c in body["items"] if c["id"] == "garlic")
    assert garlic["province"] == "TH-50" and garlic["enterprises"] == sum(garlic["stages"].values()) > 0
    assert set(garlic["stages"]) == {"upstream", "midstream", "downstream"}
    text = json.dumps(body, ensure_ascii=False)
    for personal in ("contact_", "@example.com", "tax_id", "cda_name", "consent_by"):
        assert personal not in text


def test_cluster_gaps_with_a_bundle_for_the_shared_needs(app, db_path, ref):
    db = open_db(db_path)
    with app.app_context():
        snapshot = app.extensions["rismep"].snapshots.get(db)
    body = analysis.cluster_gaps(db, ref, "garlic", snapshot)
    assert body["shared_needs"] and body["bundle"]["needs"] == body["shared_needs"]
    bundle = body["bundle"]
    assert set(bundle["covered"]) | set(bundle["uncovered"]) == set(body["shared_needs"])
    assigned = {n for m in bundle["members"] for n in m["needs"]}
    assert assigned == set(bundle["covered"])
    assert all(r["member"] and r["name_th"] for rows in body["members_by_stage"].values() for r in rows)
    for m in body["missing_services"]:
        assert m["reason"]["th"] and m["reason"]["en"] and m["why"] in ("no_provider_in_reach", "never_completed")
    assert "@example.com" not in json.dumps(body, ensure_ascii=False)


def test_unknown_cluster_names_the_known_ones(db_path, ref):
    with pytest.raises(NotFound) as caught:
        analysis.cluster_gaps(open_db(db_path), ref, "durian", None)
    assert "garlic" in caught.value.message and "garlic" in caught.value.allowed
