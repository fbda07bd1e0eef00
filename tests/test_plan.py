"""Referral plans: prerequisites as data, checked for cycles; legs ordered in steps."""

import networkx as nx
import pytest

from matcher import render
from matcher.engine import plan

HEADER = "before,after,relation,sectors,reason_en,reason_th\n"


@pytest.fixture(scope="module")
def rules(ref):
    return plan.load_prerequisites(ref.data_dir / "prerequisites.csv", tuple(ref.category_codes))


def test_the_shipped_prerequisites_form_a_dag(rules):
    G = plan.prerequisite_graph(rules)
    assert nx.is_directed_acyclic_graph(G)
    pairs = {(r.before, r.after, r.relation) for r in rules}
    assert ("gmp_haccp", "fda_registration", "before") in pairs
    assert ("fda_registration", "packaging_design", "before") in pairs
    assert ("credit_guarantee", "loan", "alongside") in pairs
    assert all(r.reason_th and r.reason_en for r in rules)


@pytest.mark.parametrize("rows, message", [
    ("a,b,before,,x,x\nb,c,before,,x,x\nc,a,before,,x,x\n", "cycle"),
    ("a,b,alongside,,x,x\na,b,before,,x,x\n", "cycle"),
    ("a,b,after,,x,x\n", "relation"),
])
def test_bad_prerequisites_are_refused(tmp_path, rows, message):
    path = tmp_path / "prerequisites.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        plan.load_prerequisites(str(path))


def test_unknown_categories_are_refused(tmp_path):
    path = tmp_path / "prerequisites.csv"
    path.write_text(HEADER + "gmp,loan,before,,x,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown category 'gmp'"):
        plan.load_prerequisites(str(path), ("loan", "gmp_haccp"))


def test_food_case_runs_gmp_then_fda_then_packaging_with_the_loan_in_parallel(rules):
    assignment = {"gmp_haccp": "A1", "fda_registration": "A1", "packaging_design": "C7", "loan": "A9",
                  "credit_guarantee": "A4"}
    result = plan.referral_plan(assignment, rules, "food")
    steps = {s.step: {w.member: w.needs for w in s.work} for s in result.steps}
    assert steps == {1: {"A1": ["gmp_haccp"], "A9": ["loan"], "A4": ["credit_guarantee"]},
                     2: {"A1": ["fda_registration"]}, 3: {"C7": ["packaging_design"]}}
    assert result.steps[0].parallel is True and result.steps[1].parallel is False
    assert plan.leg_steps(result) == {"A1": 1, "A9": 1, "A4": 1, "C7": 3}
    assert {(r.before, r.after) for r in result.rules} == {
        ("gmp_haccp", "fda_registration"), ("fda_registration", "packaging_design"), ("credit_guarantee", "loan")}


def test_plan_lines_are_written_in_thai_and_english(rules, ref):
    assignment = {"gmp_haccp": "A1", "loan": "A9", "fda_registration": "A1"}
    lines = render.plan_json(plan.referral_plan(assignment, rules, "food"), ref)
    assert lines["th"].startswith("ขั้นที่ 1 พร้อมกัน: A1 (") and lines["en"].startswith("Step 1 in parallel: A1 (")
    assert "→ ขั้นที่ 2: A1 (ขึ้นทะเบียน อย." in lines["th"]


def test_sector_limited_rules_only_apply_to_their_sectors(rules):
    assignment = {"gmp_haccp": "A1", "fda_registration": "A2"}
    assert len(plan.referral_plan(assignment, rules, "textiles").steps) == 1
    assert len(plan.referral_plan(assignment, rules, "food").steps) == 2
    assert len(plan.referral_plan(assignment, rules, None).steps) == 2  # unknown sector: the safe order


def test_a_missing_middle_step_is_taken_as_done(rules):
    # GMP before FDA before packaging; without FDA in the case, packaging need not wait for GMP.
    steps = plan.steps_of(["gmp_haccp", "packaging_design"], rules, "food")[0]
    assert steps == {"gmp_haccp": 1, "packaging_design": 1}


def test_alongside_needs_share_a_step_after_their_prerequisites(rules):
    steps, used = plan.steps_of(["business_management", "loan", "credit_guarantee"], rules)
    assert steps == {"business_management": 1, "loan": 2, "credit_guarantee": 2}
    assert {r.relation for r in used} == {"before", "alongside"}
