"""The SYNTHETIC programme budget of the demo network (KPIs measure value per baht against it)."""

from __future__ import annotations

from matcher.store import analysis as store, directory

BUDGET_SOURCE = ("synthetic: shaped by the programme's published 2017-2018 figure of about 13 million baht "
                 "for the network; not a real allocation")
# Synthetic budget per province-year (baht): hub provinces (with a regional centre) and their neighbours.
SYNTHETIC_BUDGET = {"hub": {2017: 500_000, 2018: 550_000}, "neighbour": {2018: 290_000}}
PUBLISHED_REFERRALS = 400  # the demo's referrals in 2017-2018, which the 13 million baht paid for

def synthetic_budgets(provinces, referrals: int = PUBLISHED_REFERRALS) -> list[dict]:
    """A SYNTHETIC budget per live province and year, shaped by the published 2017-2018 figure.

    For the demo network (16 provinces, 400 referrals in 2017-2018) it totals 13 million baht: hub
    provinces 500,000 baht in 2017 and 550,000 in 2018, neighbours 290,000 in the year they went live
    (2018). Larger networks get the same split scaled by their referrals in 2017-2018 over 400, so that
    budget per referral stays at the published scale.
    """
    factor = max(referrals, 1) / PUBLISHED_REFERRALS
    rows = []
    for p in provinces:
        if not p.get("live_since"):
            continue
        plan = SYNTHETIC_BUDGET["hub" if p["is_hub"] else "neighbour"]
        rows += [{"province": p["code"], "year": y, "baht": round(baht * factor, -3), "source": BUDGET_SOURCE,
                  "synthetic": True} for y, baht in plan.items() if y >= int(p["live_since"])]
    return rows


def seed_synthetic_budgets(db) -> int:
    """Write the synthetic budget into a store that has none yet; return the rows written."""
    if store.number_of_budget_rows(db):
        return 0
    referrals = store.number_of_referrals(db, "2017-01-01", "2019-01-01")
    return store.write_budgets(db, synthetic_budgets(directory.provinces(db), referrals))
