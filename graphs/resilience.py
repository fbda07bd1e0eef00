"""Single points of failure: sole providers, cut vertices and bridges of collaboration, critical members.

- ``single_providers``: categories served by exactly one member in a province or in a hub area;
- ``articulation_points`` / ``bridges``: members and partnerships whose removal splits the collaboration
  graph (networkx, O(V + E));
- ``critical_members``: members whose loss would leave needs with demand uncovered (no other member in
  reach, that is in the hub area; the same rule as ``graphs.coverage`` gaps).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from .coverage import supply


def single_providers(members, provinces, levels=("province", "hub")) -> list[dict]:
    """``{level, area, category, member}`` for every (area, category) with exactly one provider.

    ``level`` is ``province`` or ``hub`` (area = the hub province's code). O(sum of offerings).
    """
    out = [{"level": level, "area": area, "category": cat, "member": cell["members"][0]}
           for (level, area, cat), cell in supply(members, provinces).items()
           if level in levels and len(cell["members"]) == 1]
    return sorted(out, key=lambda r: (levels.index(r["level"]), r["area"], r["category"]))


def articulation_points(G: nx.Graph) -> list:
    """Nodes whose removal disconnects their component of G, sorted. Isolated nodes never are. O(V + E)."""
    return sorted(nx.articulation_points(G))


def bridges(G: nx.Graph, *, leaves: bool = True) -> list[tuple]:
    """Edges whose removal disconnects their component of G, each as a sorted pair, sorted.

    With ``leaves=False``, bridges to a member with no other partner are left out: what remains are the
    partnerships that alone join two groups. O(V + E).
    """
    found = (tuple(sorted(e)) for e in nx.bridges(G))
    return sorted(e for e in found if leaves or min(G.degree(e[0]), G.degree(e[1])) > 1)


def critical_members(cells, members, provinces) -> dict[str, list[dict]]:
    """Member id -> the (province, category) needs it alone keeps in reach, for cells with demand.

    ``cells`` are ``graphs.coverage.coverage_matrix`` cells (only those with ``cases > 0`` matter). A
    member is critical for a need when it is the only member offering the category in the province's hub
    area. Each entry: ``{province, category, cases}``; members sorted by id, entries by cases then codes.
    O(cells + sum of offerings).
    """
    sup = supply(members, provinces)
    out: dict = defaultdict(list)
    for c in cells:
        if c["cases"] <= 0:
            continue
        reach = sup.get(("hub", c["hub"], c["category"]), {"members": []})["members"]
        if len(reach) == 1:
            out[reach[0]].append({"province": c["province"], "category": c["category"], "cases": c["cases"]})
    return {m: sorted(v, key=lambda r: (-r["cases"], r["province"], r["category"])) for m, v in sorted(out.items())}


def without_member(members, member_id: str) -> list[dict]:
    """The member rows with one member left out (to ask "what if it left the network?"). O(N)."""
    return [m for m in members if m["id"] != member_id]
