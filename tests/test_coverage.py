"""Coverage matrix and gaps on a toy network with known answers, and on the demo store."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from graphs import coverage
from matcher.store import analysis as store, open_db

# Hub area H1 = {P1 (hub), P2}; hub area H3 = {P3 (hub)} in another region.
PROVINCES = [
    {"code": "P1", "hub_code": "P1", "region": "north", "name_en": "One", "name_th": "หนึ่ง"},
    {"code": "P2", "hub_code": "P1", "region": "north", "name_en": "Two", "name_th": "สอง"},
    {"code": "P3", "hub_code": "P3", "region": "south", "name_en": "Three", "name_th": "สาม"},
]
CATEGORIES = ["gmp_haccp", "loan"]


def member(mid, province, *offers):
    return {"id": mid, "province": province,
            "offerings": [{"category": c, "capacity_month": cap} for c, cap in offers]}


MEMBERS = [member("A1", "P1", ("gmp_haccp", 10)), member("A2", "P2", ("gmp_haccp", 2), ("loan", 5)),
           member("A3", "P3", ("loan", 4)), member("A4", "P3", ("gmp_haccp", 3))]
CASES = [{"province": "P2", "category": "gmp_haccp", "cases": 6, "unreferred": 1},
         {"province": "P3", "category": "gmp_haccp", "cases": 4, "unreferred": 0}]
MONTHLY = [{"province": "P2", "category": "gmp_haccp", "month": "2018-01", "cases": 3},
           {"province": "P2", "category": "gmp_haccp", "month": "2018-02", "cases": 1},
           {"province": "P3", "category": "gmp_haccp", "month": "2018-01", "cases": 2}]
LEGS = [{"province": "P2", "category": "gmp_haccp", "legs": 5, "completed": 3, "declined_capacity": 2}]


def matrix(members=MEMBERS):
    return coverage.coverage_matrix(members, PROVINCES, CATEGORIES, case_rows=CASES, leg_rows=LEGS,
                                    monthly_rows=MONTHLY, months=2)


def cell(cells, province, category):
    return next(c for c in cells if c["province"] == province and c["category"] == category)


def kinds(cells, province, category):
    return coverage.gap_kinds_of(cell(cells, province, category))


def test_supply_counts_members_and_capacity_at_each_level():
    sup = coverage.supply(MEMBERS, PROVINCES)
    assert sup[("province", "P2", "gmp_haccp")] == {"members": ["A2"], "capacity": 2.0}
    assert sup[("hub", "P1", "gmp_haccp")] == {"members": ["A1", "A2"], "capacity": 12.0}
    assert sup[("region", "south", "loan")] == {"members": ["A3"], "capacity": 4.0}
    assert ("province", "P1", "loan") not in sup


def test_cells_carry_supply_demand_and_the_nearest_level():
    cells = matrix()
    assert len(cells) == len(PROVINCES) * len(CATEGORIES)
    c = cell(cells, "P2", "gmp_haccp")
    assert (c["members_province"], c["members_hub"], c["capacity_reach"]) == (1, 2, 2.0)
    assert (c["cases"], c["unreferred"], c["peak_month"], c["demand_month"]) == (6, 1, 3, 3.0)
    assert (c["legs"], c["completed"], c["declined_capacity"]) == (5, 3, 2)
    assert cell(cells, "P1", "loan")["level"] == "hub"
    assert cell(cells, "P3", "loan")["level"] == "province"


def test_demand_above_capacity_and_declines_for_capacity_are_gaps():
    cells = matrix()
    assert kinds(cells, "P2", "gmp_haccp") == ["demand_exceeds_capacity", "declined_for_capacity"]
    assert kinds(cells, "P3", "gmp_haccp") == []  # peak 2 <= capacity 3
    assert kinds(cells, "P1", "gmp_haccp") == []  # no demand


def test_removing_the_only_gmp_member_of_a_province_opens_the_gap():
    assert kinds(matrix(), "P3", "gmp_haccp") == []
    cells = matrix([m for m in MEMBERS if m["id"] != "A4"])
    assert kinds(cells, "P3", "gmp_haccp") == ["no_member_in_reach"]
    gap = coverage.gaps(cells, province_names={p["code"]: p for p in PROVINCES},
                        category_labels={"gmp_haccp": {"label_en": "GMP", "label_th": "จีเอ็มพี"}})[0]
    assert (gap["kind"], gap["province"], gap["category"], gap["cases"]) == ("no_member_in_reach", "P3", "gmp_haccp", 4)
    assert "สาม" in gap["reason"]["th"] and "จีเอ็มพี" in gap["reason"]["th"] and "4" in gap["reason"]["th"]
    assert gap["reason"]["en"].startswith("4 cases in Three needed GMP")


def test_a_need_served_only_from_the_hub_area_is_a_province_hole():
    cells = matrix([m for m in MEMBERS if m["id"] != "A2"])
    c = cell(cells, "P2", "gmp_haccp")
    assert (c["members_province"], c["members_hub"], c["capacity_reach"]) == (0, 1, 10.0)
    assert kinds(cells, "P2", "gmp_haccp") == ["declined_for_capacity", "no_member_in_province"]


def test_gaps_are_sorted_worst_kind_first():
    cells = matrix([m for m in MEMBERS if m["id"] not in ("A2", "A4")])
    found = [(g["kind"], g["province"]) for g in coverage.gaps(cells)]
    assert found == [("no_member_in_reach", "P3"), ("declined_for_capacity", "P2"), ("no_member_in_province", "P2")]


@pytest.mark.parametrize("members, expected", [
    ([], 0),                                                       # nobody in reach
    ([member("X", "P1", ("loan", 1))], 1),                         # only elsewhere in the hub area
    ([member("X", "P2", ("loan", 1))], 2),                         # one in the province
    ([member(f"X{i}", "P2", ("loan", 1)) for i in range(4)], 3),   # 2-4
    ([member(f"X{i}", "P2", ("loan", 1)) for i in range(5)], 4),   # 5 or more
])
def test_depth_of_a_cell(members, expected):
    cells = coverage.coverage_matrix(members, PROVINCES, ["loan"])
    assert coverage.coverage_grid(cells, ["P2"], ["loan"]) == [[expected]]


def test_province_coverage_shares():
    shares = coverage.province_coverage(matrix())
    assert shares["P1"] == {"share_in_province": 0.5, "share_in_reach": 1.0, "mean_depth": 1.5, "cases": 0,
                            "gaps": 0}
    assert shares["P2"]["gaps"] == 2 and shares["P2"]["cases"] == 6


OFFER = st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.sampled_from(CATEGORIES), st.integers(0, 5))


@settings(max_examples=60, deadline=None)
@given(st.lists(OFFER, max_size=8), OFFER)
def test_adding_a_member_never_opens_a_reach_gap_or_lowers_supply(offers, extra):
    members = [member(f"M{i}", p, (c, cap)) for i, (p, c, cap) in enumerate(offers)]
    before = matrix(members)
    after = matrix(members + [member("NEW", extra[0], (extra[1], extra[2]))])
    for b, a in zip(before, after):
        assert a["members_hub"] >= b["members_hub"] and a["capacity_reach"] >= 0
        assert coverage.depth(a) >= coverage.depth(b)
        if "no_member_in_reach" in coverage.gap_kinds_of(a):
            assert "no_member_in_reach" in coverage.gap_kinds_of(b)


def test_store_demand_adds_up_to_the_case_and_leg_needs(db_path):
    db = open_db(db_path)
    needs = sum(len(json.loads(n)) for (n,) in db.execute("SELECT needs FROM cases").fetchall())
    assert sum(r["cases"] for r in store.case_demand(db)) == needs
    assert sum(r["cases"] for r in store.monthly_case_demand(db)) == needs
    leg_needs = sum(len(json.loads(n)) for (n,) in db.execute("SELECT needs FROM referral_legs").fetchall())
    assert sum(r["legs"] for r in store.leg_demand(db)) == leg_needs
    first = store.case_demand(db, since="2018", until="2018-07")
    assert 0 < sum(r["cases"] for r in first) < needs
