"""Rollout planner: the objective, greedy against the exact optimum, and plans on the demo store."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from graphs import rollout
from matcher.analysis import network as analysis
from matcher.errors import Unprocessable
from matcher.store import directory, open_db

# Four provinces on a line of seats 0.8 degrees (~89 km) apart: W - X - Y - Z, and a far one F.
LINE = [{"code": c, "lat": 15.0, "lon": 100.0 + 0.8 * i} for i, c in enumerate("WXYZ")] + \
       [{"code": "F", "lat": 6.0, "lon": 101.0}]


def test_neighbours_within_the_radius():
    near = rollout.neighbours(LINE, 100)
    assert near["X"] == {"W", "Y"} and near["W"] == {"X"} and near["F"] == frozenset()


def test_objective_counts_own_demand_fully_and_neighbours_by_alpha():
    near = rollout.neighbours(LINE, 100)
    demand = {"W": 10, "X": 4, "Y": 10, "Z": 1, "F": 3}
    assert rollout.objective({"X"}, demand, near, 0.5) == 4 + 0.5 * (10 + 10)
    assert rollout.objective(set(), demand, near) == 0


def test_greedy_picks_the_province_that_reaches_most_unmet_demand_first():
    near = rollout.neighbours(LINE, 100)
    demand = {"W": 10, "X": 4, "Y": 10, "Z": 1, "F": 3}
    steps = rollout.greedy_plan(demand, near, live=set(), k=2, alpha=0.5)
    assert [s["province"] for s in steps] == ["X", "Y"]
    assert steps[0] == {"province": "X", "gain": 14.0, "own_gain": 4.0, "reach_gain": 10.0,
                        "newly_in_reach": ["W", "Y"], "value": 14.0}
    assert steps[1]["gain"] == 5.5 and steps[1]["newly_in_reach"] == ["Z"]  # Y: 10 - 5 own, Z: 0.5


def test_live_provinces_are_never_chosen_and_ties_follow_priority():
    near = rollout.neighbours(LINE, 100)
    demand = dict.fromkeys("WXYZF", 1.0)
    steps = rollout.greedy_plan(demand, near, live={"X"}, k=1, priority={"Z": 0, "Y": 5, "F": 9})
    assert steps[0]["province"] == "Z"  # Y, Z and F gain 1.0 each; Z has the lowest priority value
    assert "X" not in [s["province"] for s in rollout.greedy_plan(demand, near, live={"X"}, k=4)]


def test_greedy_can_be_beaten_and_the_exact_plan_finds_the_optimum():
    # A hub H reaches L and R (demand 6 each) but two rural provinces L and R cover themselves fully.
    near = {"H": frozenset({"L", "R"}), "L": frozenset({"H"}), "R": frozenset({"H"})}
    demand = {"H": 1.0, "L": 6.0, "R": 6.0}
    greedy = rollout.greedy_plan(demand, near, live=set(), k=2, alpha=0.9)
    exact = rollout.exact_plan(demand, near, live=set(), k=2, alpha=0.9)
    assert [s["province"] for s in greedy] == ["H", "L"] and greedy[-1]["value"] == pytest.approx(12.4)
    assert exact == {"chosen": ["L", "R"], "value": 12.9}
    bound = rollout.upper_bound([s["province"] for s in greedy], demand, near, set(), 2, alpha=0.9)
    assert bound >= exact["value"]
    assert rollout.quality(0.0, greedy[-1]["value"], bound) >= 1 - 1 / math.e


def test_exact_plan_refuses_instances_too_large_to_enumerate():
    near = {str(i): frozenset() for i in range(40)}
    with pytest.raises(ValueError, match="too many"):
        rollout.exact_plan(dict.fromkeys(near, 1.0), near, set(), 10, max_subsets=1000)


@st.composite
def instances(draw):
    n = draw(st.integers(3, 8))
    codes = [f"P{i}" for i in range(n)]
    near = {c: set() for c in codes}
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.booleans()):
                near[codes[i]].add(codes[j])
                near[codes[j]].add(codes[i])
    demand = {c: draw(st.integers(0, 20)) * 1.0 for c in codes}
    live = set(draw(st.lists(st.sampled_from(codes), max_size=2)))
    k = draw(st.integers(1, 3))
    alpha = draw(st.sampled_from([0.3, 0.5, 0.8]))
    return {c: frozenset(v) for c, v in near.items()}, demand, live, k, alpha


@settings(max_examples=150, deadline=None)
@given(instances())
def test_greedy_is_within_1_minus_1_over_e_of_the_exact_optimum(instance):
    near, demand, live, k, alpha = instance
    base = rollout.objective(live, demand, near, alpha)
    steps = rollout.greedy_plan(demand, near, live, k, alpha=alpha)
    greedy = rollout.objective(live | {s["province"] for s in steps}, demand, near, alpha)
    exact = rollout.exact_plan(demand, near, live, k, alpha=alpha)["value"]
    bound = rollout.upper_bound([s["province"] for s in steps], demand, near, live, k, alpha=alpha)
    assert greedy <= exact + 1e-6 <= bound + 2e-6
    assert greedy - base >= (1 - 1 / math.e) * (exact - base) - 1e-6
    assert greedy == pytest.approx(steps[-1]["value"] if steps else base)


def test_demo_plan_to_the_next_target(db_path, ref):
    db = open_db(db_path)
    plan = analysis.rollout_plan(db, ref)
    assert (plan["target"], plan["live_now"], plan["to_add"]) == (22, 16, 6)
    chosen = [s["province"] for s in plan["steps"]]
    assert len(set(chosen)) == 6 and [s["order"] for s in plan["steps"]] == list(range(1, 7))
    live = {p["code"] for p in directory.provinces(db) if p["live_since"]}
    assert len(live) == 16 and not live & set(chosen)
    gains = [s["gain"] for s in plan["steps"]]
    assert gains == sorted(gains, reverse=True)  # submodular: marginal gains never grow
    assert 1 - 1 / math.e <= plan["quality"] <= 1 and plan["value_before"] < plan["value_after"] <= plan["upper_bound"]
    first = plan["steps"][0]
    assert first["name_th"] in first["reason"]["th"] and first["name_en"] in first["reason"]["en"]
    assert "100 km" in plan["objective"]["en"]


def test_a_target_already_met_gives_an_empty_plan(db_path, ref):
    plan = analysis.rollout_plan(open_db(db_path), ref, 10)
    assert plan["met_already"] is True and plan["steps"] == [] and plan["to_add"] == 0


@pytest.mark.parametrize("target", [0, 78, "44", True])
def test_bad_targets_are_refused(db_path, ref, target):
    with pytest.raises(Unprocessable) as caught:
        analysis.rollout_plan(open_db(db_path), ref, target)
    assert caught.value.field == "target"
