"""Load benchmark with every write: match throughput and latency while referrals are created, legs accepted,
completed and declined at stated rates, beside a no-write baseline measured in the same run.

    .venv/bin/python bench/bench_writes.py --database /tmp/national.db --workers 2 --seconds 20 \\
        --creations 4 --finished 1 --accepts 1

Starts the production command (gunicorn, ``--preload`` with the warm start unless ``--no-preload``) over a
copy of ``--database`` on a loopback port (``--port``), then runs three phases of ``--seconds`` each: matches
only (baseline), matches with the writes, matches only again (the baseline is the mean of the two). Matches
come from wrk (Debian package; ``bench/match.lua``, ``--connections``) when installed, else from Python
clients. The writes come from one client thread on a fixed schedule per second: ``--creations`` referrals
(each from a match's best bundle), ``--accepts`` legs accepted, and ``--finished`` legs finished, alternately
completed (accepted, in progress, completed) and declined. Prints JSON with both phases, their ratio, each
write's latency and errors, the service's memory (PSS of master and workers, /proc) and the load average.
Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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

from bench.service import create_key, running_service  # noqa: E402

LUA = Path(__file__).resolve().parent / "match.lua"
NEED_SETS = [["gmp_haccp", "fda_registration"], ["loan", "credit_guarantee"], ["branding", "online_marketing"],
             ["shelf_life", "packaging_design", "fda_registration"], ["process_improvement"],
             ["rnd_product", "ip_protection", "branding", "loan"]]
PROVINCES = ["TH-50", "Khon Kaen", "TH-90", "Ubon Ratchathani", "TH-20", "Phitsanulok"]


class Client:
    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, key=None):
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, repr(exc).encode()


def matches_with_wrk(url: str, connections: int, seconds: float) -> dict:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "--latency",
                          "-s", str(LUA), url], capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK_JSON "))
    r = json.loads(line[len("WRK_JSON "):])
    return {"per_second": round(r["requests"] / r["seconds"], 1), "p50_ms": round(r["p50_ms"], 2),
            "p99_ms": round(r["p99_ms"], 2), "requests": r["requests"], "errors": r["non_2xx"] + r["socket_errors"]}


def matches_with_python(port: int, connections: int, seconds: float) -> dict:
    lat, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def run(i):
        rng, client, mine, bad = random.Random(i), Client(port), [], 0
        while time.monotonic() < stop:
            t = time.perf_counter()
            status, _ = client.call("POST", "/api/v1/match", {"needs": rng.choice(NEED_SETS),
                                                             "province": rng.choice(PROVINCES), "top_k": 3})
            mine.append(time.perf_counter() - t)
            bad += status != 200
        with lock:
            lat.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = np.array(lat) * 1000
    return {"per_second": round(len(lat) / seconds, 1), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "requests": len(lat), "errors": errors[0]}


class Writer(threading.Thread):
    """Writes on a fixed schedule: each second ``creations`` referrals, ``accepts`` legs accepted and
    ``finished`` legs finished (completed and declined in turn)."""

    def __init__(self, port, keys, creations, accepts, finished, seconds):
        super().__init__()
        self.client, self.keys = Client(port), keys
        self.rates = {"create": creations, "accept": accepts, "finish": finished}
        self.seconds = seconds
        self.rng = random.Random(11)
        self.sent: list[tuple[int, int]] = []  # (referral, leg) in state sent
        self.latency, self.errors, self.samples = defaultdict(list), defaultdict(int), {}
        self.turn = 0

    def timed(self, name, method, path, body, key):
        t = time.perf_counter()
        status, data = self.client.call(method, path, body, key)
        self.latency[name].append(time.perf_counter() - t)
        if status not in (200, 201):
            self.errors[name] += 1
            self.samples.setdefault(f"{name} {status}", data[:300].decode(errors="replace"))
        return status, data

    def create(self):
        province = self.rng.choice(PROVINCES)
        status, data = self.client.call("POST", "/api/v1/match", {"needs": self.rng.choice(NEED_SETS),
                                                                  "province": province})
        bundles = json.loads(data).get("bundles") if status == 200 else None
        if not bundles:
            return
        body = {"enterprise": {"name": f"Load test enterprise {self.rng.random():.6f} (synthetic)",
                               "province": province, "sector": "food"},
                "needs": list(bundles[0]["assignment"]), "assignment": bundles[0]["assignment"],
                "consent": {"given": True, "by": "Load Test", "at": "2026-11-22T10:00:00+07:00",
                            "scope": "share_contact_with_bundle_members"}}
        status, data = self.timed("create", "POST", "/api/v1/referrals", body, self.keys["desk"])
        if status == 201:
            made = json.loads(data)
            self.sent.extend((made["id"], leg["id"]) for leg in made["legs"] if leg["status"] == "sent")

    def move(self, name, referral_id, leg_id, body):
        return self.timed(name, "POST", f"/api/v1/referrals/{referral_id}/legs/{leg_id}", body, self.keys["admin"])

    def accept(self):
        if self.sent:
            self.move("accept", *self.sent.pop(self.rng.randrange(len(self.sent))), {"status": "accepted"})

    def finish(self):
        if not self.sent:
            return
        referral_id, leg_id = self.sent.pop(self.rng.randrange(len(self.sent)))
        self.turn += 1
        if self.turn % 2:
            self.move("decline", referral_id, leg_id, {"status": "declined", "reason": "no_capacity"})
            return
        self.move("accept", referral_id, leg_id, {"status": "accepted"})
        self.move("start", referral_id, leg_id, {"status": "in_progress"})
        self.move("complete", referral_id, leg_id, {"status": "completed", "value_baht": 20000.0,
                                                     "note": "Load test: completed (synthetic)"})

    def run(self):
        start = time.monotonic()
        for second in range(int(self.seconds)):
            jobs = ([self.create] * self.rates["create"] + [self.accept] * self.rates["accept"]
                    + [self.finish] * self.rates["finish"])
            self.rng.shuffle(jobs)
            for k, job in enumerate(jobs):
                due = start + second + k / max(len(jobs), 1)
                time.sleep(max(0.0, due - time.monotonic()))
                job()
        self.done = time.monotonic() - start

    def summary(self) -> dict:
        out = {}
        for name, values in sorted(self.latency.items()):
            ms = np.array(values) * 1000
            out[name] = {"count": len(values), "per_second": round(len(values) / self.done, 2),
                         "p50_ms": round(float(np.percentile(ms, 50)), 1),
                         "p99_ms": round(float(np.percentile(ms, 99)), 1), "errors": self.errors.get(name, 0)}
        return {"operations": out, "error_samples": self.samples}


def pss_mb(root_pid: int) -> dict:
    """Proportional set size (MB) of the gunicorn master and its workers: shared pages counted once."""
    pids = [root_pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(root_pid)], capture_output=True,
                                                        text=True).stdout.split()]
    out = {}
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    out[pid] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return {"processes": len(out), "total_pss_mb": round(sum(out.values()), 1),
            "per_process_mb": [round(v, 1) for v in out.values()]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, type=Path, help="a generated network (copied, never written)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--creations", type=int, default=4, help="referrals created per second")
    parser.add_argument("--accepts", type=int, default=1, help="legs accepted per second")
    parser.add_argument("--finished", type=int, default=1, help="legs finished per second (completed, declined)")
    parser.add_argument("--port", type=int, default=5710)
    parser.add_argument("--no-preload", action="store_true", help="each worker builds its own snapshot")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="rismep-writes-"))
    try:
        db = tmp / "rismep.db"
        shutil.copyfile(args.database, db)
        keys = {"desk": create_key(db, "desk", "--desk", "load-desk"), "admin": create_key(db, "admin")}
        options = {} if args.no_preload else {"args": ["--preload"], "env": {"RISMEP_WARM_START": "1"}}
        loads = [os.getloadavg()[0]]
        with running_service(db, workers=args.workers, port=args.port, **options) as svc:
            drive = (lambda s: matches_with_wrk(svc.url, args.connections, s)) if shutil.which("wrk") else \
                (lambda s: matches_with_python(svc.port, args.connections, s))
            drive(3)  # every worker warm
            memory_warm = pss_mb(svc.proc.pid)
            before = drive(args.seconds)
            writer = Writer(svc.port, keys, args.creations, args.accepts, args.finished, args.seconds)
            writer.start()
            mixed = drive(args.seconds)
            writer.join()
            after = drive(args.seconds)
            memory_end = pss_mb(svc.proc.pid)
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = (before["per_second"] + after["per_second"]) / 2
    report = {"database": str(args.database), "workers": args.workers, "preload": not args.no_preload,
              "connections": args.connections, "seconds_per_phase": args.seconds,
              "match_driver": "wrk" if shutil.which("wrk") else "python",
              "write_rates_per_second": {"creations": args.creations, "accepts": args.accepts,
                                         "finished": args.finished},
              "baseline_no_writes": {"before": before, "after": after},
              "with_writes": mixed, "throughput_ratio": round(mixed["per_second"] / base, 3) if base else None,
              "writes": writer.summary(), "memory": {"warm": memory_warm, "end": memory_end},
              "load_average_1min": {"start": round(loads[0], 2), "end": round(loads[-1], 2)}}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    errors = mixed["errors"] + before["errors"] + after["errors"] + sum(writer.errors.values())
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
