"""In-process match latency as the network grows and the needs multiply: p50 / p99 per match (wall and CPU)
for 1-6 needs and for 7-8 needs, with the compiled search kernel beside the Python search on the same cases
in the same run, and the snapshot's build time.

    .venv/bin/python bench/bench_scale.py --database /tmp/national.db --cases 300
    .venv/bin/python bench/bench_scale.py --database /tmp/national10.db --cases 300   # --scale national10

The scorer is the one stored in the database (``flask --app api train-scorer``), else the hand-set prior (the
output says which). The database is opened read-only in spirit: nothing is written. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import DATA_DIR  # noqa: E402
from bench_engine import random_cases  # noqa: E402
from matcher.engine import bundles, matching  # noqa: E402
from matcher.engine.request import MatchRequest  # noqa: E402
from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.store import open_db  # noqa: E402


def latency(snapshot, cases) -> dict:
    wall, cpu, J = [], [], 0.0
    for body in cases[:20]:  # warm the caches as a running service would be
        matching.match(snapshot, MatchRequest.parse(snapshot, {**body, "top_k": 3}))
    for body in cases:
        t, c = time.perf_counter(), time.process_time()
        result = matching.match(snapshot, MatchRequest.parse(snapshot, {**body, "top_k": 3}))
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        J += result.bundles[0].objective if result.bundles else 0.0
    return {"cases": len(cases), "wall_p50_ms": round(float(np.percentile(wall, 50)), 2),
            "wall_p99_ms": round(float(np.percentile(wall, 99)), 2),
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2), "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 2),
            "sum_of_best_J": round(J, 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--cases", type=int, default=300, help="cases of 1-6 needs (a third as many of 7-8)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-python", action="store_true", help="skip the Python search's baseline")
    args = parser.parse_args()
    db = open_db(args.database)
    ref = load_reference(DATA_DIR)
    t = time.perf_counter()
    snap = build_snapshot(db, ref)
    build = time.perf_counter() - t
    db.close()
    kernel = bundles.kernel
    out = {"database": args.database, "members": snap.number_of_members, "scorer": snap.scorer.kind,
           "snapshot_build_s": round(build, 2)}
    for label, sizes, n in (("needs_1_6", (1, 2, 3, 4, 5, 6), args.cases), ("needs_7_8", (7, 8), max(args.cases // 3, 20))):
        cases = random_cases(snap, n, args.seed, sizes=sizes)
        bundles.kernel = kernel
        out[label] = {"compiled": latency(snap, cases)}
        if not args.no_python:
            bundles.kernel = None
            out[label]["python_search_same_cases"] = latency(snap, cases)
            bundles.kernel = kernel
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
