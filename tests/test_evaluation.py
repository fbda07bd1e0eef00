"""evaluate-engine: the engine measured against the synthetic network's hidden truth. A small, fast run: it
works end to end, its oracles are never beaten, and the truth it prices bundles with is the generator's."""

import json

import numpy as np
import pytest

from matcher.store import history
from matcher.synthetic import baselines, evaluation
from matcher.synthetic.truths import sigmoid
from matcher.synthetic.world import Case, World


@pytest.fixture(scope="module")
def world(demo_db_template, ref):
    from matcher.engine.snapshot import build_snapshot
    from matcher.store import open_db
    db = open_db(demo_db_template)
    snapshot = build_snapshot(db, ref)
    out = World(db, snapshot), snapshot, history.enterprise_profiles(db)
    db.close()
    return out


def test_the_oracles_are_never_beaten(world):
    w, snapshot, enterprises = world
    rng = np.random.default_rng(0)
    rows = [evaluation.evaluate_case(snapshot, w, case, rng)
            for case in evaluation.random_cases(snapshot, enterprises, 24, seed=5)]
    rows = [r for r in rows if r is not None]
    assert len(rows) >= 20
    for r in rows:
        pool, network = r["methods"]["oracle within the pool"], r["methods"]["oracle network-wide"]
        assert pool["chance"] >= r["engine"]["chance"] - 1e-12
        assert network["chance"] >= pool["chance"] - 1e-12
        for name in evaluation.BASELINES:
            if r["methods"][name]:
                assert network["chance"] >= r["methods"][name]["chance"] - 1e-12, name
        assert r["true_chance"][0] == pytest.approx(r["engine"]["chance"])
        assert all(0 < c <= 1 for c in r["true_chance"]) and len(r["shown_chance"]) == len(r["true_chance"])


def test_a_bundles_true_chance_is_the_generators_truth(world):
    w, snapshot, _ = world
    needs = ["loan", "credit_guarantee"]
    members = [next(i for i, m in enumerate(snapshot.members) if snapshot.offers[i, snapshot.category_index[n]])
               for n in needs]
    case = Case("TH-50", "food", needs)
    got = w.outcomes(case, np.array([members]))
    truth = w.truth
    chance = 1.0
    for m, need in zip(members, needs):  # two legs here: each succeeds or fails on its own
        dist = snapshot.distance_km("TH-50")[m]
        joint = w.joint[m, [o for o in members if o != m][0]] if members[0] != members[1] else 0.0
        fit = "food" in snapshot.members[m]["sectors"]
        p = sigmoid(truth.logit(snapshot.specialisation[m, snapshot.category_index[need]], dist, 0.0, w.quality[m],
                                fit, joint))
        chance *= truth.kept(0.0, dist) * p
    assert members[0] != members[1] and got["chance"][0] == pytest.approx(chance)
    assert got["needs_met"][0] <= 2 and got["value"][0] > 0


def test_evaluate_engine_command_reports_every_method(runner):
    result = runner.invoke(args=["evaluate-engine", "--cases", "8", "--volumes", "", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["truth"] == "default" and report["synthetic"] is True
    methods = report["methods"]
    assert set(methods) == {"engine", *evaluation.BASELINES, *evaluation.ORACLES}
    assert methods["oracle network-wide"]["true_chance"] >= methods["engine"]["true_chance"]
    assert 0 <= report["calibration"]["calibration_error"] <= 1 and report["calibration"]["by_needs"]


def test_a_month_fills_members_but_never_beyond_capacity(world):
    w, snapshot, enterprises = world
    run = evaluation.simulate_month(snapshot, w, enterprises, 150, seed=3)
    assert run["members_over_capacity"] == 0 and run["legs"] > 150
    assert 0 <= run["legs_above_90_percent_load"] <= run["legs_above_60_percent_load"] <= 1


def test_greedy_cover_covers_every_need_once():
    logits = np.full((3, 8), -np.inf)
    logits[0, [1, 2, 3]] = [1.0, 1.0, 1.5]  # member 0 takes needs 0 and 1, together best
    logits[1, 4] = 2.0
    logits[2, [1, 4, 5]] = [0.5, 0.5, 0.2]
    assign = baselines.greedy_cover(logits, np.array([10, 11, 12]))
    assert assign.tolist() == [10, 10, 11]
