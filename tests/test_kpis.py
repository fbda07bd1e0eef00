"""KPIs: totals and rates on known rows, targets by year, budgets, and live reads of the demo store."""

import json

import pytest

from graphs import kpis
from matcher.analysis import kpis as kpi
from matcher.synthetic import budgets
from matcher.errors import Unprocessable
from matcher.store import analysis as store, history, open_db

ROWS = [  # referral_aggregates rows
    {"year": 2017, "province": "P1", "referrals": 10, "multi_agency": 4, "completed_referrals": 5, "legs": 16,
     "finished_legs": 16, "completed_legs": 8, "declined_legs": 2, "value_baht": 1_000_000.0},
    {"year": 2018, "province": "P1", "referrals": 6, "multi_agency": 4, "completed_referrals": 2, "legs": 10,
     "finished_legs": 8, "completed_legs": 4, "declined_legs": 0, "value_baht": 500_000.0},
    {"year": 2018, "province": "P2", "referrals": 4, "multi_agency": 0, "completed_referrals": 0, "legs": 4,
     "finished_legs": 0, "completed_legs": 0, "declined_legs": 0, "value_baht": 0.0},
]


def test_totals_and_rates():
    t = kpis.referral_totals(ROWS)
    assert (t["referrals"], t["multi_agency"], t["completed_legs"], t["finished_legs"]) == (20, 8, 12, 24)
    assert t["multi_agency_share"] == 0.4 and t["completion_rate"] == 0.5 and t["value_baht"] == 1_500_000.0
    by_province = kpis.totals_by(ROWS, "province")
    assert by_province["P2"]["completion_rate"] is None  # nothing finished yet: undefined, not 0
    assert kpis.totals_by(ROWS, "year")[2018]["referrals"] == 10


def test_empty_rows_give_zero_counts_and_undefined_rates():
    t = kpis.referral_totals([])
    assert t["referrals"] == 0 and t["multi_agency_share"] is None and t["completion_rate"] is None


def test_members_by_province():
    rows = [{"province": "P1", "type": "agency", "members": 3}, {"province": "P1", "type": "consultant", "members": 2},
            {"province": "P2", "type": "consultant", "members": 1}]
    assert kpis.members_by_province(rows) == {"P1": {"agencies": 3, "consultants": 2},
                                             "P2": {"agencies": 0, "consultants": 1}}


def test_live_years_prefer_the_recorded_year_then_the_first_member():
    rows = [{"code": "P1", "live_since": 2017, "first_member_year": 2016},
            {"code": "P2", "live_since": None, "first_member_year": 2020}, {"code": "P3", "live_since": None}]
    assert kpis.live_years(rows) == {"P1": 2017, "P2": 2020}


def test_progress_against_the_published_targets():
    live = {f"H{i}": 2017 for i in range(11)} | {f"N{i}": 2018 for i in range(5)} | {f"X{i}": 2019 for i in range(6)}
    progress = kpis.targets_progress(live)
    assert [r["year"] for r in progress] == list(range(2017, 2024))
    assert [r["live"] for r in progress] == [11, 16, 22, 22, 22, 22, 22]
    assert [(r["year"], r["target"], r["met"]) for r in progress if r["target"]] == [
        (2019, 22, True), (2021, 44, False), (2023, 77, False)]
    assert kpis.next_target(16) == 22 and kpis.next_target(44) == 77 and kpis.next_target(77) is None


def test_budget_totals_and_value_per_baht():
    rows = [{"province": "P1", "year": 2017, "baht": 1e6}, {"province": "P1", "year": 2018, "baht": 2e6},
            {"province": None, "year": None, "baht": 1e6}]
    b = kpis.budget_totals(rows)
    assert b == {"total": 4e6, "by_year": {2017: 1e6, 2018: 2e6}, "by_province": {"P1": 3e6},
                 "by_province_year": {"P1": {2017: 1e6, 2018: 2e6}}}
    same = kpis.value_per_baht_by_period({2017: 3e6, 2018: 2e6, 2019: 9e6}, b["by_year"])
    assert same == {"value_baht": 5e6, "budget_baht": 3e6, "value_per_baht": round(5 / 3, 4), "years": [2017, 2018]}
    assert kpis.percentiles([1, 2, 3, 4, 10]) == {"p50": 3, "p90": 7.6, "n": 5}
    assert kpis.percentiles([]) == {"p50": None, "p90": None, "n": 0}
    assert kpis.value_per_baht(10e6, 4e6) == 2.5
    assert kpis.value_per_baht(10e6, 0) is None and kpis.value_per_baht(10e6, None) is None


def test_demo_kpis_match_the_published_shape(db_path, ref):
    db = open_db(db_path)
    k = kpi.kpis(db, ref)
    assert (k["agencies"], k["consultants"], k["referrals"], k["provinces_live"]) == (245, 217, 400, 16)
    assert k["multi_agency_referrals"] >= 72 and 0 < k["completion_rate"] < 1
    assert k["budget_baht"] == 13_000_000 and k["budget_source"] == "synthetic"
    period = k["value_per_baht_period"]
    assert period["years"] == [2017, 2018] and period["budget_baht"] == 13_000_000
    assert k["value_per_baht"] == round(period["value_baht"] / 13_000_000, 4)
    assert period["value_baht"] == sum(r["value_completed_baht"] for r in k["by_year"] if r["year"] in (2017, 2018))
    assert k["needs_met"] + k["needs_closed_unmet"] <= k["needs"] and 0 < k["needs_met_share"] < 1
    assert k["completed_referrals"] == 177 and k["closed_referrals"] == 177
    accept, complete = k["time_to_accept_days"], k["time_to_complete_days"]
    assert 0 < accept["p50"] <= accept["p90"] and accept["n"] > 0 and complete["n"] == 177
    assert complete["p50"] <= complete["p90"]
    assert [(r["year"], r["live"]) for r in k["provinces_live_by_year"][:2]] == [(2017, 11), (2018, 16)]
    assert [t["met"] for t in k["targets"]] == [False, False, False] and k["next_target"] == 22
    assert sum(p["referrals"] for p in k["by_province"].values()) == 400
    json.dumps(k)


def test_budget_override_total_and_rows(db_path, ref):
    db = open_db(db_path)
    value = kpi.kpis(db, ref)["value_baht"]
    assert kpi.kpis(db, ref, budget=value / 2)["value_per_baht"] == 2.0
    k = kpi.kpis(db, ref, budget=[{"province": "เชียงใหม่", "year": 2018, "baht": value}])
    in_2018 = next(r["value_completed_baht"] for r in k["by_year"] if r["year"] == 2018)
    assert k["value_per_baht"] == round(in_2018 / value, 4) and k["budget_source"] == "override"
    assert k["value_per_baht_period"]["years"] == [2018], "value of other years is not divided by 2018's budget"
    assert k["by_province"]["TH-50"]["budget_baht"] == value


@pytest.mark.parametrize("budget, field", [(-5, "budget"), ("lots", "budget"), (True, "budget"),
                                           ([{"province": "Atlantis", "year": 2018, "baht": 1}], "budget.0.province"),
                                           ([{"province": "TH-50", "year": "next", "baht": 1}], "budget.0")])
def test_bad_budget_overrides_are_refused(db_path, ref, budget, field):
    with pytest.raises(Unprocessable) as caught:
        kpi.kpis(open_db(db_path), ref, budget=budget)
    assert caught.value.field == field


def complete_one_referral(db, value_baht: float, member_id: str = "A0001") -> None:
    """Record a referral whose single leg completed, through the store's history writer."""
    ids = history.next_ids(db)
    at = "2019-03-01T09:00:00"
    history.write_history(
        db, cases=[{"id": ids["cases"], "enterprise_id": 1, "province": "TH-50", "needs": '["loan"]',
                    "created_at": at}],
        referrals=[{"id": ids["referrals"], "case_id": ids["cases"], "enterprise_id": 1, "status": "completed",
                    "created_at": at, "updated_at": at}],
        legs=[{"id": ids["referral_legs"], "referral_id": ids["referrals"], "member_id": member_id,
               "needs": '["loan"]', "status": "completed", "value_baht": value_baht, "created_at": at,
               "updated_at": at}],
        events=[{"referral_id": ids["referrals"], "leg_id": ids["referral_legs"], "actor": member_id, "at": at,
                 "from_status": "in_progress", "to_status": "completed"}])


def test_a_newly_completed_referral_shows_in_the_kpis_at_once(db_path, ref):
    db = open_db(db_path)
    before = kpi.kpis(db, ref)
    in_2019 = sum(r["value_baht"] for r in store.value_by_completion_year(db) if r["year"] == 2019)
    complete_one_referral(db, 1_234_500.0)
    after = kpi.kpis(db, ref)
    assert after["value_baht"] == before["value_baht"] + 1_234_500.0
    assert after["completed_legs"] == before["completed_legs"] + 1
    assert after["referrals"] == before["referrals"] + 1
    assert after["value_per_baht"] == before["value_per_baht"], "2019 has no budget: its value is not divided by 2018's"
    assert [r["year"] for r in after["by_year"]] == [2017, 2018, 2019]
    assert after["by_year"][-1]["value_completed_baht"] == in_2019 + 1_234_500.0
    assert after["by_year"][-1]["budget_baht"] is None and after["by_year"][-1]["value_per_baht"] is None


def test_satisfaction_and_needs_met_follow_the_cases(db_path, ref):
    from matcher.referrals import followup
    db = open_db(db_path)
    before = kpi.kpis(db, ref)
    admin = {"role": "admin", "member_id": None, "desk": "desk-TH-50", "key_id": None, "name": "t"}
    rid = db.execute("SELECT id FROM referrals WHERE status = 'completed' ORDER BY id LIMIT 1").fetchone()[0]
    followup.record_satisfaction(db, rid, {"score": 5, "note": "ดีมาก"}, admin)
    other = db.execute("SELECT id FROM referrals WHERE status = 'completed' ORDER BY id LIMIT 1 OFFSET 1").fetchone()[0]
    followup.record_satisfaction(db, other, {"score": 2}, admin)
    after = kpi.kpis(db, ref)
    assert after["satisfaction"] == {"mean": 3.5, "responses": 2 + before["satisfaction"]["responses"],
                                     "scores": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}}
    open_need = db.execute("SELECT referral_id, need FROM referral_needs WHERE status = 'needs_action' "
                           "LIMIT 1").fetchone()
    followup.close_need(db, open_need[0], open_need[1], {"reason": "enterprise_withdrew"}, admin)
    assert kpi.kpis(db, ref)["needs_closed_unmet"] == after["needs_closed_unmet"] + 1


def test_synthetic_budget_is_seeded_once_and_labelled(db_path):
    db = open_db(db_path)
    rows = store.budgets(db)
    assert sum(r["baht"] for r in rows) == 13_000_000 and all(r["synthetic"] for r in rows)
    assert all("synthetic" in r["source"] for r in rows)
    assert {r["year"] for r in rows} == {2017, 2018} and len({r["province"] for r in rows}) == 16
    assert budgets.seed_synthetic_budgets(db) == 0
