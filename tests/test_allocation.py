"""Batch allocation: joint min-cost flow under capacity against one-at-a-time greedy."""

import json
from collections import Counter

import numpy as np
import pytest

from matcher.engine import allocation
from matcher.engine.matching import match
from matcher.engine.request import MatchRequest
from matcher.errors import Unprocessable
from test_matching import toy_snapshot

# A1 is the best for the loan and the only one for the guarantee, with one leg left this month; A2 can
# also lend. Taken one at a time, case 1 gets A1 and case 2 finds nobody; jointly, both are served.
TOY = [("A1", "sme_d_bank", "TH-50", {"loan": (1, 0.9), "credit_guarantee": (1, 0.9)}),
       ("A2", "commercial_bank", "TH-50", {"loan": (5, 0.5)})]
TOY_CASES = [allocation.Case("1", "first", "TH-50", ["loan"]),
             allocation.Case("2", "second", "TH-50", ["credit_guarantee"])]


@pytest.fixture
def toy(ref):
    return toy_snapshot(ref, TOY, load=[1, 0])


@pytest.mark.parametrize("solver", ["ortools", "networkx"])
def test_joint_allocation_serves_what_greedy_cannot(toy, solver):
    joint = allocation.allocate(toy, TOY_CASES, solver=solver)
    assert [b["assignment"] for b in joint["bundles"]] == [{"loan": "A2"}, {"credit_guarantee": "A1"}]
    assert joint["summary"]["cases_fully_covered"] == 2 and joint["summary"]["legs_over_capacity"] == 0
    greedy = allocation.allocate_sequentially(toy, TOY_CASES)
    assert [b["assignment"] for b in greedy["bundles"]] == [{"loan": "A1"}, {"credit_guarantee": None}]
    assert greedy["summary"]["cases_fully_covered"] == 1
    assert greedy["summary"]["largest_gaps"] == [{"province": "TH-50", "need": "credit_guarantee", "unserved": 1}]
    alone = allocation.allocate_independently(toy, TOY_CASES)["summary"]
    assert alone["cases_fully_covered"] == 2 and alone["legs_over_capacity"] == 1
    assert alone["members_over_capacity"] == 1


def test_bundle_objectives_are_the_matchs_own(toy):
    case = allocation.Case("1", "x", "TH-50", ["loan", "credit_guarantee"])
    row = allocation.allocate(toy, [case])["bundles"][0]
    assert row["members"] == ["A1"]  # one leg for both needs is likelier than two legs
    matched = match(toy, MatchRequest.parse(toy, {"needs": case.needs, "province": "TH-50", "top_k": 1}))
    assert matched.bundles[0].members == ["A1"]
    assert row["objective"] == pytest.approx(matched.bundles[0].objective, abs=1e-6)
    assert row["success_chance"] == pytest.approx(np.exp(-row["objective"]), abs=1e-4)


def test_bad_rows_are_all_reported_and_nothing_is_allocated(ref):
    text = ("enterprise,province,needs,sector\n"
            "ok,Chiang Mai,loan branding,food\n"
            "bad province,Atlantis,loan,\n"
            "bad need,TH-50,gmp;loan,\n"
            "no needs,TH-50,,\n")
    with pytest.raises(Unprocessable) as info:
        allocation.read_cases(text, ref)
    fields = [e["field"] for e in info.value.details()]
    assert fields == ["row 3: province", "row 4: needs", "row 5: needs"]
    assert "3 bad row(s)" in info.value.message
    with pytest.raises(Unprocessable, match="lacks column"):
        allocation.read_cases("enterprise,needs\nx,loan\n", ref)


def test_cases_read_every_separator(ref):
    cases = allocation.read_cases("case,enterprise,province,needs\nK1,x,เชียงใหม่,loan;branding|gmp_haccp\n", ref)
    assert cases[0].key == "K1" and cases[0].province == "TH-50" and cases[0].needs == ["loan", "branding",
                                                                                         "gmp_haccp"]


def crowded_cases(snapshot, n=400, seed=0):
    """Many cases in two provinces, enough to run members out of capacity."""
    rng = np.random.default_rng(seed)
    needs = ["loan", "credit_guarantee", "gmp_haccp", "fda_registration", "branding"]
    return [allocation.Case(str(i), f"E{i}", ["TH-50", "TH-57"][i % 2],
                            sorted(rng.choice(needs, int(rng.integers(1, 4)), replace=False).tolist()), "food")
            for i in range(n)]


@pytest.mark.parametrize("method", [allocation.allocate, allocation.allocate_sequentially])
def test_capacity_is_never_exceeded(demo, method):
    cases = crowded_cases(demo)
    result = method(demo, cases)
    legs = Counter(m for b in result["bundles"] for m in b["members"])
    left = demo.capacity_left()
    assert all(legs[m] <= left[demo.member_index[m]] for m in legs)
    assert result["summary"]["legs_over_capacity"] == 0
    for b in result["bundles"]:
        for need, member in b["assignment"].items():
            assert member is None or demo.offers[demo.member_index[member], demo.category_index[need]]
    assert result["summary"]["case_needs_unserved"] == sum(len(b["uncovered"]) for b in result["bundles"])


def test_joint_allocation_covers_at_least_as_many_needs_as_greedy(demo):
    cases = crowded_cases(demo, seed=1)
    joint = allocation.allocate(demo, cases)["summary"]
    greedy = allocation.allocate_sequentially(demo, cases)["summary"]
    assert joint["case_needs_unserved"] <= greedy["case_needs_unserved"]
    assert joint["synthetic"] is True


def legs_cost(snapshot, cases, rows) -> float:
    """What the flow minimises: the cost of every allocated leg, without the bundle terms."""
    table = allocation.CostTable(snapshot)
    total = 0.0
    for case, row in zip(cases, rows):
        legs: dict = {}
        for need, member in row["assignment"].items():
            if member is not None:
                legs.setdefault(member, []).append(need)
        total += sum(table.leg_cost(case.province, case.sector, needs, snapshot.member_index[m])
                     for m, needs in legs.items())
    return total


def test_solvers_agree(demo):
    cases = crowded_cases(demo, n=120, seed=2)
    a = allocation.allocate(demo, cases, solver="ortools")
    b = allocation.allocate(demo, cases, solver="networkx")
    assert a["summary"]["case_needs_unserved"] == b["summary"]["case_needs_unserved"]
    assert legs_cost(demo, cases, a["bundles"]) == pytest.approx(legs_cost(demo, cases, b["bundles"]), abs=1e-3)


def test_allocate_command_writes_csv_and_json(runner, tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text("enterprise,province,needs,sector\nวิสาหกิจชุมชนทดลอง (สมมติ),เชียงใหม่,gmp_haccp fda_registration,food\n"
                     "Shop B,Songkhla,loan;credit_guarantee,\n", encoding="utf-8")
    result = runner.invoke(args=["allocate", str(cases), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"joint", "one_at_a_time", "each_alone"} <= set(report)
    assert report["joint"]["cases"] == 2 and report["joint"]["synthetic"] is True
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("case,enterprise,province,needs,members") and "วิสาหกิจชุมชนทดลอง" in lines[1]
    saved = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert len(saved["bundles"]) == 2 and saved["bundles"][1]["province"] == "TH-90"


def test_allocate_command_explains_bad_rows(runner, tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text("enterprise,province,needs\nx,Atlantis,loan\n", encoding="utf-8")
    result = runner.invoke(args=["allocate", str(cases), "--quiet"])
    assert result.exit_code != 0 and "row 2" in result.output and "Atlantis" in result.output
    assert not (tmp_path / "cases.bundles.csv").exists()
