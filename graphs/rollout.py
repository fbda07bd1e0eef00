"""Rollout planner: which provinces to bring into the network next.

Objective (a weighted facility-location coverage, to maximise over the set S of new provinces):

    f(S) = sum over provinces p of d_p * s_p(L + S)

where L is the set of provinces live now, d_p the weight of province p's demand (cases a year; see
``matcher.analysis.network`` for how unseen provinces are estimated) and s_p(X) the share of p's demand the
network serves: 1 when p itself is live (a desk and local members), ``alpha`` when p's seat is within
``radius_km`` of a live province's seat (served from a neighbour), else 0. Bringing in S is worth
f(S) - f({}): the unmet demand it covers, in the province itself and in its reach.

f is monotone and submodular (a maximum of per-province values, summed), so the greedy choice (add the
province with the largest marginal gain, k times) is within a factor 1 - 1/e of the best k-set
(Nemhauser, Wolsey and Fisher, 1978). ``exact_plan`` finds the optimum by enumeration on small instances
to check this, and ``upper_bound`` gives, for any instance, a bound on the optimum from the greedy answer
itself (f(S) plus the k largest marginal gains over S), so each plan states how close to optimal it is.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

RADIUS_KM = 100.0
ALPHA = 0.5
GREEDY_GUARANTEE = 1 - 1 / math.e
EARTH_RADIUS_KM = 6371.0088


def neighbours(provinces, radius_km: float = RADIUS_KM) -> dict[str, frozenset]:
    """Province code -> codes of the other provinces whose seat is within ``radius_km``. O(P^2)."""
    lat = np.radians([p["lat"] for p in provinces])
    lon = np.radians([p["lon"] for p in provinces])
    a = (np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
         + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2)
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    codes = [p["code"] for p in provinces]
    return {c: frozenset(codes[j] for j in np.flatnonzero(km[i] <= radius_km) if j != i)
            for i, c in enumerate(codes)}


def served_shares(chosen, near, alpha: float = ALPHA) -> dict[str, float]:
    """Province -> share of its demand served when the provinces in ``chosen`` are live. O(sum of degrees)."""
    shares = {p: 0.0 for p in near}
    for c in chosen:
        for q in near.get(c, ()):
            shares[q] = max(shares[q], alpha)
    for c in chosen:
        shares[c] = 1.0
    return shares


def objective(chosen, demand: dict, near, alpha: float = ALPHA) -> float:
    """f(chosen) = sum of d_p * s_p(chosen). O(P + sum of degrees)."""
    return float(sum(demand.get(p, 0.0) * s for p, s in served_shares(chosen, near, alpha).items()))


def marginal_gain(p: str, shares: dict, demand: dict, near, alpha: float = ALPHA) -> tuple[float, float]:
    """(gain in the province itself, gain in its reach) of making p live, given current shares. O(deg p)."""
    own = demand.get(p, 0.0) * (1.0 - shares.get(p, 0.0))
    reach = sum(demand.get(q, 0.0) * max(0.0, alpha - shares.get(q, 0.0)) for q in near.get(p, ()))
    return own, reach


def greedy_plan(demand: dict, near, live, k: int, *, alpha: float = ALPHA, priority=None) -> list[dict]:
    """The k provinces to bring in, in order, each with its marginal gain.

    Ties are broken by ``priority`` (lower first, e.g. distance to the hub) and then by code. Each step:
    ``{province, gain, own_gain, reach_gain, newly_in_reach, value}`` where ``newly_in_reach`` lists the
    provinces it brings within reach for the first time and ``value`` is f after the step.
    O(k * P * max degree).
    """
    priority = priority or {}
    chosen = set(live)
    shares = served_shares(chosen, near, alpha)
    value = objective(chosen, demand, near, alpha)
    steps = []
    for _ in range(max(0, k)):
        candidates = [p for p in near if p not in chosen]
        if not candidates:
            break
        gains = {p: marginal_gain(p, shares, demand, near, alpha) for p in candidates}
        best = min(candidates, key=lambda p: (-round(sum(gains[p]), 9), priority.get(p, 0.0), p))
        own, reach = gains[best]
        newly = sorted(q for q in near[best] if shares[q] == 0.0 and q not in chosen)
        chosen.add(best)
        shares = served_shares(chosen, near, alpha)
        value += own + reach
        steps.append({"province": best, "gain": round(own + reach, 6), "own_gain": round(own, 6),
                      "reach_gain": round(reach, 6), "newly_in_reach": newly, "value": round(value, 6)})
    return steps


def exact_plan(demand: dict, near, live, k: int, *, alpha: float = ALPHA, max_subsets: int = 2_000_000) -> dict:
    """The best k-set by enumeration: ``{"chosen": sorted codes, "value": f}``.

    For checking the greedy plan on small instances only: O(C(n, k) * P) for n candidates; raises
    ValueError when C(n, k) exceeds ``max_subsets``.
    """
    candidates = sorted(p for p in near if p not in set(live))
    k = min(max(0, k), len(candidates))
    if math.comb(len(candidates), k) > max_subsets:
        raise ValueError(f"C({len(candidates)}, {k}) subsets is too many to enumerate; use a smaller instance.")
    best_value, best = -1.0, ()
    for subset in itertools.combinations(candidates, k):
        value = objective(set(live) | set(subset), demand, near, alpha)
        if value > best_value + 1e-12:
            best_value, best = value, subset
    return {"chosen": sorted(best), "value": round(best_value, 6)}


def upper_bound(chosen, demand: dict, near, live, k: int, *, alpha: float = ALPHA) -> float:
    """A bound on f(L + best k new provinces), from the plan ``chosen`` (in its order).

    For any set S, OPT <= f(S) + the k largest marginal gains over S, because f is monotone submodular;
    the bound is the smallest over the prefixes of ``chosen`` (the empty one included). With the greedy
    plan it certifies how close greedy came. O(k * P * max degree).
    """
    best = math.inf
    for i in range(len(chosen) + 1):
        full = set(live) | set(chosen[:i])
        shares = served_shares(full, near, alpha)
        gains = sorted((sum(marginal_gain(p, shares, demand, near, alpha)) for p in near if p not in full),
                       reverse=True)
        best = min(best, objective(full, demand, near, alpha) + sum(gains[:max(0, k)]))
    return round(best, 6)


def quality(before: float, after: float, bound: float) -> float:
    """A lower bound on gain / best possible gain for a greedy plan: the larger of the a-priori 1 - 1/e
    and the certificate (after - before) / (bound - before); 1 when nothing could be gained."""
    if bound <= before + 1e-12:
        return 1.0
    return round(max(GREEDY_GUARANTEE, (after - before) / (bound - before)), 4)


def step_reason(step: dict, names: dict, radius_km: float = RADIUS_KM) -> dict:
    """Why this province comes next, in Thai and English. ``names``: code -> {name_th, name_en}."""
    name = names.get(step["province"], {})
    near_th = ", ".join(names.get(q, {}).get("name_th", q) for q in step["newly_in_reach"])
    near_en = ", ".join(names.get(q, {}).get("name_en", q) for q in step["newly_in_reach"])
    th = (f"นำ{name.get('name_th', step['province'])}เข้าร่วมเครือข่าย: รองรับความต้องการที่ยังไม่ได้รับบริการ"
          f"ในจังหวัดประมาณ {step['own_gain']:.1f} รายต่อปี และในจังหวัดใกล้เคียงอีก {step['reach_gain']:.1f} รายต่อปี")
    en = (f"Bring {name.get('name_en', step['province'])} in: about {step['own_gain']:.1f} cases a year of unmet "
          f"demand in the province and {step['reach_gain']:.1f} more in its neighbours")
    if step["newly_in_reach"]:
        th += f"; ทำให้{near_th}อยู่ในระยะ {radius_km:.0f} กม. จากจังหวัดที่มีเครือข่ายเป็นครั้งแรก"
        en += f"; puts {near_en} within {radius_km:.0f} km of a live province for the first time"
    return {"th": th, "en": en}
