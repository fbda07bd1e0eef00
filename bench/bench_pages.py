"""Desk page timings on the synthetic demo network, against the 300 ms budget.

    .venv/bin/python bench/bench_pages.py --runs 30

Builds a fresh demo database with the DEMO accounts, warms the app (snapshot, intake model) and times
every desk page through the Flask test client: the server's own time for the whole request (routing,
session, engine calls, template), not the network or the browser. A baseline measured in the same run,
``GET /api/v1/health``, shows what the machine gives a trivial request now. Prints p50 / p95 / max per
page in ms, the ratio of p50 to the baseline and whether p95 is within the budget. Cold figures (the first
call after start: the intake model loads, the network analyses are computed) are printed separately.
Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import DATA_DIR  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher import accounts  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402
from matcher.store import open_db  # noqa: E402
from matcher.store.sessions import start_session  # noqa: E402

BUDGET_MS = 300.0
TOKEN = "bench-token"
TEXT = "ขนมเปี๊ยะขึ้นราภายใน 3 วัน อยากได้ อย. ด้วย และต้องการเงินทุนหมุนเวียน อยู่เชียงใหม่"
CASE = {"enterprise_name": "ร้านขนมเปี๊ยะ (สมมติ)", "contact_name": "ศรี ใจดี", "contact_phone": "081-234-5678",
        "contact_email": "", "province": "TH-50", "sector": "food", "cluster": "", "text": TEXT,
        "csrf_token": TOKEN}
NEEDS = ["shelf_life", "fda_registration", "loan"]


def client_for(app, db, username: str | None):
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = TOKEN
        if username:  # a session in the store, as signing in makes one
            uid = db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()[0]
            session["sid"] = start_session(db, uid, lifetime=timedelta(hours=12), idle=timedelta(hours=1))
    return client


def timed(call, expected=(200, 302)) -> tuple[float, object]:
    start = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code in expected, (response.status_code, response.get_data(as_text=True)[:500])
    return elapsed, response


def measure(call, runs: int, expected=(200, 302)) -> list[float]:
    return [timed(call, expected)[0] for _ in range(runs)]


def assignment_of(html: str) -> dict:
    form = re.search(r'<form method="post" action="/desk/cases/consent">(.*?)</form>', html, re.S).group(1)
    return dict(re.findall(r'name="(assign\.[a-z_]+)" value="([A-Z0-9]+)"', form))


def step_page(response) -> str:
    """The address a case step redirects to (POST-redirect-GET)."""
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:500])
    return response.location


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="requests per page (default 30)")
    args = parser.parse_args()
    runs = args.runs
    from api import create_app
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        ensure_database(path, load_reference(DATA_DIR))
        db = open_db(path)
        accounts.create_demo_accounts(db)
        app = create_app({"DATABASE": str(path), "SECRET_KEY": "bench-only"})
        desk, analyst = client_for(app, db, "demo-desk"), client_for(app, db, "demo-analyst")
        anonymous = client_for(app, db, None)
        cold, results = {}, {}

        cold["first request (snapshot)"] = timed(lambda: anonymous.get("/api/v1/health"))[0]
        cold["needs, first (intake model loads)"] = timed(lambda: desk.post("/desk/cases/needs", data=CASE),
                                                          expected=(303,))[0]
        cold["dashboard, first (network analyses)"] = timed(lambda: analyst.get("/desk/dashboard"))[0]
        cold["directory, first"] = timed(lambda: desk.get("/desk/directory"))[0]
        results["baseline GET /api/v1/health"] = measure(lambda: anonymous.get("/api/v1/health"), runs)

        bundles_form = {**CASE, "needs": NEEDS, "needs_chosen": "1"}
        needs_url = step_page(desk.post("/desk/cases/needs", data=CASE))
        bundles_url = step_page(desk.post("/desk/cases/bundles", data=bundles_form))
        html = desk.get(bundles_url).get_data(as_text=True)
        consent_form = {**CASE, "needs": NEEDS, "rank": "1", **assignment_of(html)}
        consent_url = step_page(desk.post("/desk/cases/consent", data=consent_form))
        results["sign-in page"] = measure(lambda: anonymous.get("/desk/signin"), runs)
        results["1 new case"] = measure(lambda: desk.get("/desk/cases/new"), runs)
        results["2 send step 1 (classify, save draft)"] = measure(lambda: desk.post("/desk/cases/needs", data=CASE),
                                                                  runs, expected=(303,))
        results["2 needs page (GET; reload)"] = measure(lambda: desk.get(needs_url), runs)
        results["3 send step 2 (save draft)"] = measure(lambda: desk.post("/desk/cases/bundles", data=bundles_form),
                                                        runs, expected=(303,))
        results["3 recommendations page (match)"] = measure(lambda: desk.get(bundles_url), runs)
        results["4 send step 3 (save draft)"] = measure(lambda: desk.post("/desk/cases/consent", data=consent_form),
                                                        runs, expected=(303,))
        results["4 consent page"] = measure(lambda: desk.get(consent_url), runs)

        sent, referral_ids = [], []
        for i in range(runs):
            form = {**consent_form, "consent": "yes", "consent_by": "ศรี ใจดี", "idempotency_key": f"{i:032x}"}
            ms, response = timed(lambda: desk.post("/desk/cases/send", data=form))
            sent.append(ms)
            referral_ids.append(int(response.location.rsplit("/", 1)[1]))
        results["5 send (creates the referral)"] = sent
        first = referral_ids[0]
        results["referral page (desk)"] = measure(lambda: desk.get(f"/desk/referrals/{first}"), runs)
        results["referrals list (desk)"] = measure(lambda: desk.get("/desk/referrals"), runs)
        results["referrals list (desk, need + province + text)"] = measure(
            lambda: desk.get("/desk/referrals?need=loan&province=TH-50&q=%E0%B8%82%E0%B8%99%E0%B8%A1"), runs)

        legs = [db.execute("SELECT id, member_id FROM referral_legs WHERE referral_id = ? ORDER BY id LIMIT 1",
                           [r]).fetchone() for r in referral_ids]
        member = client_for(app, db, accounts.demo_username(legs[0][1]))
        results["inbox (member)"] = measure(lambda: member.get("/desk/inbox"), runs)
        results["referral page (member)"] = measure(lambda: member.get(f"/desk/referrals/{referral_ids[0]}"), runs)
        accept = []
        for referral_id, (leg_id, member_id) in zip(referral_ids, legs):
            who = client_for(app, db, accounts.demo_username(member_id))
            accept.append(timed(lambda: who.post(f"/desk/referrals/{referral_id}/legs/{leg_id}",
                                                 data={"status": "accepted", "csrf_token": TOKEN}))[0])
        results["accept a leg (member)"] = accept

        app.extensions.pop("rismep_cache", None)  # the writes above: the next dashboard recomputes the analyses
        cold["dashboard, first after writes (recomputes)"] = timed(lambda: analyst.get("/desk/dashboard"))[0]
        results["dashboard (analyses fresh)"] = measure(lambda: analyst.get("/desk/dashboard"), runs)
        results["dashboard, a year and a province"] = measure(
            lambda: analyst.get("/desk/dashboard?year=2025&province=TH-50"), runs, expected=(200, 422))
        results["heatmap cell drill-down"] = measure(lambda: analyst.get("/desk/dashboard/cell/TH-50/loan"), runs)
        results["referrals list (analyst)"] = measure(lambda: analyst.get("/desk/referrals"), runs)
        after_write = []
        for referral_id, (leg_id, member_id) in list(zip(referral_ids, legs))[:runs]:
            who = client_for(app, db, accounts.demo_username(member_id))
            who.post(f"/desk/referrals/{referral_id}/legs/{leg_id}", data={"status": "in_progress",
                                                                         "csrf_token": TOKEN})
            after_write.append(timed(lambda: analyst.get("/desk/dashboard"))[0])
        results["dashboard right after a write"] = after_write
        results["directory (all members, page 1)"] = measure(lambda: desk.get("/desk/directory"), runs,
                                                             expected=(200,))
        results["directory (service, kind, page 2)"] = measure(
            lambda: desk.get("/desk/directory?need=gmp_haccp&kind=agency&page=2"), runs, expected=(200,))
        results["directory (name, Thai, with spaces)"] = measure(
            lambda: desk.get("/desk/directory?name=สำนักงาน อุตสาหกรรม"), runs, expected=(200,))
        results["member page (agency)"] = measure(lambda: desk.get("/desk/directory/A0124"), runs,
                                                  expected=(200,))
        results["member page (consultant)"] = measure(lambda: member.get("/desk/directory/C0001"), runs,
                                                      expected=(200,))
        results["error page (unknown path)"] = measure(
            lambda: desk.get("/desk/no-such-page", headers={"Accept": "text/html"}), runs, expected=(404,))

        cold["heatmap PNG, first (figure library loads)"] = timed(
            lambda: analyst.get("/desk/dashboard/heatmap.png"))[0]
        results["heatmap PNG (cached)"] = measure(lambda: analyst.get("/desk/dashboard/heatmap.png"), runs)
        # A server started as `make serve` starts it (WARM_START: the figure library is loaded before the
        # first request); the picture is drawn afresh (the drawn one is forgotten).
        from graphs import report as figures
        figures._heatmap_png.cache_clear()
        warm = create_app({"DATABASE": str(path), "SECRET_KEY": "bench-only", "WARM_START": True})
        warm_analyst = client_for(warm, db, "demo-analyst")
        cold["heatmap PNG, first, warm-started server"] = timed(
            lambda: warm_analyst.get("/desk/dashboard/heatmap.png"))[0]
        db.close()

    base = float(np.median(results["baseline GET /api/v1/health"]))
    print(f"desk pages on the synthetic demo network: {runs} requests each, server time in ms "
          f"(budget {BUDGET_MS:.0f} ms at p95)")
    print(f"{'page':40} {'p50':>8} {'p95':>8} {'max':>8} {'x base':>8}  within budget")
    for name, values in results.items():
        p50, p95, top = np.percentile(values, 50), np.percentile(values, 95), max(values)
        verdict = "yes" if p95 <= BUDGET_MS else "NO"
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {top:8.1f} {p50 / base:8.1f}  {verdict}")
    print("cold, once after start (ms):")
    for name, ms in cold.items():
        print(f"  {name:38} {ms:8.1f}")


if __name__ == "__main__":
    main()
