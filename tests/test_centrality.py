"""Brokers, isolated members and communities on graphs with known answers."""

import networkx as nx
import pytest
from hypothesis import given, settings, strategies as st

from graphs import centrality


def two_cliques():
    """Two 5-cliques of partners joined through one broker ``B``, plus a member who never collaborated."""
    G = nx.Graph()
    left, right = [f"L{i}" for i in range(5)], [f"R{i}" for i in range(5)]
    for group in (left, right):
        G.add_edges_from(((u, v) for i, u in enumerate(group) for v in group[i + 1:]), joint=3)
    G.add_edge("L0", "B", joint=1)
    G.add_edge("B", "R0", joint=1)
    G.add_node("lonely")
    return G, left, right


def test_the_centre_of_a_star_is_the_only_broker():
    G = nx.relabel_nodes(nx.star_graph(6), lambda n: f"M{n}")
    nx.set_edge_attributes(G, 1, "joint")
    scores, exact = centrality.betweenness(G)
    assert exact and scores["M0"] == pytest.approx(1.0)
    assert centrality.brokers(G, top=3) == [{"member": "M0", "betweenness": 1.0, "partners": 6, "joint": 6}]


def test_the_member_between_two_groups_is_the_top_broker():
    G, left, right = two_cliques()
    top = centrality.brokers(G, top=3)
    assert top[0]["member"] == "B"
    assert {b["member"] for b in top[1:]} == {"L0", "R0"}


def test_isolates_are_members_without_a_joint_referral():
    G, _, _ = two_cliques()
    assert centrality.isolates(G) == ["lonely"]


def test_communities_find_the_two_groups():
    G, left, right = two_cliques()
    found = centrality.communities(G)
    assert len(found) == 2 and sorted(map(len, found)) == [5, 6]
    assert {frozenset(c) - {"B"} for c in found} == {frozenset(left), frozenset(right)}
    assert centrality.modularity(G, found) > 0.3
    assert "lonely" not in {m for c in found for m in c}


def test_a_graph_with_no_collaboration_has_no_community():
    G = nx.empty_graph(["A1", "A2"])
    assert centrality.communities(G) == [] and centrality.modularity(G, []) == 0.0
    assert centrality.brokers(G) == [] and centrality.isolates(G) == ["A1", "A2"]


def test_large_graphs_use_sampled_betweenness_that_still_finds_the_hub(monkeypatch):
    monkeypatch.setattr(centrality, "EXACT_BETWEENNESS_MAX_NODES", 50)
    monkeypatch.setattr(centrality, "BETWEENNESS_PIVOTS", 20)
    G = nx.barbell_graph(30, 3)  # two 30-cliques (0-29, 33-62) joined through 29-30-31-32-33
    scores, exact = centrality.betweenness(G, seed=1)
    assert not exact
    assert set(sorted(scores, key=scores.get, reverse=True)[:5]) == {29, 30, 31, 32, 33}


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.floats(0.0, 0.4), st.integers(0, 10_000))
def test_betweenness_equals_networkx(n, p, seed):
    G = nx.gnp_random_graph(n, p, seed=seed)
    expected = nx.betweenness_centrality(G)
    got, exact = centrality.betweenness(G)
    assert exact and got == pytest.approx(expected, abs=1e-9)


def test_sampling_every_node_is_exact():
    G = nx.karate_club_graph()
    got, exact = centrality.betweenness(G, pivots=G.number_of_nodes())
    assert exact and got == pytest.approx(nx.betweenness_centrality(G), abs=1e-9)
