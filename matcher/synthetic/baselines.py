"""What the engine is measured against on a synthetic network: simple ways to choose members, and oracles
that know the hidden truth. Each returns an assignment: the member index of each need of the case.

- ``best_rated_local``: for each need, the member with the best record in the category among those nearest
  the enterprise (its own province when any member there offers the need);
- ``greedy_cover``: weighted set cover with the engine's own leg costs (the cheapest leg per need covered,
  repeatedly);
- ``rarest_first``: Lappas, Liu and Terzi (KDD 2009) on the engine's pool: for the need with the fewest
  holders, each holder with the holder of every other need nearest it on the collaboration graph; the team
  of smallest diameter;
- ``historical_choice``: how the generator's desks chose (near and specialised members, past partners
  preferred), drawn at random;
- ``best_in_pool`` and ``best_in_network``: the bundle with the highest true chance among every assignment
  of the engine's pool, and of a wider pool: the one the truth itself would choose, plus the engine's pool
  and every member any method chose (so that no method can beat it).
"""

from __future__ import annotations

import itertools

import numpy as np

from matcher.engine import features as F
from matcher.engine.objective import leg_cost, popcounts

CHUNK = 50_000  # assignments priced per numpy batch


def best_rated_local(snapshot, case, allowed: np.ndarray) -> np.ndarray | None:
    """Per need, the member with the best smoothed record in the category (then specialisation) among the
    members nearest the enterprise that may take it."""
    dist = snapshot.distance_km(case.province)
    out = []
    for j, need in enumerate(case.needs):
        c = snapshot.category_index[need]
        cands = np.flatnonzero(allowed[:, j])
        if not len(cands):
            return None
        near = cands[dist[cands] <= dist[cands].min() + 1e-9]
        rating = F.smoothed_rate(snapshot.completed[near, c], snapshot.finished[near, c])
        out.append(int(near[np.lexsort((near, -snapshot.specialisation[near, c], -rating))[0]]))
    return np.array(out)


def greedy_cover(logits: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Weighted set cover on the engine's leg logits (``rows`` their members): repeatedly the leg with the
    lowest cost per need it adds, each member once."""
    N = logits.shape[1].bit_length() - 1
    count = popcounts(N)
    assign = np.zeros(N, dtype=np.int64)
    rest, used = (1 << N) - 1, np.zeros(len(rows), bool)
    while rest:
        groups = np.array([g for g in range(1, 1 << N) if not g & ~rest])
        z = np.where(used[:, None], -np.inf, logits[:, groups])
        best = z.argmax(axis=0)
        per_need = leg_cost(z[best, np.arange(len(groups))]) / count[groups]
        k = int(np.argmin(per_need))
        g, m = int(groups[k]), int(best[k])
        used[m] = True
        rest &= ~g
        for n in range(N):
            if g >> n & 1:
                assign[n] = rows[m]
    return assign


def rarest_first(snapshot, logits: np.ndarray, rows: np.ndarray, pool: list[int]) -> np.ndarray:
    """RarestFirst on the engine's pool with coordination distances (ties: the likelier leg)."""
    N = logits.shape[1].bit_length() - 1
    local = np.searchsorted(rows, pool)
    single = logits[local][:, [1 << n for n in range(N)]]
    holders = [np.flatnonzero(np.isfinite(single[:, n])) for n in range(N)]
    D = snapshot.coordination().matrix(pool)
    rare = min(range(N), key=lambda n: (len(holders[n]), n))
    best, best_key = None, None
    for h in holders[rare]:
        assign = [int(h) if np.isfinite(single[h, n]) else
                  int(min(holders[n], key=lambda m: (D[h, m], -single[m, n]))) for n in range(N)]
        members = sorted(set(assign))
        key = (max(D[a, b] for a in members for b in members), -single[assign, range(N)].sum())
        if best_key is None or key < best_key:
            best, best_key = assign, key
    return np.array([pool[m] for m in best])


def historical_choice(snapshot, world, case, allowed: np.ndarray, rng) -> np.ndarray | None:
    """The generator's desks: per need, one of the 60 likeliest members (weight exp(-km / 60) * (0.3 +
    specialisation)), past partners of the members already chosen preferred, drawn at random."""
    dist = snapshot.distance_km(case.province)
    chosen: list[int] = []
    for j, need in enumerate(case.needs):
        c = snapshot.category_index[need]
        cands = np.flatnonzero(allowed[:, j])
        if not len(cands):
            return None
        weight = np.exp(-dist[cands] / 60.0) * (0.3 + snapshot.specialisation[cands, c])
        keep = np.argsort(-weight, kind="stable")[:60]
        cands, weight = cands[keep], weight[keep]
        if chosen:
            partner = np.asarray(world.joint[cands][:, sorted(set(chosen))].sum(axis=1)).ravel()
            weight = weight * (1 + 0.5 * np.minimum(partner, 4))
        chosen.append(int(rng.choice(cands, p=weight / weight.sum())))
    return np.array(chosen)


def assignments(holders: list[np.ndarray]):
    """Every assignment of one holder per need, in batches of at most ``CHUNK`` rows."""
    grid = itertools.product(*[h.tolist() for h in holders])
    while True:
        batch = np.array(list(itertools.islice(grid, CHUNK)), dtype=np.int64)
        if not len(batch):
            return
        yield batch.reshape(-1, len(holders))


def best_of(world, case, holders: list[np.ndarray], **load) -> tuple[np.ndarray, float]:
    """The assignment with the highest true chance among every one of ``holders`` per need."""
    best, best_chance = None, -1.0
    for batch in assignments(holders):
        chance = world.outcomes(case, batch, **load)["chance"]
        k = int(np.argmax(chance))
        if chance[k] > best_chance:
            best, best_chance = batch[k], float(chance[k])
    return best, best_chance


def best_in_pool(world, case, allowed: np.ndarray, pool: list[int], **load) -> np.ndarray:
    pool = np.asarray(pool)
    return best_of(world, case, [pool[allowed[pool, j]] for j in range(len(case.needs))], **load)[0]


def truth_pool(world, case, allowed: np.ndarray, per_need: int = 8, per_group: int = 3, partners: int = 4,
               **load) -> set[int]:
    """Members the truth itself would consider: the likeliest per need and per group of needs, and the
    past partners of the leaders."""
    N = len(case.needs)
    out: set[int] = set()
    leaders: list[int] = []
    for j in range(N):
        cands = np.flatnonzero(allowed[:, j])
        alone = world.outcomes(type(case)(case.province, case.sector, [case.needs[j]]), cands[:, None],
                               **load)["chance"]
        order = cands[np.argsort(-alone, kind="stable")]
        out.update(order[:per_need].tolist())
        leaders.extend(order[:3].tolist())
    for group in range(1, 1 << N):
        needs = [j for j in range(N) if group >> j & 1]
        if len(needs) < 2:
            continue
        cands = np.flatnonzero(allowed[:, needs].all(axis=1))
        if not len(cands):
            continue
        sub = type(case)(case.province, case.sector, [case.needs[j] for j in needs])
        chance = world.outcomes(sub, np.repeat(cands[:, None], len(needs), axis=1), **load)["chance"]
        out.update(cands[np.argsort(-chance, kind="stable")][:per_group].tolist())
    near = np.unique(np.concatenate([world.joint[m].indices for m in leaders])) if leaders else np.array([], int)
    near = near[allowed[near].any(axis=1)] if len(near) else near
    if len(near):
        strength = np.asarray(world.joint[near][:, leaders].sum(axis=1)).ravel()
        out.update(near[np.argsort(-strength, kind="stable")][:partners].tolist())
    return out


def best_in_network(world, case, allowed: np.ndarray, pool: list[int], **load) -> np.ndarray:
    """The best assignment over the truth's own pool and ``pool`` (the engine's, with the members the other
    methods chose) together."""
    members = np.array(sorted(truth_pool(world, case, allowed, **load) | set(pool)))
    return best_of(world, case, [members[allowed[members, j]] for j in range(len(case.needs))], **load)[0]
