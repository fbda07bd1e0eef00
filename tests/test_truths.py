"""The generator's hidden truths: each variant is a different world over the same network, and the truth is
stored for the evaluation (never read by the engine)."""

import json

import numpy as np
import pytest

from matcher.store import directory, history, open_db
from matcher.synthetic import demo
from matcher.synthetic.truths import TRUTHS, sigmoid, truth_named


@pytest.fixture(scope="module")
def worlds(ref):
    return {name: demo.generate(ref, seed=demo.DEMO_SEED, scale="demo", truth=name) for name in TRUTHS}


def test_every_truth_draws_other_outcomes_over_the_same_network(worlds):
    base = worlds["default"]
    assert len(TRUTHS) >= 4
    for name, rows in worlds.items():
        assert rows["truth_name"] == name
        assert rows["members"] == base["members"] and rows["offerings"] == base["offerings"]
        # the demo's members never reach 40 % of their monthly capacity: early_load is the same world there
        if name not in ("default", "early_load"):
            assert [t["p_success"] for t in rows["truth"]] != [t["p_success"] for t in base["truth"]], name


def test_success_drawn_per_need_multiplies_the_needs_of_a_leg():
    per_need, default = truth_named("per_need"), truth_named("default")
    one = per_need.leg_success([0.8], 50.0, 0.1, 0.2, 1.0, 0)
    two = per_need.leg_success([0.8, 0.8], 50.0, 0.1, 0.2, 1.0, 0)
    assert two == pytest.approx(one ** 2)
    assert default.leg_success([0.8, 0.8], 50.0, 0.1, 0.2, 1.0, 0) == pytest.approx(
        default.leg_success([0.8], 50.0, 0.1, 0.2, 1.0, 0))


@pytest.mark.parametrize("name, load, km", [("early_load", 0.5, 0.0), ("steep_distance", 0.0, 120.0)])
def test_variants_hurt_where_the_default_does_not(name, load, km):
    variant, default = truth_named(name), truth_named("default")
    drop = lambda t: float(t.logit(0.7, 0.0, 0.0, 0.0, 1, 0) - t.logit(0.7, km, load, 0.0, 1, 0))  # noqa: E731
    assert drop(variant) > drop(default) + 0.3


def test_value_paid_per_need_adds_the_needs():
    assert truth_named("value_per_need").leg_value(["loan", "branding"]) == 600_000 + 80_000
    assert truth_named("default").leg_value(["loan", "branding"]) == 600_000


def test_the_seeded_store_keeps_its_truth_for_the_evaluation(db):
    quality = history.demo_truth_members(db)
    members = db.execute("SELECT count(*) FROM members").fetchone()[0]
    assert len(quality) == members and np.std(list(quality.values())) > 0.3
    assert directory.dataset_info(db)["truth"] == "default"
    legs = history.demo_truth(db)
    assert len(legs) == db.execute("SELECT count(*) FROM referral_legs").fetchone()[0]
    assert all(0 < p < 1 for p in legs.values()) and sigmoid(0.0) == 0.5


def test_generate_names_the_truth(runner, tmp_path):
    path = tmp_path / "world.db"
    result = runner.invoke(args=["generate", str(path), "--truth", "per_need", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["truth"] == "per_need"
    db = open_db(path)
    assert directory.dataset_info(db)["truth"] == "per_need" and history.demo_truth_members(db)
    bad = runner.invoke(args=["generate", str(tmp_path / "x.db"), "--truth", "atlantis"])
    assert bad.exit_code != 0 and "per_need" in bad.output
