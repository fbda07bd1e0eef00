"""The engine measured on a synthetic network against its hidden truth (``flask --app api evaluate-engine``).

For random cases, as a new user would try them: the true chance that every need is met of the engine's top
bundle, its expected needs met and value; the calibration error of the chance the engine shows (overall and
by number of needs); how often the first bundle shown is truly the best of those shown; the same figures for
the baselines and the oracles of :mod:`matcher.synthetic.baselines`. Then a month simulated case by case at
one and three times the network's usual monthly volume: the engine's true chance, the share of legs sent
to members above 60 % and 90 % of their monthly capacity, and the members over capacity.
"""

from __future__ import annotations

import statistics

import numpy as np

from matcher.engine import matching
from matcher.engine.pool import allowed_needs
from matcher.engine.request import MatchRequest
from matcher.engine.training import calibration_error
from matcher.synthetic import baselines
from matcher.synthetic.demo import SECTOR_NEEDS
from matcher.synthetic.world import Case, World

NEEDS_PER_CASE = {1: 0.38, 2: 0.34, 3: 0.2, 4: 0.08}  # as the generator's enterprises ask
BASELINES = ("best-rated local member per need", "greedy set cover", "RarestFirst", "historical member choice")
ORACLES = ("oracle within the pool", "oracle network-wide")


def random_cases(snapshot, enterprises: list[dict], n: int, seed: int, sizes=None) -> list[Case]:
    """Cases of real enterprises of the store (their province and sector) with 1-4 needs, as many needs as
    the generator's enterprises ask for (``NEEDS_PER_CASE``), drawn as their sector asks."""
    rng = np.random.default_rng(seed)
    cats = snapshot.categories
    sizes = sizes or NEEDS_PER_CASE
    counts, odds = list(sizes), np.array(list(sizes.values()), float)
    out = []
    for _ in range(n):
        ent = enterprises[int(rng.integers(len(enterprises)))]
        sector = ent.get("sector")
        weights = np.array([SECTOR_NEEDS.get(sector, {}).get(c, 0.4) for c in cats])
        size = int(counts[rng.choice(len(counts), p=odds / odds.sum())])
        picked = rng.choice(len(cats), size=size, replace=False, p=weights / weights.sum())
        out.append(Case(ent["province"], sector, [cats[j] for j in sorted(picked)], ent.get("cluster_id")))
    return out


def request_of(snapshot, case: Case, top_k: int = 3) -> MatchRequest:
    return MatchRequest(needs=list(case.needs), province=case.province, sector=case.sector, cluster=case.cluster,
                        top_k=top_k).checked(snapshot)


def _row(outcome: dict, k: int = 0) -> dict:
    return {key: float(values[k]) for key, values in outcome.items()}


def evaluate_case(snapshot, world: World, case: Case, rng) -> dict | None:
    """Every method's bundle for one case and its true outcomes; the engine's shown chances (None when the
    network cannot cover every need of the case)."""
    req = request_of(snapshot, case)
    req.explain = True
    result = matching.match(snapshot, req)
    allowed = allowed_needs(snapshot, req)
    space = matching.SearchSpace.of(snapshot, req, snapshot.scorer, allowed, req.needs)
    index = snapshot.member_index
    if result.uncovered or not result.bundles:
        return None
    pool = sorted(index[e["member"]] for e in result.explain["pool"])
    shown = np.array([[index[b.assignment[n]] for n in case.needs] for b in result.bundles])
    truth = world.outcomes(case, shown)
    out = {"needs": len(case.needs), "shown_chance": [b.chance for b in result.bundles],
           "true_chance": truth["chance"].tolist(), "engine": _row(truth), "methods": {}}
    choices = {
        "best-rated local member per need": baselines.best_rated_local(snapshot, case, allowed),
        "greedy set cover": baselines.greedy_cover(space.logits, space.rows),
        "RarestFirst": baselines.rarest_first(snapshot, space.logits, space.rows, pool),
        "historical member choice": baselines.historical_choice(snapshot, world, case, allowed, rng),
    }
    chosen = set(shown.ravel().tolist()) | {int(m) for a in choices.values() if a is not None for m in a}
    choices["oracle within the pool"] = baselines.best_in_pool(world, case, allowed, pool)
    choices["oracle network-wide"] = baselines.best_in_network(world, case, allowed, sorted(set(pool) | chosen))
    for name, assign in choices.items():
        out["methods"][name] = _row(world.outcomes(case, np.asarray(assign)[None, :])) if assign is not None else None
    return out


def summarise(rows: list[dict]) -> dict:
    """The figures over all cases: per method, mean true chance, needs met and value; the engine's
    calibration (overall and by number of needs) and how often its first bundle is truly the best shown."""
    shown = np.concatenate([r["shown_chance"] for r in rows])
    true = np.concatenate([r["true_chance"] for r in rows])
    sizes = np.concatenate([[r["needs"]] * len(r["shown_chance"]) for r in rows])
    top_shown = np.array([r["shown_chance"][0] for r in rows])
    top_true = np.array([r["engine"]["chance"] for r in rows])
    first_best = [int(np.argmax(r["true_chance"]) == 0 or r["true_chance"][0] >= max(r["true_chance"]) - 1e-12)
                  for r in rows if len(r["true_chance"]) > 1]
    methods = {"engine": _means([r["engine"] for r in rows])}
    for name in BASELINES + ORACLES:
        methods[name] = _means([r["methods"][name] for r in rows if r["methods"].get(name)])
    by_needs = {}
    for k in sorted(set(sizes.tolist())):
        pick = sizes == k
        top = np.array([r["needs"] == k for r in rows])
        by_needs[str(k)] = {"bundles": int(pick.sum()), "mean_shown": round(float(shown[pick].mean()), 4),
                            "mean_true": round(float(true[pick].mean()), 4),
                            "calibration_error": round(calibration_error(true[pick], shown[pick]), 4),
                            "top_true_chance": round(float(top_true[top].mean()), 4)}
    return {"cases": len(rows), "methods": methods,
            "calibration": {"bundles_shown": int(len(shown)), "mean_shown": round(float(shown.mean()), 4),
                            "mean_true": round(float(true.mean()), 4),
                            "calibration_error": round(calibration_error(true, shown), 4),
                            "top_bundle_calibration_error": round(calibration_error(top_true, top_shown), 4),
                            "by_needs": by_needs},
            "first_is_truly_best_of_shown": round(float(np.mean(first_best)), 4) if first_best else None,
            "cases_with_several_shown": len(first_best)}


def _means(rows: list[dict]) -> dict:
    if not rows:
        return {"cases": 0}
    return {"cases": len(rows), "true_chance": round(statistics.fmean(r["chance"] for r in rows), 4),
            "expected_needs_met": round(statistics.fmean(r["needs_met"] for r in rows), 4),
            "expected_value_baht": round(statistics.fmean(r["value"] for r in rows), 0)}


def evaluate(snapshot, world: World, enterprises: list[dict], *, cases: int = 500, seed: int = 2024,
             progress=None) -> dict:
    rng = np.random.default_rng(seed + 1)
    drawn = random_cases(snapshot, enterprises, cases, seed)
    rows = [evaluate_case(snapshot, world, case, rng) for case in (progress(drawn) if progress else drawn)]
    return {**summarise([r for r in rows if r is not None]), "cases_drawn": len(rows),
            "cases_not_fully_coverable": sum(r is None for r in rows), "seed": seed}


# -- a month, case by case ------------------------------------------------------------------------------


def monthly_volume(referrals: int, months: int) -> int:
    return max(1, round(referrals / max(months, 1)))


def simulate_month(snapshot, world: World, enterprises: list[dict], volume: int, *, seed: int = 7,
                   method: str = "engine", progress=None) -> dict:
    """``volume`` cases one after another in one month, each sent to the chosen bundle's members as it comes:
    the legs raise the members' load, which the engine sees (and the truth feels) for the next cases."""
    rng = np.random.default_rng(seed + 2)
    drawn = random_cases(snapshot, enterprises, volume, seed)
    M = snapshot.number_of_members
    month, open_legs = np.zeros(M), snapshot.load.copy()
    chances, ratios, shortfall = [], [], 0
    for case in (progress(drawn) if progress else drawn):
        snap = snapshot.with_loads(open_legs.copy(), month.copy())
        assign = _choose(snap, world, case, method, rng)
        if assign is None:
            shortfall += 1
            continue
        chances.append(float(world.outcomes(case, assign[None, :], month_load=month)["chance"][0]))
        for m in sorted(set(assign.tolist())):
            ratios.append(month[m] / max(snapshot.capacity_total[m], 1.0))
            month[m] += 1
            open_legs[m] += 1
    over = month > snapshot.capacity_total
    ratios = np.array(ratios)
    return {"method": method, "cases": volume, "unserved_cases": shortfall,
            "true_chance": round(float(np.mean(chances)), 4) if chances else None, "legs": int(len(ratios)),
            "legs_above_60_percent_load": round(float((ratios > 0.6).mean()), 4) if len(ratios) else None,
            "legs_above_90_percent_load": round(float((ratios > 0.9).mean()), 4) if len(ratios) else None,
            "members_over_capacity": int(over.sum()),
            "legs_over_capacity": int(np.maximum(month - snapshot.capacity_total, 0).sum())}


def _choose(snap, world, case: Case, method: str, rng) -> np.ndarray | None:
    try:
        req = request_of(snap, case, top_k=1)
    except Exception:  # noqa: BLE001 - a case nobody can take any more this month
        return None
    if method == "engine":
        result = matching.match(snap, req)
        if not result.bundles or result.uncovered:
            return None
        return np.array([snap.member_index[result.bundles[0].assignment[n]] for n in case.needs])
    allowed = allowed_needs(snap, req)
    if not allowed.any(axis=0).all():
        return None
    return baselines.historical_choice(snap, world, case, allowed, rng)
