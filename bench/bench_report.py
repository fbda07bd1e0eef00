"""Benchmark the network report and check the rollout planner against the exact optimum.

Usage (from the project folder):

    .venv/bin/python bench/bench_report.py                      # demo, plus national if --national given
    .venv/bin/python bench/bench_report.py --national /tmp/nat.db

``--national PATH`` is a network made by ``flask --app api generate PATH --scale national``; it is copied
to a temporary file first (never written). Prints, for each network: the time of every report step, the
whole report in-process and the ``flask --app api report`` command end to end (the target on the national
network is under 30 s on 2 cores), with ratios against the demo measured in the same run. Then the rollout
plans from the demo's 16 live provinces to 22, 44 and 77, greedy against the exact optimum (MILP), and the
stability of sampled betweenness (top-10 brokers across seeds, and against exact betweenness with
``--exact-betweenness``, which takes minutes on the national network).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphs import centrality, rollout  # noqa: E402
from graphs.network import collaboration_graph  # noqa: E402
from api import DATA_DIR  # noqa: E402
from matcher.synthetic import budgets, report  # noqa: E402
from matcher.analysis import network as analysis  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.store import directory, history, open_db  # noqa: E402


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def report_times(path: Path, ref) -> dict:
    """Seconds per report step (in-process), the whole report, and the CLI command end to end, as wall
    time and as CPU time (user + system; on a busy shared machine the CPU time is what an idle one would
    take, the wall time includes waiting for a core)."""
    db = open_db(path)
    budgets.seed_synthetic_budgets(db)
    snapshot, t_snapshot = timed(build_snapshot, db, ref)
    marks, last = {}, [time.perf_counter()]

    def tick(label):
        now = time.perf_counter()
        marks[label] = now - last[0]
        last[0] = now

    cpu = time.process_time()
    (html, data), t_report = timed(report.build_report, db, ref, snapshot, tick)
    cpu_report = time.process_time() - cpu
    db.close()
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, RISMEP_DATABASE=str(path), RISMEP_SECRET_KEY="bench")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "api", "report", "--out", out, "--quiet"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_command = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_command = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"snapshot": t_snapshot, "steps": marks, "report": t_report, "report_cpu": cpu_report,
            "command": t_command, "command_cpu": cpu_command, "html_kb": len(html.encode()) / 1024,
            "members": data["network"]["graph"]["members"],
            "collaborations": data["network"]["graph"]["collaborations"]}


def print_report_times(results: dict) -> None:
    names = list(results)
    print(f"\n== report time (seconds; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f})")
    print(f"{'step (wall)':42}" + "".join(f"{n:>12}" for n in names) + ("       ratio" if len(names) > 1 else ""))
    rows = [(label, [results[n]["steps"].get(label, 0.0) for n in names]) for label in report.REPORT_STEPS]
    rows += [("whole report, in-process (wall)", [results[n]["report"] for n in names]),
             ("whole report, in-process (CPU)", [results[n]["report_cpu"] for n in names]),
             ("snapshot (the command builds it first)", [results[n]["snapshot"] for n in names]),
             ("flask --app api report, end to end (wall)", [results[n]["command"] for n in names]),
             ("flask --app api report, end to end (CPU)", [results[n]["command_cpu"] for n in names])]
    for label, values in rows:
        ratio = f"{values[-1] / values[0]:12.1f}x" if len(values) > 1 and values[0] > 0 else ""
        print(f"{label:42}" + "".join(f"{v:12.2f}" for v in values) + ratio)
    for n in names:
        r = results[n]
        print(f"{n}: {r['members']:,} members, {r['collaborations']:,} collaborating pairs, "
              f"HTML {r['html_kb']:,.0f} KB")


def exact_rollout(demand: dict, near: dict, live: set, k: int, alpha: float) -> tuple[float, list, float]:
    """The optimum of graphs.rollout's objective for k new provinces, as a MILP solved by SCIP (OR-Tools):
    (value, chosen, seconds). y_p = 1 when p is live; h_p = 1 when p is served from a live neighbour."""
    from ortools.linear_solver import pywraplp
    start = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver("SCIP")
    y = {p: 1 if p in live else solver.BoolVar(f"y_{p}") for p in near}
    h = {p: solver.NumVar(0.0, 1.0, f"h_{p}") for p in near}
    for p in near:
        solver.Add(h[p] + y[p] <= 1)
        solver.Add(h[p] <= sum(y[q] for q in near[p]) if near[p] else h[p] <= 0)
    solver.Add(sum(y[p] for p in near if p not in live) == k)
    solver.Maximize(sum(demand[p] * y[p] + alpha * demand[p] * h[p] for p in near))
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        raise RuntimeError("the MILP solver did not prove optimality")
    chosen = [p for p in near if p not in live and y[p].solution_value() > 0.5]
    value = rollout.objective(live | set(chosen), demand, near, alpha)
    return value, chosen, time.perf_counter() - start


def print_rollout_comparison(path: Path, ref) -> None:
    db = open_db(path)
    provinces = directory.provinces(db)
    live = {p["code"] for p in provinces if p["live_since"]}
    demand, _ = analysis.demand_weights(db, provinces)
    db.close()
    near = rollout.neighbours(provinces, rollout.RADIUS_KM)
    alpha = rollout.ALPHA
    before = rollout.objective(live, demand, near, alpha)
    print(f"\n== rollout from {len(live)} live provinces: greedy against the exact optimum (MILP)")
    print(f"{'target':>6} {'greedy gain':>12} {'exact gain':>11} {'greedy/exact':>13} {'certified':>10} "
          f"{'greedy s':>9} {'exact s':>8} {'speed-up':>9}  same set")
    for target in (22, 44, 77):
        k = target - len(live)
        steps, t_greedy = timed(rollout.greedy_plan, demand, near, live, k, alpha=alpha)
        chosen = [s["province"] for s in steps]
        greedy = rollout.objective(live | set(chosen), demand, near, alpha)
        bound = rollout.upper_bound(chosen, demand, near, live, k, alpha=alpha)
        best, best_set, t_exact = exact_rollout(demand, near, live, k, alpha)
        ratio = (greedy - before) / (best - before) if best > before else 1.0
        print(f"{target:>6} {greedy - before:>12.2f} {best - before:>11.2f} {ratio:>13.4f} "
              f"{rollout.quality(before, greedy, bound):>10.4f} {t_greedy:>9.3f} {t_exact:>8.3f} "
              f"{t_exact / max(t_greedy, 1e-9):>8.0f}x  {set(best_set) == set(chosen)}")
    print(f"(a-priori guarantee of greedy: {1 - 1 / math.e:.4f}; 'certified' is the bound the API reports)")


def print_betweenness_stability(path: Path, exact: bool) -> None:
    db = open_db(path)
    members = directory.all_members(db)
    G = collaboration_graph([m["id"] for m in members], history.collaborations(db))
    db.close()
    pivots = centrality.BETWEENNESS_PIVOTS
    tops, seconds = [], []
    for seed in range(3):
        (scores, _), t = timed(centrality.betweenness, G, pivots=pivots, seed=seed)
        tops.append({b["member"] for b in centrality.brokers(G, 10, scores=scores)})
        seconds.append(t)
    overlap = min(len(tops[0] & t) for t in tops[1:])
    print(f"\n== brokers on {G.number_of_nodes():,} members: betweenness from {pivots} sampled sources, "
          f"{sum(seconds) / 3:.2f} s each; top-10 shared across 3 seeds: at least {overlap}/10")
    if exact:
        (scores, _), t = timed(centrality.betweenness, G, pivots=G.number_of_nodes())
        top = {b["member"] for b in centrality.brokers(G, 10, scores=scores)}
        print(f"exact betweenness: {t:.1f} s ({t / (sum(seconds) / 3):.0f}x the sampled one); "
              f"sampled top 10 shares {min(len(top & s) for s in tops)}-{max(len(top & s) for s in tops)}/10 "
              "with the exact top 10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--national", type=Path, help="a national network made by `generate --scale national`")
    parser.add_argument("--exact-betweenness", action="store_true", help="also compute exact betweenness")
    args = parser.parse_args()
    ref = load_reference(DATA_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo.db"
        ensure_database(demo, load_reference(DATA_DIR))
        results = {"demo": report_times(demo, ref)}
        if args.national:
            national = Path(tmp) / "national.db"
            shutil.copy(args.national, national)
            results["national"] = report_times(national, ref)
        print_report_times(results)
        print_rollout_comparison(demo, ref)
        print_betweenness_stability(national if args.national else demo, args.exact_betweenness)


if __name__ == "__main__":
    main()
