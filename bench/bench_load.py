"""Load benchmark: mixed traffic against the production command (gunicorn) on loopback.

    .venv/bin/python bench/bench_load.py --seconds 60 --clients 16

Starts ``gunicorn api:create_app()`` over a fresh copy of the demo database, measures a one-client
baseline of matches, then runs ``--clients`` concurrent clients for ``--seconds`` with a mix of matches,
directory reads, referral creation and leg updates (accepted, declined, started, completed: every write of a
leg's life; ``bench/bench_writes.py`` runs the writes at stated rates beside a no-write baseline). Prints throughput, p50/p99 latency per operation and
the error count, then checks that every acknowledged write is present and counted. When ``wrk`` (Debian
package) is installed it also measures match-only throughput with 16 connections from a C client, whose
own CPU use is small next to the Python clients'. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import create_key, request, running_service  # noqa: E402
from api import DATA_DIR  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402

NEED_SETS = [["gmp_haccp", "fda_registration"], ["loan", "credit_guarantee"], ["branding", "online_marketing"],
             ["shelf_life", "packaging_design", "fda_registration"], ["process_improvement"],
             ["rnd_product", "ip_protection", "branding", "loan"]]
PROVINCES = ["TH-50", "เชียงใหม่", "Khon Kaen", "TH-90", "Ubon Ratchathani", "TH-20", "Phitsanulok"]
MIX = [("match", 0.6), ("directory", 0.25), ("create_referral", 0.1), ("update_leg", 0.05)]


class Client:
    def __init__(self, port: int, keys: dict):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.keys = keys

    def call(self, method, path, body=None, key=None):
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data


def operation(client: Client, name: str, rng: random.Random, state: dict):
    if name == "match":
        return client.call("POST", "/api/v1/match", {"needs": rng.choice(NEED_SETS),
                                                     "province": rng.choice(PROVINCES), "top_k": 3})
    if name == "directory":
        path = rng.choice(["/api/v1/agencies?province=TH-50&limit=20", "/api/v1/consultants?category=branding",
                           "/api/v1/agencies/A0001", "/api/v1/taxonomy"])
        return client.call("GET", path)
    if name == "create_referral":
        return create_referral(client, rng, state)
    return update_leg(client, rng, state)


def create_referral(client, rng, state):
    province = rng.choice(PROVINCES)
    status, data = client.call("POST", "/api/v1/match", {"needs": rng.choice(NEED_SETS), "province": province})
    bundles = json.loads(data)["bundles"]
    if not bundles:  # every member offering a need is at capacity: the network is full, not an error
        with state["lock"]:
            state["no_capacity"] += 1
        return 200, data
    bundle = bundles[0]
    body = {"enterprise": {"name": f"Load test enterprise {rng.random():.6f} (synthetic)", "province": province,
                           "sector": "food", "contact": {"name": "Load Test", "phone": "080-000-0000",
                                                         "email": "load@example.com"}},
            "needs": list(bundle["assignment"]), "assignment": bundle["assignment"],
            "consent": {"given": True, "by": "Load Test", "at": "2026-11-22T10:00:00+07:00",
                        "scope": "share_contact_with_bundle_members"}}
    status, data = client.call("POST", "/api/v1/referrals", body, key=client.keys["desk"])
    if status == 201:
        created = json.loads(data)
        with state["lock"]:
            state["acked"].append(created["id"])
            state["open_legs"].extend((created["id"], leg["id"]) for leg in created["legs"] if leg["status"] == "sent")
    return status, data


NEXT = {"sent": (("accepted", 0.7), ("declined", 0.3)), "accepted": (("in_progress", 1.0),),
        "in_progress": (("completed", 1.0),)}


def update_leg(client, rng, state):
    """One step of a leg's life: a sent leg is accepted (70 %) or declined, an accepted one started, a started
    one completed; the leg goes back to the open list until it is finished."""
    with state["lock"]:
        if not state["open_legs"]:
            return client.call("GET", "/api/v1/health/live")
        referral_id, leg_id, *rest = state["open_legs"].pop(rng.randrange(len(state["open_legs"])))
    current = rest[0] if rest else "sent"
    steps, weights = zip(*NEXT[current])
    to = rng.choices(steps, weights)[0]
    body = {"status": to}
    if to == "declined":
        body["reason"] = "no_capacity"
    if to == "completed":
        body.update(value_baht=20000.0, note="Load test: completed (synthetic)")
    status, data = client.call("POST", f"/api/v1/referrals/{referral_id}/legs/{leg_id}", body,
                               key=client.keys["admin"])
    with state["lock"]:
        if status == 200:
            state["acked_updates"].append((referral_id, leg_id))
            state["moves"][to] += 1
            if to in NEXT:
                state["open_legs"].append((referral_id, leg_id, to))
        else:
            state["open_legs"].append((referral_id, leg_id, current))
    return status, data


def run(port, keys, clients, seconds, mix, seed=0):
    state = {"lock": threading.Lock(), "acked": [], "open_legs": [], "acked_updates": [], "no_capacity": 0,
             "moves": defaultdict(int)}
    latencies, errors = defaultdict(list), defaultdict(int)
    samples = state["error_samples"] = {}
    names, weights = zip(*mix)
    stop = time.monotonic() + seconds

    def worker(i):
        rng = random.Random(seed * 1000 + i)
        client = Client(port, keys)
        local_lat, local_err = defaultdict(list), defaultdict(int)
        while time.monotonic() < stop:
            name = rng.choices(names, weights)[0]
            start = time.perf_counter()
            try:
                status, data = operation(client, name, rng, state)
            except (OSError, http.client.HTTPException, KeyError, IndexError, ValueError) as exc:
                status, data = 0, repr(exc).encode()
                client = Client(port, keys)
            local_lat[name].append(time.perf_counter() - start)
            if status >= 500 or status == 0 or (status >= 400 and name != "directory"):
                local_err[name] += 1
                samples.setdefault(f"{name} {status}", data[:300].decode(errors="replace"))
        with state["lock"]:
            for k, v in local_lat.items():
                latencies[k].extend(v)
            for k, v in local_err.items():
                errors[k] += v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, state


def summarise(latencies, errors, seconds):
    rows = {}
    for name, values in sorted(latencies.items()):
        ms = np.array(values) * 1000
        rows[name] = {"requests": len(values), "per_second": round(len(values) / seconds, 1),
                      "p50_ms": round(float(np.percentile(ms, 50)), 2),
                      "p99_ms": round(float(np.percentile(ms, 99)), 2), "errors": errors.get(name, 0)}
    return rows


def verify(url, keys, state):
    """Every acknowledged referral is there with its legs and events; every acknowledged update stuck."""
    missing, incomplete = [], []
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    for referral_id in state["acked"]:
        status, body = request(f"{url}/api/v1/referrals/{referral_id}", headers=admin)
        if status != 200:
            missing.append(referral_id)
            continue
        status, events = request(f"{url}/api/v1/referrals/{referral_id}/events", headers=admin)
        items = events["items"] if isinstance(events, dict) else events
        if status != 200 or len(items) < len(body["legs"]):
            incomplete.append(referral_id)
    lost_updates = []
    for referral_id, leg_id in state["acked_updates"]:
        status, body = request(f"{url}/api/v1/referrals/{referral_id}", headers=admin)
        leg = next((l for l in body.get("legs", []) if l["id"] == leg_id), None)
        if leg is None or leg["status"] == "sent":
            lost_updates.append(leg_id)
    return {"acknowledged_referrals": len(state["acked"]), "missing": len(missing),
            "incomplete": len(incomplete), "acknowledged_updates": len(state["acked_updates"]),
            "lost_updates": len(lost_updates)}


def match_only_with_wrk(url, connections, seconds):
    """Match-only throughput and latency from wrk (None when wrk is not installed)."""
    if shutil.which("wrk") is None:
        return None
    script = Path(__file__).resolve().parent / "match.lua"
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK_JSON "))
    result = json.loads(line[len("WRK_JSON "):])
    result["per_second"] = round(result["requests"] / result["seconds"], 1)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="rismep-load-"))
    db = tmp / "rismep.db"
    ensure_database(db, load_reference(DATA_DIR))
    keys = {"desk": create_key(db, "desk", "--desk", "load-desk"), "admin": create_key(db, "admin")}
    with running_service(db, workers=args.workers, port=args.port) as svc:
        base_lat, base_err, _ = run(svc.port, keys, 1, args.baseline_seconds, [("match", 1.0)])
        baseline = summarise(base_lat, base_err, args.baseline_seconds)["match"]
        latencies, errors, state = run(svc.port, keys, args.clients, args.seconds, MIX)
        rows = summarise(latencies, errors, args.seconds)
        checks = verify(svc.url, keys, state)
        wrk = match_only_with_wrk(svc.url, args.clients, args.seconds)
    total = sum(r["requests"] for r in rows.values())
    report = {"clients": args.clients, "seconds": args.seconds, "workers": args.workers,
              "baseline_one_client_match": baseline, "operations": rows,
              "total_per_second": round(total / args.seconds, 1),
              "match_throughput_vs_one_client": round(rows["match"]["per_second"] / baseline["per_second"], 2),
              "errors": sum(errors.values()), "referrals_not_sent_network_at_capacity": state["no_capacity"],
              "error_samples": state.get("error_samples", {}), "writes": checks,
              "leg_moves": dict(state["moves"]),
              "match_only_wrk": wrk}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\n{'operation':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in rows.items():
        print(f"{name:<16}{r['per_second']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['errors']:>8}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if report["errors"] == 0 and checks["missing"] == checks["lost_updates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
