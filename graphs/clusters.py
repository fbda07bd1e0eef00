"""SME clusters along the value chain: who is in each stage, which stages and services are missing.

A cluster's enterprises sit upstream (growers, raw material), midstream (processing) or downstream
(brands, retail, export). Plain functions of aggregate rows (no enterprise names or contacts):
stage counts, the needs raised per stage, the members who served each stage and the members offering
each category in reach of the cluster (its hub area; see ``graphs.coverage``).
"""

from __future__ import annotations

import math
from collections import defaultdict

STAGES = ("upstream", "midstream", "downstream")
STAGE_TH = {"upstream": "ต้นน้ำ", "midstream": "กลางน้ำ", "downstream": "ปลายน้ำ"}


def stage_counts(rows, cluster_id: str) -> dict[str, int]:
    """Stage -> enterprises of the cluster (every stage present, 0 when empty). O(rows)."""
    out = {s: 0 for s in STAGES}
    for r in rows:
        if r["cluster_id"] == cluster_id and r["stage"] in out:
            out[r["stage"]] += int(r["enterprises"])
    return out


def missing_stages(counts: dict[str, int]) -> list[str]:
    """Stages of the value chain with no enterprise, in chain order."""
    return [s for s in STAGES if counts.get(s, 0) == 0]


def members_by_stage(service_rows, cluster_id: str) -> dict[str, list[dict]]:
    """Stage -> members who held legs for the cluster's enterprises at that stage:
    ``{member, legs, completed, value_baht, categories}``, most legs first. O(rows log rows)."""
    acc: dict = {s: defaultdict(lambda: {"legs": 0, "completed": 0, "value_baht": 0.0, "categories": set()})
                 for s in STAGES}
    for r in service_rows:
        if r["cluster_id"] != cluster_id or r["stage"] not in acc:
            continue
        a = acc[r["stage"]][r["member_id"]]
        a["legs"] += int(r["legs"])
        a["completed"] += int(r["completed"] or 0)
        a["value_baht"] += float(r["value_baht"] or 0)
        a["categories"].add(r["category"])
    return {s: sorted(({"member": m, "legs": a["legs"], "completed": a["completed"],
                        "value_baht": a["value_baht"], "categories": sorted(a["categories"])}
                       for m, a in acc[s].items()), key=lambda x: (-x["legs"], x["member"]))
            for s in STAGES}


def needs_profile(need_rows, service_rows, cluster_id: str) -> list[dict]:
    """Per category the cluster's enterprises needed: ``{category, cases, enterprises, stages,
    legs, completed}``, most enterprises first. O(rows log rows)."""
    acc: dict = defaultdict(lambda: {"cases": 0, "enterprises": 0, "stages": set(), "legs": 0, "completed": 0})
    for r in need_rows:
        if r["cluster_id"] == cluster_id:
            a = acc[r["category"]]
            a["cases"] += int(r["cases"])
            a["enterprises"] += int(r["enterprises"])
            if r["stage"]:
                a["stages"].add(r["stage"])
    for r in service_rows:
        if r["cluster_id"] == cluster_id and r["category"] in acc:
            acc[r["category"]]["legs"] += int(r["legs"])
            acc[r["category"]]["completed"] += int(r["completed"] or 0)
    out = [{"category": c, "cases": a["cases"], "enterprises": a["enterprises"],
            "stages": [s for s in STAGES if s in a["stages"]], "legs": a["legs"], "completed": a["completed"]}
           for c, a in acc.items()]
    return sorted(out, key=lambda x: (-x["enterprises"], -x["cases"], x["category"]))


def missing_services(needs: list[dict], providers_in_reach: dict[str, list]) -> list[dict]:
    """Needs the cluster raised that the network does not deliver: ``{category, why, enterprises}``.

    ``why`` is ``no_provider_in_reach`` (nobody offers it in the hub area) or ``never_completed`` (offered,
    but no leg for the cluster completed it yet). ``providers_in_reach``: category -> member ids. O(needs).
    """
    out = []
    for n in needs:
        if not providers_in_reach.get(n["category"]):
            out.append({"category": n["category"], "why": "no_provider_in_reach", "enterprises": n["enterprises"]})
        elif n["completed"] == 0:
            out.append({"category": n["category"], "why": "never_completed", "enterprises": n["enterprises"]})
    return out


def shared_needs(needs: list[dict], enterprises: int, *, min_share: float = 0.1, limit: int = 5) -> list[str]:
    """The categories raised by at least two enterprises and at least ``min_share`` of the cluster's
    ``enterprises``, most shared first, at most ``limit`` (a bundle a cluster can act on). O(needs)."""
    least = max(2, math.ceil(min_share * enterprises))
    return [n["category"] for n in needs if n["enterprises"] >= least][:limit]
