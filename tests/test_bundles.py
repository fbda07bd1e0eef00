"""The bundle search (matcher.engine.bundles): exact against brute force, known toy answers, valid bounds."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.engine import bundles
from matcher.engine.objective import Objective, leg_cost, popcounts, subset_sums

INF = math.inf


def brute_force(obj: Objective, *, required=(), max_members=None, banned=()) -> dict:
    """Every assignment of needs to members: the best J of each member set (the reference answer)."""
    cands = [[m for m in np.flatnonzero(np.isfinite(obj.logits[:, 1 << n])) if m not in banned]
             for n in range(obj.needs)]
    best = {}
    for choice in itertools.product(*cands):
        groups: dict[int, int] = {}
        for n, m in enumerate(choice):
            groups[m] = groups.get(m, 0) | (1 << n)
        members = sorted(groups)
        masks = [groups[m] for m in members]
        if max_members and len(members) > max_members or not set(required) <= set(members):
            continue
        if not np.isfinite(obj.logits[members, masks]).all():
            continue
        J = obj.value(members, masks)
        best[tuple(members)] = min(best.get(tuple(members), INF), J)
    return best


def random_objective(rng, max_members=8, max_needs=4) -> Objective:
    """Leg logits: the mean of per-need logits plus a term per extra need; sparse joint work; a few members
    already on the case."""
    P, N, Q = int(rng.integers(2, max_members + 1)), int(rng.integers(1, max_needs + 1)), int(rng.integers(0, 3))
    single = rng.normal(1.0, 1.0, size=(P, N))
    single[rng.random((P, N)) < 0.4] = -INF
    for n in range(N):
        if not np.isfinite(single[:, n]).any():
            single[rng.integers(P), n] = 1.0
    count = popcounts(N)
    logits = subset_sums(single) / np.maximum(count, 1) + rng.normal(0, 0.4) * (count - 1)
    logits[:, 0] = -INF
    joint = rng.integers(0, 5, size=(P + Q, P + Q)) * (rng.random((P + Q, P + Q)) < 0.3)
    joint = np.triu(joint, 1)
    return Objective(logits, (joint + joint.T).astype(float), float(rng.uniform(0, 0.8)),
                     float(-rng.uniform(0, 0.4)), Q)


@pytest.mark.parametrize("seed", range(8))
def test_search_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        obj = random_objective(rng)
        required = [int(rng.integers(obj.size))] if rng.random() < 0.2 else []
        limit = int(rng.integers(1, 4)) if rng.random() < 0.3 else None
        top_k = int(rng.integers(1, 5))
        expected = sorted(brute_force(obj, required=required, max_members=limit).values())[:top_k]
        found = bundles.search(obj, top_k=top_k, required=required, max_members=limit)
        assert [b["J"] for b in found] == pytest.approx(expected, abs=1e-9)
        for b in found:  # every result is priced exactly by the objective it was searched on
            assert obj.value(b["members"], b["masks"]) == pytest.approx(b["J"], abs=1e-12)


def reference_alternatives(obj: Objective, count: int) -> list[float]:
    """The alternatives rule, by brute force: the best set avoiding the members used so far (a need whose
    holders are all used keeps its likeliest holder), never a set twice."""
    out, used, shown = [], set(), set()
    single = obj.logits[:, [1 << n for n in range(obj.needs)]]
    for _ in range(count):
        banned = set(used)
        for n in range(obj.needs):
            holders = [int(m) for m in np.flatnonzero(np.isfinite(single[:, n]))]
            if set(holders) <= banned:
                banned.discard(max(holders, key=lambda m: single[m, n]))
        sets = {k: J for k, J in brute_force(obj, banned=banned).items() if k not in shown}
        if not sets:
            break
        key = min(sets, key=lambda k: (round(sets[k], 9), k))
        out.append(sets[key])
        shown.add(key)
        used |= set(key)
    return sorted(out)


@pytest.mark.parametrize("seed", range(4))
def test_alternatives_are_the_best_different_teams(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(30):
        obj = random_objective(rng, max_members=7, max_needs=3)
        found = bundles.alternatives(obj, count=3)
        assert [b["J"] for b in found] == pytest.approx(reference_alternatives(obj, 3), abs=1e-9)
        assert len({tuple(b["members"]) for b in found}) == len(found)
        assert [b["J"] for b in found] == sorted(b["J"] for b in found)  # the chance never rises down the list


def test_a_need_only_one_member_can_take_keeps_that_member_in_the_alternatives():
    found = bundles.alternatives(Objective(TOY_SOLE, np.zeros((3, 3)), 0.0, 0.0), count=3)
    assert [b["members"] for b in found] == [[0, 2], [1, 2]]  # member 2 alone takes y


# A toy with a known answer: needs x, y. Member 0 takes x well, member 1 takes y well, member 2 takes both
# as one leg a little less well; 0 and 1 have worked together three times.
TOY = np.array([[-INF, 2.0, -INF, -INF], [-INF, -INF, 2.0, -INF], [-INF, 1.5, 1.5, 1.6]])
TOY_JOINT = np.array([[0, 3, 0], [3, 0, 0], [0, 0, 0]], float)
TOY_SOLE = np.array([[-INF, 2.0, -INF, -INF], [-INF, 1.0, -INF, -INF], [-INF, -INF, 2.0, -INF]])


def test_one_leg_for_both_needs_wins_when_joint_work_does_not_count():
    found = bundles.search(Objective(TOY, TOY_JOINT, 0.0, 0.0), top_k=2)
    # {2}: one leg at logit 1.6 (chance 0.832); {0, 1}: two legs at 2.0 (0.881^2 = 0.776).
    assert [b["members"] for b in found] == [[2], [0, 1]]
    assert found[0]["J"] == pytest.approx(leg_cost(1.6))
    assert found[1]["J"] == pytest.approx(2 * leg_cost(2.0)) and found[1]["assignment"] == [0, 1]


def test_past_partners_win_once_their_joint_work_counts():
    found = bundles.search(Objective(TOY, TOY_JOINT, 0.5, 0.0), top_k=2)
    # 0.5 * ln(1 + 3) lifts both legs of {0, 1} to 2.693: 2 * softplus(-2.693) < softplus(-1.6).
    assert [b["members"] for b in found] == [[0, 1], [2]]
    assert found[0]["J"] == pytest.approx(2 * leg_cost(2.0 + 0.5 * math.log(4)))


def test_members_on_the_case_count_as_partners():
    joint = np.zeros((4, 4))
    joint[2, 3] = joint[3, 2] = 5  # member 2 has worked with the member already on the case (index 3)
    best = bundles.search(Objective(TOY, joint, 0.5, 0.0, coordinate=1), top_k=1)[0]
    assert best["members"] == [2] and best["J"] == pytest.approx(leg_cost(1.6 + 0.5 * math.log(6)))


def test_constraints():
    obj = Objective(TOY, TOY_JOINT, 0.0, 0.0)
    assert bundles.search(obj, top_k=1, required=[0])[0]["members"] == [0, 1]
    assert bundles.search(obj, top_k=5, max_members=1) == bundles.search(obj, top_k=1, max_members=1)
    assert bundles.search(obj, top_k=3, banned=[2])[0]["members"] == [0, 1]
    assert bundles.search(obj, top_k=3, banned=[0, 2]) == []


@pytest.mark.parametrize("holds, expected", [
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 3),
    ([[1, 1, 0], [0, 1, 1], [0, 0, 1]], 2),
    ([[1, 1, 1], [1, 0, 0]], 1),
    ([[1, 0], [1, 0]], None),
])
def test_minimum_cover_size(holds, expected):
    assert bundles.minimum_cover_size(np.array(holds, bool)) == expected


def test_outside_lower_bound_is_valid():
    rng = np.random.default_rng(7)
    for _ in range(80):
        obj = random_objective(rng, max_members=7, max_needs=3)
        P = obj.size
        outside = rng.random(P) < 0.4
        if not outside.any() or outside.all():
            continue
        joint = obj.joint[:P, :P]
        on_case = obj.joint[:P, P:].sum(axis=1)
        smallest = bundles.minimum_cover_size(np.isfinite(obj.logits[:, [1 << n for n in range(obj.needs)]]))
        bound = bundles.outside_lower_bound(obj.logits, outside, joint.sum(axis=1), on_case, w_joint=obj.w_joint,
                                            w_members=obj.w_members, coordinate=obj.coordinate,
                                            min_members=smallest)
        for members, J in brute_force(obj).items():
            if any(outside[m] for m in members):
                assert J >= bound - 1e-9


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), top_k=st.integers(1, 6))
def test_results_are_distinct_sorted_and_consistent(seed, top_k):
    obj = random_objective(np.random.default_rng(seed))
    found = bundles.search(obj, top_k=top_k)
    assert len({tuple(b["members"]) for b in found}) == len(found) <= top_k
    assert [b["J"] for b in found] == sorted(b["J"] for b in found)
    full = (1 << obj.needs) - 1
    for b in found:
        masks = b["masks"]
        assert sum(masks) == full and all(m & o == 0 for i, m in enumerate(masks) for o in masks[i + 1:])
        assert all(np.isfinite(obj.logits[m, g]) for m, g in zip(b["members"], masks))  # every leg allowed
        assert all(b["assignment"][n] == m for m, g in zip(b["members"], masks) for n in range(obj.needs)
                   if g >> n & 1)


def test_a_need_without_candidates_is_refused():
    with pytest.raises(ValueError, match="every need"):
        bundles.search(Objective(np.array([[-INF, 1.0, -INF, -INF]]), np.zeros((1, 1)), 0.0, 0.0))


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_kernel_and_the_python_search_agree(seed, monkeypatch):
    """The compiled search and the Python one return the same bundles (members, J) on the same instances,
    with requirements, bans, forbidden sets and size limits, up to 6 needs."""
    assert bundles.kernel is not None, "numba is a runtime dependency"
    rng = np.random.default_rng(300 + seed)
    for _ in range(25):
        obj = random_objective(rng, max_members=10, max_needs=6)
        required = [int(rng.integers(obj.size))] if rng.random() < 0.2 else []
        banned = [int(rng.integers(obj.size))] if rng.random() < 0.2 else []
        limit = int(rng.integers(1, 4)) if rng.random() < 0.3 else None
        top_k = int(rng.integers(1, 5))
        runs = {}
        for name, kernel in (("compiled", bundles.kernel), ("python", None)):
            monkeypatch.setattr(bundles, "kernel", kernel)
            try:
                first = bundles.search(obj, top_k=top_k, required=required, max_members=limit, banned=banned)
                forbidden = [tuple(first[0]["members"])] if first else []
                again = bundles.search(obj, top_k=top_k, required=required, max_members=limit, banned=banned,
                                       forbidden=forbidden)
                runs[name] = [[(b["members"], round(b["J"], 9)) for b in found] for found in (first, again)]
            except ValueError:
                runs[name] = "refused"
        assert runs["compiled"] == runs["python"]


def test_the_column_maxima_of_the_outside_bound_are_exact():
    """``lifted_max`` (one pass, multi-need groups only over members who can take two needs) gives the plain
    column maxima over every row and over the rows outside the pool."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        R, N = int(rng.integers(1, 40)), int(rng.integers(1, 6))
        allowed = rng.random((R, N)) < 0.6
        logits = rng.normal(size=(R, 1 << N))
        for g in range(1 << N):
            logits[~allowed[:, [k for k in range(N) if g >> k & 1]].all(axis=1), g] = -INF
        logits[:, 0] = -INF
        terms, outside = rng.normal(size=R), rng.random(R) < 0.7
        everyone, outsiders = bundles.lifted_max(logits, terms, outside)
        lifted = logits + terms[:, None]
        assert np.array_equal(everyone[1:], lifted.max(axis=0)[1:])
        expected = lifted[outside].max(axis=0) if outside.any() else np.full(1 << N, -INF)
        assert np.array_equal(outsiders[1:], expected[1:])
