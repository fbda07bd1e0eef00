"""Benchmark of the bundle engine, run by hand (never a timed test). Prints figures and ratios measured in
one run on the synthetic demo network and a synthetic national network:

1. optimality: on random cases (1-6 needs), the share where the engine's J equals the optimum over the same
   candidate pool found independently (brute force over all assignments when there are few, else a MILP
   solved by scipy's HiGHS), the mean and worst gap, and their times; plus how often the engine proves its
   best bundle optimal over the whole network (certificate);
2. baselines on the same pools and costs: RarestFirst (Lappas, Liu and Terzi, KDD 2009), leader distance
   (Kargar and An, CIKM 2011), greedy weighted set cover and "nearest member per need": mean J and gap to
   the optimum, estimated success, members per bundle, share of members in the enterprise's province;
3. latency per match in-process (p50, p99; wall clock and CPU) and the peak memory of the service;
4. batch allocation of 100,000 cases on the national network: time, and the comparison with allocating
   them one at a time greedily and each as if alone; networkx against OR-Tools on the same flow.

Usage (from the project folder):

    .venv/bin/python bench/bench_engine.py --national /tmp/national.db
    .venv/bin/python bench/bench_engine.py --quick        # 200 cases, 10,000 allocated: a smoke run

``--national`` is a database made by ``flask --app api generate PATH --scale national`` (made in a
temporary folder when absent, about 40 s); it is copied, never modified. The networks are synthetic.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import DATA_DIR  # noqa: E402
from matcher.engine import allocation, coordination, pool  # noqa: E402
from matcher.synthetic import demo  # noqa: E402
from matcher.engine import matching  # noqa: E402
from matcher.engine import scoring  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.store import history, models, open_db  # noqa: E402

BRUTE_FORCE_LIMIT = 5_000  # assignments enumerated exactly; above, the MILP
TARGETS = {"optimal_share": 0.999, "p50_ms": 5.0, "p99_ms": 25.0, "allocation_s": 120.0}


# -- data -----------------------------------------------------------------------------------------------


def prepare(path: Path, scale: str, workdir: Path) -> tuple[object, Path]:
    """A private copy of the network with the scorer trained on it (stored only if it beats hand-set)."""
    copy = workdir / f"{scale}.db"
    if path is None or not Path(path).exists():
        print(f"generating the synthetic {scale} network ...", file=sys.stderr)
        ensure_database(copy, load_reference(DATA_DIR), scale=scale)
    else:
        shutil.copy(path, copy)
    db = open_db(copy)
    ref = load_reference(DATA_DIR)
    if models.latest_model(db, scoring.MODEL_NAME) is None:
        snap = build_snapshot(db, ref)
        out = scoring.train(snap, models.training_legs(db), history.demo_truth(db))
        if "params" in out:
            models.save_model(db, scoring.MODEL_NAME, params=out["params"], trained_on=out["trained_on"],
                              metrics=out["metrics"])
    snap = build_snapshot(db, ref)
    db.close()
    return snap, copy


def random_cases(snapshot, n: int, seed: int, sizes=(1, 2, 3, 4, 5, 6), weights=None) -> list[dict]:
    """Match requests: a province where members live, a sector, 1-6 needs drawn as that sector asks."""
    rng = np.random.default_rng(seed)
    provinces = sorted({m["province"] for m in snapshot.members})
    sectors = list(demo.SECTOR_NEEDS)
    cats = snapshot.categories
    out = []
    for _ in range(n):
        sector = sectors[rng.integers(len(sectors))]
        w = np.array([demo.SECTOR_NEEDS[sector].get(c, 0.4) for c in cats])
        k = int(rng.choice(sizes, p=weights))
        needs = [cats[j] for j in rng.choice(len(cats), k, replace=False, p=w / w.sum())]
        out.append({"needs": needs, "province": provinces[rng.integers(len(provinces))], "sector": sector})
    return out


# -- the optimum over a pool, independently of the engine -------------------------------------------------


def pool_problem(result: dict) -> dict:
    """Costs, fixed costs and distances of the explain section, as arrays."""
    ex = result["explain"]
    needs = result["covered"]
    ids = [e["member"] for e in ex["pool"]]
    cost = np.array([[e["need_costs"].get(n, np.inf) for n in needs] for e in ex["pool"]])
    return {"ids": ids, "needs": needs, "cost": cost, "fixed": np.array([e["fixed_cost"] for e in ex["pool"]]),
            "D": np.array(ex["coordination"]["distance"]), "lam": ex["lambda"],
            "coordinate": len(ex["coordinate_with"])}


def assignments_count(cost) -> int:
    return math.prod(int(np.isfinite(cost[:, n]).sum()) for n in range(cost.shape[1]))


def brute_force_optimum(pb) -> float:
    """min J over every assignment, vectorised (the member set of each, its MST by Prim)."""
    cost, D, fixed, lam = pb["cost"], pb["D"], pb["fixed"], pb["lam"]
    cands = [np.flatnonzero(np.isfinite(cost[:, n])) for n in range(cost.shape[1])]
    grid = np.array(list(itertools.product(*cands)), dtype=np.int64)  # (A, N)
    A = cost[grid, np.arange(cost.shape[1])].sum(axis=1)
    best = math.inf
    sets: dict[tuple, float] = {}
    for row, a in zip(grid.tolist(), A.tolist()):
        key = tuple(sorted(set(row)))
        if a < sets.get(key, math.inf):
            sets[key] = a
    for key, a in sets.items():
        members = list(key) + list(range(len(fixed), len(fixed) + pb["coordinate"]))
        J = a + fixed[list(key)].sum() + lam * coordination.mst_weight(D, members)
        best = min(best, J)
    return best


def milp_optimum(pb) -> float:
    """min J by a MILP (scipy.optimize.milp, HiGHS): assignment x, members y, tree edges z, and a
    single-commodity flow from a chosen root that makes the chosen edges connect every chosen member."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    cost, D, fixed, lam = pb["cost"], pb["D"], pb["fixed"], pb["lam"]
    P, N = cost.shape
    Q = pb["coordinate"]
    V = P + Q
    xs = [(p, n) for p in range(P) for n in range(N) if np.isfinite(cost[p, n])]
    edges = [(i, j) for i in range(V) for j in range(i + 1, V)]
    arcs = [(i, j) for i, j in edges] + [(j, i) for i, j in edges]
    # variable blocks: x | y (V; coordinate members fixed to 1) | s (root choice, V) | z (edges) | f (arcs) | g (root arcs)
    nx_, ny, ns, nz, nf, ng = len(xs), V, V, len(edges), len(arcs), V
    off = np.cumsum([0, nx_, ny, ns, nz, nf])
    n_var = off[-1] + ng
    c = np.zeros(n_var)
    c[:nx_] = [cost[p, n] for p, n in xs]
    c[off[1]:off[1] + P] = fixed
    c[off[3]:off[3] + nz] = [lam * D[i, j] for i, j in edges]
    rows, lo, hi = [], [], []

    def add(coefs: dict, low, high):
        row = np.zeros(n_var)
        for k, v in coefs.items():
            row[k] += v
        rows.append(row)
        lo.append(low)
        hi.append(high)

    for n in range(N):
        add({k: 1 for k, (p, m) in enumerate(xs) if m == n}, 1, 1)
    for p in range(P):
        own = [k for k, (q, _) in enumerate(xs) if q == p]
        for k in own:
            add({k: 1, off[1] + p: -1}, -np.inf, 0)  # x <= y
        add({**{k: -1 for k in own}, off[1] + p: 1}, -np.inf, 0)  # a member takes a need
    add({**{off[3] + e: 1 for e in range(nz)}, **{off[1] + v: -1 for v in range(V)}}, -1, -1)  # |edges| = |V| - 1
    for e, (i, j) in enumerate(edges):
        add({off[3] + e: 1, off[1] + i: -1}, -np.inf, 0)
        add({off[3] + e: 1, off[1] + j: -1}, -np.inf, 0)
    add({off[2] + v: 1 for v in range(V)}, 1, 1)  # one root
    for v in range(V):
        add({off[2] + v: 1, off[1] + v: -1}, -np.inf, 0)
        add({off[5] + v: 1, off[2] + v: -V}, -np.inf, 0)  # root arc only into the root
        inflow = {off[4] + a: 1 for a, (_, j) in enumerate(arcs) if j == v}
        outflow = {off[4] + a: -1 for a, (i, _) in enumerate(arcs) if i == v}
        add({**inflow, **outflow, off[5] + v: 1, off[1] + v: -1}, 0, 0)  # each chosen vertex keeps one unit
    for a, (i, j) in enumerate(arcs):
        e = edges.index((min(i, j), max(i, j)))
        add({off[4] + a: 1, off[3] + e: -V}, -np.inf, 0)
    lower, upper = np.zeros(n_var), np.ones(n_var)
    lower[off[1] + P:off[1] + V] = 1  # the members already on the case are in the tree
    upper[off[4]:] = V
    integrality = np.ones(n_var)
    integrality[off[4]:] = 0
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=integrality,
               bounds=Bounds(lower, upper), options={"mip_rel_gap": 1e-9, "time_limit": 120})
    if not res.success:
        raise RuntimeError(res.message)
    return float(res.fun)


# -- baselines (each returns an assignment: pool index per need) ---------------------------------------


def _holders(pb, n):
    return np.flatnonzero(np.isfinite(pb["cost"][:, n]))


def rarest_first(pb) -> list[int]:
    """Lappas et al. 2009: for the rarest need, try each holder; attach to it the nearest holder of every
    other need; keep the team of smallest diameter (ties: lowest J)."""
    cost, D = pb["cost"], pb["D"]
    N = cost.shape[1]
    rare = min(range(N), key=lambda n: len(_holders(pb, n)))
    best, best_key = None, None
    for h in _holders(pb, rare):
        assign = [int(h) if np.isfinite(cost[h, n]) else int(min(_holders(pb, n), key=lambda m: (D[h, m], cost[m, n])))
                  for n in range(N)]
        members = sorted(set(assign))
        key = (max((D[a, b] for a in members for b in members), default=0.0), objective(pb, assign))
        if best_key is None or key < best_key:
            best, best_key = assign, key
    return best


def leader_distance(pb) -> list[int]:
    """Kargar and An 2011: a leader and, for each need, the holder nearest the leader; keep the leader with
    the smallest sum of distances to the holders (ties: lowest J)."""
    cost, D = pb["cost"], pb["D"]
    N = cost.shape[1]
    best, best_key = None, None
    for leader in range(len(cost)):
        assign = [int(min(_holders(pb, n), key=lambda m: (D[leader, m], cost[m, n]))) for n in range(N)]
        key = (sum(D[leader, m] for m in assign), objective(pb, assign))
        if best_key is None or key < best_key:
            best, best_key = assign, key
    return best


def greedy_set_cover(pb) -> list[int]:
    """Weighted set cover: repeatedly the member with the lowest (f + c of the needs it adds) per need added."""
    cost, fixed = pb["cost"], pb["fixed"]
    N = cost.shape[1]
    assign = [None] * N
    while None in assign:
        open_needs = [n for n in range(N) if assign[n] is None]
        best, best_ratio = None, math.inf
        for m in range(len(cost)):
            adds = [n for n in open_needs if np.isfinite(cost[m, n])]
            if adds:
                ratio = (fixed[m] + cost[m, adds].sum()) / len(adds)
                if ratio < best_ratio:
                    best, best_ratio = (m, adds), ratio
        for n in best[1]:
            assign[n] = best[0]
    return assign


def nearest_per_need(pb, km) -> list[int]:
    """For each need the holder nearest the enterprise's province (ties: lowest c)."""
    return [int(min(_holders(pb, n), key=lambda m: (km[m], pb["cost"][m, n]))) for n in range(pb["cost"].shape[1])]


def objective(pb, assign) -> float:
    members = sorted(set(assign))
    coord = list(range(len(pb["fixed"]), len(pb["fixed"]) + pb["coordinate"]))
    return float(sum(pb["cost"][m, n] for n, m in enumerate(assign)) + pb["fixed"][members].sum()
                 + pb["lam"] * coordination.mst_weight(pb["D"], members + coord))


# -- the sections ---------------------------------------------------------------------------------------


def optimality(snapshot, cases) -> dict:
    stats = {"cases": 0, "equal": 0, "gaps": [], "engine_s": [], "check_s": [], "by": {"brute force": 0, "MILP": 0},
             "certified": 0, "methods": {k: {"J": [], "gap": [], "ratio": [], "chance": [], "members": [], "local": []}
                                         for k in ("engine", "RarestFirst", "leader distance", "greedy set cover",
                                                   "nearest member per need")}}
    for body in cases:
        t = time.perf_counter()
        result = matching.match(snapshot, {**body, "explain": True, "top_k": 1})
        stats["engine_s"].append(time.perf_counter() - t)
        if not result["bundles"]:
            continue
        pb = pool_problem(result)
        t = time.perf_counter()
        if assignments_count(pb["cost"]) <= BRUTE_FORCE_LIMIT:
            best, how = brute_force_optimum(pb), "brute force"
        else:
            best, how = milp_optimum(pb), "MILP"
        stats["check_s"].append(time.perf_counter() - t)
        stats["by"][how] += 1
        J = result["bundles"][0]["objective"]
        stats["cases"] += 1
        stats["equal"] += abs(J - best) <= 1e-5 * max(1.0, best)
        stats["gaps"].append(max(J - best, 0.0) / best)
        stats["certified"] += result["certificate"]["best_is_network_optimal"]
        index = {mid: i for i, mid in enumerate(pb["ids"])}
        engine_assign = [index[result["bundles"][0]["assignment"][n]] for n in pb["needs"]]
        pool_members = [snapshot.member_index[mid] for mid in pb["ids"]]
        km = snapshot.distance_km(result["province"])[pool_members]
        home = np.array([snapshot.members[m]["province"] == result["province"] for m in pool_members])
        for name, assign in (("engine", engine_assign), ("RarestFirst", rarest_first(pb)),
                             ("leader distance", leader_distance(pb)), ("greedy set cover", greedy_set_cover(pb)),
                             ("nearest member per need", nearest_per_need(pb, km))):
            value = objective(pb, assign)
            s = stats["methods"][name]
            s["J"].append(value)
            s["gap"].append((value - best) / best)
            s["ratio"].append(value / best)
            s["chance"].append(math.exp(-sum(pb["cost"][m, n] for n, m in enumerate(assign))))
            members = sorted(set(assign))
            s["members"].append(len(members))
            s["local"].append(float(home[members].mean()))
    return stats


def pool_rule_loss(snapshot, cases, growth=3) -> dict:
    """How much a pool ``growth`` times larger improves the best J (the price of the pool rule)."""
    saved = dict(pool.POOL_PER_NEED), pool.POOL_MULTI, pool.POOL_PARTNERS
    base = [matching.match(snapshot, {**c, "top_k": 1})["bundles"] for c in cases]
    try:
        pool.POOL_PER_NEED = {k: v * growth for k, v in saved[0].items()}
        pool.POOL_MULTI, pool.POOL_PARTNERS = saved[1] * growth, saved[2] * growth
        big = [matching.match(snapshot, {**c, "top_k": 1})["bundles"] for c in cases]
    finally:
        pool.POOL_PER_NEED, pool.POOL_MULTI, pool.POOL_PARTNERS = saved
    gaps = [(a[0]["objective"] - b[0]["objective"]) / b[0]["objective"] for a, b in zip(base, big) if a and b]
    return {"cases": len(gaps), "same": sum(g <= 1e-9 for g in gaps), "mean_gap": statistics.fmean(gaps),
            "worst_gap": max(gaps)}


def latency(snapshot, cases) -> dict:
    for body in cases[:100]:  # warm the coordination rows as a running service would be
        matching.match(snapshot, body)
    wall, cpu = [], []
    for body in cases:
        t, c = time.perf_counter(), time.process_time()
        matching.match(snapshot, body)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"n": len(cases), "wall_p50": float(np.percentile(wall, 50)), "wall_p99": float(np.percentile(wall, 99)),
            "cpu_p50": float(np.percentile(cpu, 50)), "cpu_p99": float(np.percentile(cpu, 99))}


SERVICE = """
import json, sys, time
sys.path.insert(0, {root!r})

def peak_mb():  # VmHWM: this process's own peak (ru_maxrss would include the parent's, inherited at fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

from api import create_app
app = create_app({{"TESTING": True, "DATABASE": {db!r}, "SECRET_KEY": "bench"}})
started = peak_mb()
client = app.test_client()
cases = json.load(open({cases!r}))
start = time.perf_counter()
for body in cases:
    assert client.post("/api/v1/match", json=body).status_code == 200
print(json.dumps({{"matches": len(cases), "seconds": time.perf_counter() - start, "started_mb": started,
                  "peak_rss_mb": peak_mb()}}))
"""


def service_memory(db: Path, cases: list[dict], workdir: Path) -> dict:
    """Peak RSS of a fresh process that starts the app on ``db`` and serves the matches over its WSGI app."""
    path = workdir / f"cases-{db.stem}.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", SERVICE.format(root=str(ROOT), db=str(db), cases=str(path))],
                         capture_output=True, text=True, check=True, env={**os.environ, "RISMEP_SECRET_KEY": "bench"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def batch_cases(snapshot, n: int, seed: int) -> list[allocation.Case]:
    weights = [0.38, 0.34, 0.2, 0.08]
    return [allocation.Case(str(i), f"E{i} (synthetic)", b["province"], b["needs"], b["sector"])
            for i, b in enumerate(random_cases(snapshot, n, seed, sizes=(1, 2, 3, 4), weights=weights))]


def allocation_section(snapshot, n: int, seed: int) -> dict:
    cases = batch_cases(snapshot, n, seed)
    out = {"cases": n, "case_needs": sum(len(c.needs) for c in cases)}
    for name, fn in (("joint", allocation.allocate), ("one_at_a_time", allocation.allocate_sequentially),
                     ("each_alone", allocation.allocate_independently)):
        t = time.perf_counter()
        summary = fn(snapshot, cases)["summary"]
        out[name] = {"seconds": time.perf_counter() - t, **{k: summary[k] for k in (
            "total_objective", "mean_objective", "cases_fully_covered", "case_needs_unserved", "members_over_capacity",
            "legs_over_capacity", "members_idle", "members_used")}, "largest_gaps": summary["largest_gaps"][:3]}
    return out


def solver_comparison(snapshot, n: int, seed: int) -> dict:
    """networkx against OR-Tools on the same leg-group flow."""
    cases = batch_cases(snapshot, n, seed)
    table = allocation.CostTable(snapshot)
    groups: dict = {}
    for case in cases:
        for leg in allocation.split_into_legs(snapshot, table, case):
            key = (case.province, case.sector, leg)
            groups[key] = groups.get(key, 0) + 1
    net = allocation.flow_network(snapshot, table, groups, snapshot.capacity_left().astype(np.int64))
    out = {"cases": n, "groups": len(groups), "arcs": int(len(net["start"]))}
    for solver in ("ortools", "networkx"):
        t = time.perf_counter()
        flow = allocation.solve_flow(net, solver)
        out[solver] = {"seconds": time.perf_counter() - t, "cost": int((flow * net["cost"]).sum())}
    return out


# -- printing -------------------------------------------------------------------------------------------


def summarise(stats: dict) -> dict:
    out = {"cases": stats["cases"], "optimal_share": stats["equal"] / max(stats["cases"], 1),
           "mean_gap": statistics.fmean(stats["gaps"]) if stats["gaps"] else 0.0,
           "worst_gap": max(stats["gaps"], default=0.0), "checked_by": stats["by"],
           "engine_ms_mean": 1000 * statistics.fmean(stats["engine_s"]),
           "check_ms_mean": 1000 * statistics.fmean(stats["check_s"]) if stats["check_s"] else 0.0,
           "certified_network_optimal": stats["certified"] / max(stats["cases"], 1), "methods": {}}
    for name, s in stats["methods"].items():
        out["methods"][name] = {"mean_J": statistics.fmean(s["J"]), "mean_gap": statistics.fmean(s["gap"]),
                                "worst_ratio": max(s["ratio"]), "success": statistics.fmean(s["chance"]),
                                "members": statistics.fmean(s["members"]), "in_province": statistics.fmean(s["local"])}
    return out


def print_network(name: str, snap, opt: dict, loss: dict, lat: dict, mem: dict) -> None:
    print(f"\n=== {name}: {snap.number_of_members} members, scorer {snap.scorer.kind}"
          f"{' v' + str(snap.scorer.version) if snap.scorer.version else ''} (synthetic) ===")
    print(f"1. optimality over {opt['cases']} cases: engine J = optimum in {opt['optimal_share']:.2%} "
          f"(target {TARGETS['optimal_share']:.1%}); mean gap {opt['mean_gap']:.2e}, worst {opt['worst_gap']:.2e}; "
          f"checked by {opt['checked_by']}; engine {opt['engine_ms_mean']:.1f} ms/case with explain, "
          f"check {opt['check_ms_mean']:.1f} ms/case ({opt['check_ms_mean'] / opt['engine_ms_mean']:.1f}x)")
    print(f"   best bundle proved optimal over the whole network (certificate): {opt['certified_network_optimal']:.1%}; "
          f"a pool 3x larger improves J in {loss['cases'] - loss['same']} of {loss['cases']} cases "
          f"(mean {loss['mean_gap']:.2%}, worst {loss['worst_gap']:.1%})")
    print("2. method                      mean J   gap to opt  worst ratio  success  members  in province")
    for method, m in opt["methods"].items():
        print(f"   {method:26s} {m['mean_J']:7.3f}   {m['mean_gap']:9.2%}  {m['worst_ratio']:10.2f}x  "
              f"{m['success']:6.1%}  {m['members']:7.2f}  {m['in_province']:10.1%}")
    print(f"3. latency over {lat['n']} matches (top 3, warm): wall p50 {lat['wall_p50']:.2f} ms, p99 "
          f"{lat['wall_p99']:.2f} ms; CPU p50 {lat['cpu_p50']:.2f} ms, p99 {lat['cpu_p99']:.2f} ms "
          f"(targets {TARGETS['p50_ms']:.0f} / {TARGETS['p99_ms']:.0f} ms); service peak RSS "
          f"{mem['peak_rss_mb']:.0f} MB after {mem['matches']} matches through its WSGI app "
          f"({mem['started_mb']:.0f} MB once started, before the first match builds the snapshot)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--national", type=Path, default=None, help="a national database (made when absent)")
    parser.add_argument("--cases", type=int, default=1000, help="random cases per network (optimality, latency)")
    parser.add_argument("--allocate", type=int, default=100_000, help="cases in the batch allocation")
    parser.add_argument("--solver-cases", type=int, default=5000, help="cases of the networkx/OR-Tools comparison")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    parser.add_argument("--quick", action="store_true", help="200 cases, 10,000 allocated, 1,000 for solvers")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.allocate, args.solver_cases = 200, 10_000, 1000
    report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "targets": TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, source, scale in (("demo", None, "demo"), ("national", args.national, "national")):
            snap, path = prepare(source, scale, work)
            cases = random_cases(snap, args.cases, args.seed)
            opt = summarise(optimality(snap, cases))
            loss = pool_rule_loss(snap, cases[: max(50, args.cases // 5)])
            lat = latency(snap, cases)
            mem = service_memory(path, [dict(c) for c in cases[:300]], work)
            print_network(name, snap, opt, loss, lat, mem)
            report[name] = {"optimality": opt, "pool_rule": loss, "latency": lat, "service": mem}
            if name == "national":
                t = time.perf_counter()
                alloc = allocation_section(snap, args.allocate, args.seed)
                solvers = solver_comparison(snap, args.solver_cases, args.seed)
                report["allocation"], report["solvers"] = alloc, solvers
                print_allocation(alloc, solvers)
                print(f"(allocation section {time.perf_counter() - t:.0f} s)")
    report["peak_rss_bench_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


def print_allocation(alloc: dict, solvers: dict) -> None:
    print(f"\n4. batch allocation of {alloc['cases']:,} cases ({alloc['case_needs']:,} case-needs) on the national network")
    print("   method            seconds   total J   mean J  fully covered  unserved  over capacity (members/legs)  idle")
    for name in ("joint", "one_at_a_time", "each_alone"):
        a = alloc[name]
        print(f"   {name:16s} {a['seconds']:8.1f} {a['total_objective']:9.0f} {a['mean_objective']:8.3f} "
              f"{a['cases_fully_covered']:13,d} {a['case_needs_unserved']:9,d} "
              f"{a['members_over_capacity']:14,d} / {a['legs_over_capacity']:<10,d} {a['members_idle']:6,d}")
    j, g = alloc["joint"], alloc["one_at_a_time"]
    print(f"   joint against one at a time: total J {j['total_objective'] / g['total_objective']:.3f}x, "
          f"unserved case-needs {j['case_needs_unserved']:,} against {g['case_needs_unserved']:,}; "
          f"target {TARGETS['allocation_s']:.0f} s, took {j['seconds']:.0f} s; largest gaps {j['largest_gaps']}")
    o, n = solvers["ortools"], solvers["networkx"]
    print(f"   min-cost flow on {solvers['cases']:,} cases ({solvers['groups']:,} leg groups, {solvers['arcs']:,} arcs): "
          f"OR-Tools {o['seconds']:.2f} s, networkx {n['seconds']:.2f} s ({n['seconds'] / o['seconds']:.0f}x); "
          f"same cost: {o['cost'] == n['cost']}")


if __name__ == "__main__":
    sys.exit(main())
