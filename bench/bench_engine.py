"""Benchmark of the bundle engine, run by hand (never a timed test). Prints figures and ratios measured in
one run on the synthetic demo network and a synthetic national network:

1. optimality: on random cases (1-6 needs), the share where the engine's best J (= -ln of its chance that
   every need is met) equals the optimum over the same candidate pool found independently from the explain
   block alone (brute force over every assignment when there are few, else a MILP solved by scipy's HiGHS:
   one per bundle size, each leg's cost a convex function of its member's joint work, written exactly at
   every integer by its tangents), the mean and worst gap, and their times; plus how often the engine proves
   its best bundle optimal over the whole network (certificate), and what a pool three times larger gains;
2. latency per match in-process (p50, p99; wall clock and CPU) and the peak memory of the service;
3. batch allocation of 100,000 cases on the national network: time, and the comparison with allocating
   them one at a time greedily and each as if alone; networkx against OR-Tools on the same flow.

How the recommendations fare against the hidden truth (true chance, calibration, baselines, oracles, a
month at 3x volume) is ``bench/bench_trust.py``.

Usage (from the project folder):

    .venv/bin/python bench/bench_engine.py --national /tmp/national.db
    .venv/bin/python bench/bench_engine.py --quick        # 200 cases, 10,000 allocated: a smoke run

``--national`` is a database made by ``flask --app api generate PATH --scale national`` (made in a
temporary folder when absent, about 30 s); it is copied, never modified. The networks are synthetic.
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
from matcher.engine import allocation, matching, scoring, training  # noqa: E402
from matcher.engine.request import MatchRequest  # noqa: E402
from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.store import history, models, open_db  # noqa: E402
from matcher.synthetic import demo  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402

BRUTE_FORCE_LIMIT = 2_000_000  # assignments enumerated exactly (vectorised, in batches); above, the MILP
BATCH = 100_000
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
        out = training.train(snap, models.training_legs(db), history.demo_truth(db))
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


def match(snapshot, body: dict):
    return matching.match(snapshot, MatchRequest.parse(snapshot, body))


def pool_problem(result) -> dict:
    """The explain block as arrays: leg logits (P, 2^N), joint work (P + Q, P + Q), the weights."""
    ex = result.explain
    needs = ex["needs"]
    N = len(needs)
    names = {"+".join(n for k, n in enumerate(needs) if g >> k & 1): g for g in range(1, 1 << N)}
    logits = np.full((len(ex["pool"]), 1 << N), -np.inf)
    for p, entry in enumerate(ex["pool"]):
        for name, z in entry["leg_logits"].items():
            logits[p, names[name]] = z
    return {"ids": [e["member"] for e in ex["pool"]], "needs": needs, "logits": logits,
            "joint": np.array(ex["joint"]["referrals"], float), "coordinate": len(ex["coordinate_with"]),
            "wj": ex["weights"]["joint_partners"], "wm": ex["weights"]["other_members"]}


def holders(pb) -> list[np.ndarray]:
    return [np.flatnonzero(np.isfinite(pb["logits"][:, 1 << n])) for n in range(len(pb["needs"]))]


def assignments_count(pb) -> int:
    return math.prod(len(h) for h in holders(pb))


def softplus_neg(z):
    return np.logaddexp(0.0, -z)


def brute_force_optimum(pb) -> float:
    """min J over every assignment of a holder to each need, vectorised in batches."""
    grid = itertools.product(*holders(pb))
    best = math.inf
    while True:
        batch = np.array(list(itertools.islice(grid, BATCH)), dtype=np.int64)
        if not len(batch):
            return best
        best = min(best, _best_of_batch(pb, batch.reshape(len(batch), -1)))


def _best_of_batch(pb, grid: np.ndarray) -> float:
    """min J over the rows of ``grid`` (A, N): legs, their joint work, J."""
    N, P, Q = len(pb["needs"]), len(pb["logits"]), pb["coordinate"]
    same = grid[:, :, None] == grid[:, None, :]
    first = ~np.tril(same, -1).any(axis=2)
    mask = (same * (1 << np.arange(N))[None, None, :]).sum(axis=2)
    z = pb["logits"][grid, mask]
    pair = pb["joint"][grid[:, :, None], grid[:, None, :]] * (first[:, None, :] & ~same)
    joint = pair.sum(axis=2) + pb["joint"][:P, P:].sum(axis=1)[grid] if Q else pair.sum(axis=2)
    members = first.sum(axis=1, keepdims=True)
    legs = softplus_neg(z + pb["wj"] * np.log1p(joint) + pb["wm"] * (members - 1 + Q))
    return float(np.where(first, legs, 0.0).sum(axis=1).min())


def milp_optimum(pb) -> float:
    """min J by one MILP per bundle size s (scipy.optimize.milp, HiGHS). Binary y[m, S]: member m takes the
    group S as its leg; u[m]: m is in the bundle; every need covered once; s members. A leg's cost
    softplus(-(z + wj ln(1 + J_m) + wm (s - 1 + Q))) is convex in m's joint work J_m = sum_o joint[m, o] u[o]
    + its joint work with the members on the case, so t[m] >= each tangent at J = 0, 1, ..., max, active
    when y[m, S] = 1 (big M): exact at every integer J_m."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    logits, joint, wj, wm = pb["logits"], pb["joint"], pb["wj"], pb["wm"]
    P, size = logits.shape
    N, Q = len(pb["needs"]), pb["coordinate"]
    legs = [(m, g) for m in range(P) for g in range(1, size) if np.isfinite(logits[m, g])]
    on_case = joint[:P, P:].sum(axis=1) if Q else np.zeros(P)
    best = math.inf
    for s in range(1, min(N, P) + 1):
        ny, nu = len(legs), P
        n_var = ny + nu + P  # y | u | t
        c = np.zeros(n_var)
        c[ny + nu:] = 1.0
        rows, lo, hi = [], [], []

        def add(coefs, low, high):
            row = np.zeros(n_var)
            for k, v in coefs.items():
                row[k] += v
            rows.append(row)
            lo.append(low)
            hi.append(high)

        for n in range(N):
            add({k: 1 for k, (m, g) in enumerate(legs) if g >> n & 1}, 1, 1)
        for m in range(P):
            add({**{k: 1 for k, (q, _) in enumerate(legs) if q == m}, ny + m: -1}, 0, 0)
        add({ny + m: 1 for m in range(P)}, s, s)
        for k, (m, g) in enumerate(legs):
            top = int(on_case[m] + joint[m, :P].sum())
            points = range(top + 1) if wj else [0]
            fz = [float(softplus_neg(logits[m, g] + wj * math.log1p(j) + wm * (s - 1 + Q))) for j in points]
            slopes = [float(-wj / (1 + j) * (1 - 1 / (1 + math.exp(-(logits[m, g] + wj * math.log1p(j)
                                                                       + wm * (s - 1 + Q))))))
                      for j in points]
            big = max(f - j * d for f, d, j in zip(fz, slopes, points)) + 1.0
            for j, f, d in zip(points, fz, slopes):
                # t[m] >= f + d * (on_case + sum_o joint u_o - j) - big * (1 - y)
                coefs = {ny + nu + m: 1.0, k: -big}
                for o in range(P):
                    if o != m and joint[m, o]:
                        coefs[ny + o] = coefs.get(ny + o, 0.0) - d * joint[m, o]
                add(coefs, f + d * (on_case[m] - j) - big, np.inf)
        lower, upper = np.zeros(n_var), np.ones(n_var)
        upper[ny + nu:] = np.inf
        integrality = np.ones(n_var)
        integrality[ny + nu:] = 0
        res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=integrality,
                   bounds=Bounds(lower, upper), options={"mip_rel_gap": 1e-9, "time_limit": 120})
        if res.success:
            best = min(best, float(res.fun))
    return best


# -- the sections ---------------------------------------------------------------------------------------


def optimality(snapshot, cases) -> dict:
    stats = {"cases": 0, "equal": 0, "gaps": [], "engine_s": [], "check_s": [], "by": {"brute force": 0, "MILP": 0},
             "certified": 0}
    for body in cases:
        t = time.perf_counter()
        result = match(snapshot, {**body, "explain": True, "top_k": 1})
        stats["engine_s"].append(time.perf_counter() - t)
        if not result.bundles:
            continue
        pb = pool_problem(result)
        t = time.perf_counter()
        if assignments_count(pb) <= BRUTE_FORCE_LIMIT:
            best, how = brute_force_optimum(pb), "brute force"
        else:
            best, how = milp_optimum(pb), "MILP"
        stats["check_s"].append(time.perf_counter() - t)
        stats["by"][how] += 1
        J = result.bundles[0].objective
        stats["cases"] += 1
        stats["equal"] += abs(J - best) <= 1e-5 * max(1.0, best)
        stats["gaps"].append(max(J - best, 0.0) / max(best, 1e-9))
        stats["certified"] += result.certificate["best_is_network_optimal"]
    return stats


def pool_rule_loss(snapshot, cases, growth=3) -> dict:
    """How much a pool ``growth`` times larger improves the best J (the price of the pool rule)."""
    bigger = snapshot.with_loads(snapshot.load, snapshot.month_load, search=snapshot.search.scaled(growth))
    base = [match(snapshot, {**c, "top_k": 1}).bundles for c in cases]
    big = [match(bigger, {**c, "top_k": 1}).bundles for c in cases]
    gaps = [(a[0].objective - b[0].objective) / max(b[0].objective, 1e-9) for a, b in zip(base, big) if a and b]
    return {"cases": len(gaps), "same": sum(g <= 1e-9 for g in gaps), "mean_gap": statistics.fmean(gaps),
            "worst_gap": max(gaps)}


def latency(snapshot, cases) -> dict:
    for body in cases[:100]:  # warm the caches as a running service would be
        match(snapshot, body)
    wall, cpu = [], []
    for body in cases:
        t, c = time.perf_counter(), time.process_time()
        match(snapshot, body)
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
            "total_objective", "mean_objective", "mean_success_chance", "cases_fully_covered", "case_needs_unserved",
            "members_over_capacity",
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
           "certified_network_optimal": stats["certified"] / max(stats["cases"], 1)}
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
    print(f"2. latency over {lat['n']} matches (top 3, warm): wall p50 {lat['wall_p50']:.2f} ms, p99 "
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
    print(f"\n3. batch allocation of {alloc['cases']:,} cases ({alloc['case_needs']:,} case-needs) on the national network")
    print("   method            seconds   total J   mean J  mean chance  fully covered  unserved  over capacity "
          "(members/legs)  idle")
    for name in ("joint", "one_at_a_time", "each_alone"):
        a = alloc[name]
        print(f"   {name:16s} {a['seconds']:8.1f} {a['total_objective']:9.0f} {a['mean_objective']:8.3f} "
              f"{a['mean_success_chance']:11.3f} "
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
