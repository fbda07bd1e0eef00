"""Single points of failure on toy graphs and networks with known answers."""

import networkx as nx
import pytest
from hypothesis import given, settings, strategies as st

from graphs import coverage, resilience

PROVINCES = [{"code": "P1", "hub_code": "P1", "region": "north"},
             {"code": "P2", "hub_code": "P1", "region": "north"},
             {"code": "P3", "hub_code": "P3", "region": "south"}]


def member(mid, province, *categories):
    return {"id": mid, "province": province,
            "offerings": [{"category": c, "capacity_month": 5} for c in categories]}


def star(n=5):
    return nx.star_graph(n)  # centre 0, leaves 1..n


def two_triangles():
    G = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("x", "y"), ("y", "z"), ("z", "x"), ("c", "x")])
    G.add_node("lonely")
    return G


@pytest.mark.parametrize("G, points, all_bridges, between_groups", [
    (star(), [0], [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)], []),
    (nx.path_graph(4), [1, 2], [(0, 1), (1, 2), (2, 3)], [(1, 2)]),
    (two_triangles(), ["c", "x"], [("c", "x")], [("c", "x")]),
    (nx.cycle_graph(5), [], [], []),
])
def test_articulation_points_and_bridges(G, points, all_bridges, between_groups):
    assert resilience.articulation_points(G) == points
    assert resilience.bridges(G) == all_bridges
    assert resilience.bridges(G, leaves=False) == between_groups


def test_single_providers_by_province_and_hub_area():
    members = [member("A1", "P1", "gmp_haccp", "loan"), member("A2", "P2", "gmp_haccp"),
               member("A3", "P3", "loan")]
    assert resilience.single_providers(members, PROVINCES) == [
        {"level": "province", "area": "P1", "category": "gmp_haccp", "member": "A1"},
        {"level": "province", "area": "P1", "category": "loan", "member": "A1"},
        {"level": "province", "area": "P2", "category": "gmp_haccp", "member": "A2"},
        {"level": "province", "area": "P3", "category": "loan", "member": "A3"},
        {"level": "hub", "area": "P1", "category": "loan", "member": "A1"},
        {"level": "hub", "area": "P3", "category": "loan", "member": "A3"},
    ]


def test_a_sole_provider_in_reach_of_demand_is_critical_and_its_loss_uncovers_the_need():
    members = [member("A1", "P1", "gmp_haccp"), member("A2", "P2", "loan"), member("A3", "P3", "gmp_haccp"),
               member("A4", "P1", "loan")]
    cases = [{"province": "P2", "category": "gmp_haccp", "cases": 3, "unreferred": 0},
             {"province": "P2", "category": "loan", "cases": 2, "unreferred": 0}]
    cells = coverage.coverage_matrix(members, PROVINCES, ["gmp_haccp", "loan"], case_rows=cases)
    critical = resilience.critical_members(cells, members, PROVINCES)
    assert critical == {"A1": [{"province": "P2", "category": "gmp_haccp", "cases": 3}]}  # loan has A2 and A4
    after = coverage.coverage_matrix(resilience.without_member(members, "A1"), PROVINCES, ["gmp_haccp", "loan"],
                                     case_rows=cases)
    assert [(g["province"], g["category"], g["kind"]) for g in coverage.gaps(after)] == [
        ("P2", "gmp_haccp", "no_member_in_reach")]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=20))
def test_removing_an_articulation_point_and_only_one_splits_its_component(edges):
    G = nx.Graph([(u, v) for u, v in edges if u != v])
    cut = set(resilience.articulation_points(G))
    parts = nx.number_connected_components(G)
    for node in list(G):
        H = G.copy()
        H.remove_node(node)
        alone = G.degree(node) == 0
        assert (nx.number_connected_components(H) > parts - alone) == (node in cut)
