"""Limits under attack, against the production command (gunicorn, 4 workers, no secret configured):

    .venv/bin/python bench/bench_limits.py

1. Made-up API keys: the workers' memory (RSS) before and after 20,000 requests, each with a key nobody
   issued (unknown-key limit raised so every one is looked up and answers 401, as in an attack spread over
   many addresses); the rate-limit counters left in the store.
2. A sign-in flood: the median and p99 of ``POST /api/v1/match`` from one client, first alone (the baseline,
   same run), then while 8 clients post random usernames to the desk's sign-in for 25 s; the sign-in answers
   by status (a 401 costs a password hash, a 429 does not).
3. Wrong passwords for one account from one address, spread over the 4 workers: how many are checked before
   the first 429 (the limit is per service, not per worker).
Each phase runs on a fresh copy of the demo database. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import Service  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
MATCH = {"needs": ["gmp_haccp", "loan"], "province": "TH-50", "top_k": 3}


def workers_rss_mb(master_pid: int) -> list[float]:
    """Resident memory of each gunicorn worker (children of the master), in MB."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    out = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        out.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return sorted(out)


def made_up_keys(port: int, count: int, threads: int = 4) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()

    def client(n: int, seed: int):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(n):
            key = "rk_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(43))
            conn.request("GET", "/api/v1/referrals", headers={"Authorization": f"Bearer {key}"})
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        conn.close()

    pool = [threading.Thread(target=client, args=(count // threads, i)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return statuses


def phase_memory(database: Path, count: int) -> dict:
    svc = Service(database, workers=4, secret_key=None, env={"RISMEP_BAD_KEY_LIMIT": "100000000"}).start()
    try:
        made_up_keys(svc.port, 400)  # every worker serves a few first: their start-up allocations are done
        before = workers_rss_mb(svc.proc.pid)
        statuses = made_up_keys(svc.port, count)
        after = workers_rss_mb(svc.proc.pid)
    finally:
        svc.stop()
    import sqlite3
    rows = sqlite3.connect(database).execute("SELECT count(*) FROM rate_counts").fetchone()[0]
    return {"requests": sum(statuses.values()), "statuses": dict(statuses), "rss_before_mb": before,
            "rss_after_mb": after, "growth_mb": round(sum(after) - sum(before), 1), "counter_rows": rows}


def match_latencies(port: int, seconds: float) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body, out, end = json.dumps(MATCH), [], time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        conn.request("POST", "/api/v1/match", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        out.append((time.perf_counter() - start) * 1000)
    conn.close()
    return out


def sign_in_flood(port: int, stop: threading.Event, statuses: Counter, lock: threading.Lock, seed: int) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/desk/signin")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = TOKEN.search(page).group(1)
    while not stop.is_set():
        form = urllib.parse.urlencode({"username": f"user{rng.randrange(10 ** 9)}", "password": "guess-123456",
                                       "csrf_token": token})
        conn.request("POST", "/desk/signin", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        response = conn.getresponse()
        response.read()
        with lock:
            statuses[response.status] += 1
    conn.close()


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1)}


def phase_flood(database: Path, clients: int, seconds: float) -> dict:
    svc = Service(database, workers=4, secret_key=None).start()
    try:
        match_latencies(svc.port, 3)  # warm every worker's snapshot
        baseline = summary(match_latencies(svc.port, 10))
        stop, lock, statuses = threading.Event(), threading.Lock(), Counter()
        flood = [threading.Thread(target=sign_in_flood, args=(svc.port, stop, statuses, lock, i))
                 for i in range(clients)]
        for t in flood:
            t.start()
        during = summary(match_latencies(svc.port, seconds))
        stop.set()
        for t in flood:
            t.join()
    finally:
        svc.stop()
    return {"baseline": baseline, "during_flood": during, "sign_in_statuses": dict(statuses),
            "password_hashes": statuses.get(401, 0)}


def phase_wrong_passwords(database: Path, attempts: int = 40) -> dict:
    svc = Service(database, workers=4, secret_key=None).start()
    outcomes = []
    try:
        for _ in range(attempts):  # a new connection each time: gunicorn hands them to any worker
            conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=30)
            conn.request("GET", "/desk/signin")
            response = conn.getresponse()
            token = TOKEN.search(response.read().decode()).group(1)
            cookie = response.getheader("Set-Cookie").split(";", 1)[0]
            form = urllib.parse.urlencode({"username": "demo-desk", "password": "wrong-password",
                                           "csrf_token": token})
            conn.request("POST", "/desk/signin", body=form, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            response = conn.getresponse()
            response.read()
            outcomes.append(response.status)
            conn.close()
    finally:
        svc.stop()
    return {"attempts": attempts, "checked_before_first_429": outcomes.index(429) if 429 in outcomes else attempts,
            "statuses": dict(Counter(outcomes))}


def fresh_copy(template: Path, workdir: Path, name: str) -> Path:
    path = workdir / f"{name}.db"
    shutil.copy(template, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=25)
    args = parser.parse_args()
    from api import DATA_DIR
    from matcher import accounts
    from matcher.reference import load_reference
    from matcher.store import open_db
    from matcher.synthetic.dataset import ensure_database
    workdir = Path(tempfile.mkdtemp(prefix="rismep-limits-"))
    template = workdir / "demo.db"
    ensure_database(template, load_reference(DATA_DIR))
    db = open_db(template)
    accounts.create_demo_accounts(db)
    db.close()
    memory = phase_memory(fresh_copy(template, workdir, "memory"), args.keys)
    print(f"made-up keys: {memory['requests']:,} requests {memory['statuses']}; worker RSS (MB) before "
          f"{memory['rss_before_mb']} after {memory['rss_after_mb']}: growth {memory['growth_mb']} MB over 4 "
          f"workers; counter rows in the store: {memory['counter_rows']}")
    flood = phase_flood(fresh_copy(template, workdir, "flood"), args.clients, args.seconds)
    b, d = flood["baseline"], flood["during_flood"]
    print(f"match alone (baseline): p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms over {b['requests']} requests")
    print(f"match during a {args.clients}-client sign-in flood: p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms over "
          f"{d['requests']} requests ({d['p50_ms'] / b['p50_ms']:.1f}x the baseline p50); sign-ins "
          f"{flood['sign_in_statuses']} ({flood['password_hashes']} password hashes)")
    wrong = phase_wrong_passwords(fresh_copy(template, workdir, "wrong"))
    print(f"wrong passwords for one account from one address over 4 workers: {wrong['checked_before_first_429']} "
          f"checked before the first 429 ({wrong['statuses']})")
    print(json.dumps({"memory": memory, "flood": flood, "wrong_passwords": wrong}))


if __name__ == "__main__":
    main()
