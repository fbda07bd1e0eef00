"""The bundle search (matcher.engine.bundles): exact against brute force, known toy answers, the bounds are valid."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.engine import branch_bound, bundles, coordination

INF = math.inf


def brute_force(cost, D, fixed, lam, *, coordinate=0, required=(), max_members=None, top_k=3):
    """Every assignment of needs to members: the top_k distinct member sets by J (reference answer)."""
    P, N = cost.shape
    cands = [np.flatnonzero(np.isfinite(cost[:, n])).tolist() for n in range(N)]
    coord = list(range(P, P + coordinate))
    best = {}
    for choice in itertools.product(*cands):
        members = tuple(sorted(set(choice)))
        if max_members and len(members) > max_members or not set(required) <= set(members):
            continue
        J = (sum(cost[p, n] for n, p in enumerate(choice)) + sum(fixed[p] for p in members)
             + lam * coordination.mst_weight(D, list(members) + coord))
        if members not in best or J < best[members]:
            best[members] = J
    return sorted(best.values())[:top_k]


def random_instance(rng, max_members=8, max_needs=4):
    P, N, Q = int(rng.integers(2, max_members + 1)), int(rng.integers(1, max_needs + 1)), int(rng.integers(0, 3))
    cost = rng.uniform(0.05, 2.0, size=(P, N))
    cost[rng.random((P, N)) < 0.4] = INF
    for n in range(N):
        if not np.isfinite(cost[:, n]).any():
            cost[rng.integers(P), n] = rng.uniform(0.05, 2.0)
    points = rng.uniform(0, 2, size=(P + Q, 2))
    D = np.minimum(np.abs(points[:, None] - points[None]).sum(-1), coordination.FAR)  # a capped metric
    fixed = rng.uniform(0.1, 1.0, P)
    required = [int(rng.integers(P))] if rng.random() < 0.2 else []
    limit = int(rng.integers(1, 4)) if rng.random() < 0.3 else None
    return cost, D, fixed, Q, required, limit


@pytest.mark.parametrize("engine", [bundles.search, bundles.search_sets, branch_bound.search_assignments])
@pytest.mark.parametrize("seed", range(6))
def test_search_equals_brute_force(engine, seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        cost, D, fixed, Q, required, limit = random_instance(rng)
        top_k = int(rng.integers(1, 5))
        expected = brute_force(cost, D, fixed, 0.5, coordinate=Q, required=required, max_members=limit, top_k=top_k)
        found = engine(cost, D, fixed=fixed, lam=0.5, top_k=top_k, coordinate=Q, required=required,
                       max_members=limit)
        assert [b["J"] for b in found] == pytest.approx(expected, abs=1e-9)


# A toy network with a known answer: needs x, y; members 0 (x, cheap), 1 (y, cheap), 2 (x and y, dearer),
# 3 (y, a little dearer than 1 but a past partner of 0).
TOY_COST = np.array([[0.10, INF], [INF, 0.10], [0.40, 0.40], [INF, 0.20]])
TOY_D = np.array([[0, 1.0, 1.0, 0.25], [1.0, 0, 1.0, 1.0], [1.0, 1.0, 0, 1.0], [0.25, 1.0, 1.0, 0]])


def test_toy_network_known_answer():
    found = bundles.search(TOY_COST, TOY_D, fixed=np.full(4, 0.5), lam=0.5, top_k=3)
    # {0, 3}: 0.1 + 0.2 + 2 * 0.5 + 0.5 * 0.25 = 1.425; {2}: 0.8 + 0.5 = 1.3; {0, 1}: 0.2 + 1.0 + 0.5 = 1.7.
    assert [(b["members"], round(b["J"], 6)) for b in found] == [([2], 1.3), ([0, 3], 1.425), ([0, 1], 1.7)]
    assert found[1]["assignment"] == [0, 3]
    assert found[1]["terms"] == pytest.approx({"assignment": 0.3, "fixed": 1.0, "coordination": 0.125})


def test_toy_constraints():
    fixed = np.full(4, 0.5)
    forced = bundles.search(TOY_COST, TOY_D, fixed=fixed, top_k=1, required=[1])[0]
    assert forced["members"] == [0, 1] and forced["J"] == pytest.approx(1.7)
    assert bundles.search(TOY_COST, TOY_D, fixed=fixed, top_k=1, max_members=1)[0]["members"] == [2]
    assert bundles.search(TOY_COST, TOY_D, fixed=fixed, top_k=5, max_members=1) == \
        bundles.search(TOY_COST, TOY_D, fixed=fixed, top_k=1, max_members=1)


def test_coordinate_members_join_the_tree_but_take_no_need():
    # Member 4 (index P = 4) is already on the case and close to member 1: {0, 1} becomes cheap to coordinate.
    D = np.full((5, 5), 1.0)
    np.fill_diagonal(D, 0)
    D[1, 4] = D[4, 1] = D[0, 4] = D[4, 0] = 0.2
    best = bundles.search(TOY_COST, D, fixed=np.full(4, 0.5), top_k=1, coordinate=1)[0]
    assert best["members"] == [0, 1]
    assert best["terms"]["coordination"] == pytest.approx(0.5 * 0.4)


def test_mst_weight_on_a_known_triangle():
    D = np.array([[0, 1, 4], [1, 0, 2], [4, 2, 0]], dtype=float)
    assert coordination.mst_weight(D, [0, 1, 2]) == 3
    assert coordination.mst_weight(D, [0]) == 0
    assert coordination.mst_weights(D, np.array([[0, 1, 2], [0, 2, 1], [2, 1, 0]])).tolist() == [3, 3, 3]


@pytest.mark.parametrize("holds, expected", [
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 3),
    ([[1, 1, 0], [0, 1, 1], [0, 0, 1]], 2),
    ([[1, 1, 1], [1, 0, 0]], 1),
    ([[1, 0], [1, 0]], None),
])
def test_minimum_cover_size(holds, expected):
    assert bundles.minimum_cover_size(np.array(holds, bool)) == expected


def test_coordination_distances_follow_the_collaboration_graph():
    G = nx.Graph()
    G.add_nodes_from(["A", "B", "C", "D"])
    G.add_edge("A", "B", joint=1)  # length 0.5
    G.add_edge("B", "C", joint=3)  # length 0.25
    coord = coordination.Coordination(G, ["A", "B", "C", "D"])
    D = coord.matrix([0, 1, 2, 3])
    assert D[0, 1] == pytest.approx(0.5) and D[0, 2] == pytest.approx(0.75) and D[1, 2] == pytest.approx(0.25)
    assert D[3, 0] == coordination.FAR and (D == D.T).all() and (np.diag(D) == 0).all()
    assert coord.nearest.tolist() == [0.5, 0.25, 0.25, coordination.FAR]
    assert coord.joint(1, 2) == 3 and coord.joint(0, 3) == 0
    assert coord.distance(0, 2) == pytest.approx(0.75) and coord.tree_weight([0, 1, 2]) == pytest.approx(0.75)


def test_outside_lower_bound_is_valid():
    rng = np.random.default_rng(7)
    for _ in range(60):
        cost, D, fixed, _, _, _ = random_instance(rng, max_members=7, max_needs=3)
        P = len(cost)
        outside = rng.random(P) < 0.4
        if not outside.any() or outside.all():
            continue
        nearest = coordination.nearest_in(D[:P, :P])
        holds = np.isfinite(cost)
        bound = bundles.outside_lower_bound(cost, outside, fixed, nearest,
                                            min_members=bundles.minimum_cover_size(holds))
        cands = [np.flatnonzero(holds[:, n]).tolist() for n in range(cost.shape[1])]
        for choice in itertools.product(*cands):
            members = sorted(set(choice))
            if any(outside[m] for m in members):
                J = (sum(cost[p, n] for n, p in enumerate(choice)) + fixed[members].sum()
                     + 0.5 * coordination.mst_weight(D, members))
                assert J >= bound - 1e-9


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), top_k=st.integers(1, 6))
def test_results_are_distinct_sorted_and_consistent(seed, top_k):
    cost, D, fixed, Q, required, limit = random_instance(np.random.default_rng(seed))
    found = bundles.search(cost, D, fixed=fixed, top_k=top_k, coordinate=Q, required=required, max_members=limit)
    assert len({tuple(b["members"]) for b in found}) == len(found) <= top_k
    assert [b["J"] for b in found] == sorted(b["J"] for b in found)
    for b in found:
        assert all(np.isfinite(cost[p, n]) for n, p in enumerate(b["assignment"]))  # every need, by a holder
        assert sorted(set(b["assignment"])) == b["members"]  # every member takes a need
        assert sum(b["terms"].values()) == pytest.approx(b["J"])
        assert set(required) <= set(b["members"]) and (limit is None or len(b["members"]) <= limit)


def test_a_need_without_candidates_is_refused():
    with pytest.raises(ValueError, match="every need"):
        bundles.search(np.array([[0.1, INF]]), np.zeros((1, 1)))
