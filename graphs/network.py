"""The network as a networkx graph, built from store rows (never SQL here).

Nodes carry a ``type``: ``agency``, ``consultant``, ``category``, ``province``, ``cluster``. Node keys are
prefixed so that ids never collide: members by their id (``A0001``, ``C0001``), ``cat:<code>``,
``prov:<ISO code>``, ``cluster:<id>``. Edges carry a ``relation``:

- ``offers`` member -> category (capacity_month, specialisation)
- ``serves_province`` member -> its province
- ``member_of`` consultant -> affiliated agency; cluster -> its province
- ``collaborated_with`` member -- member, weighted by joint referrals (``joint``, ``completed``)

The full graph is a ``MultiGraph`` (a pair of members may be linked by more than one relation);
``collaboration_graph`` is the simple weighted member-member graph the analyses and the matcher use.
"""

from __future__ import annotations

import networkx as nx


def category_node(code: str) -> str:
    return f"cat:{code}"


def province_node(code: str) -> str:
    return f"prov:{code}"


def cluster_node(cluster_id: str) -> str:
    return f"cluster:{cluster_id}"


def build_network(*, members, categories, provinces, clusters=(), collaborations=()) -> nx.MultiGraph:
    """The whole network from plain rows (as returned by ``matcher.store.directory`` / ``history``).

    ``members`` rows need ``id``, ``type``, ``name_th``, ``province``, ``offerings`` and optionally ``kind``
    and ``affiliation``. O(N + E).
    """
    G = nx.MultiGraph(name="RISMEP network")
    for p in provinces:
        G.add_node(province_node(p["code"]), type="province", name_en=p["name_en"], name_th=p["name_th"],
                   region=p["region"], lat=p["lat"], lon=p["lon"], hub=p["hub_code"])
    for c in categories:
        G.add_node(category_node(c["code"]), type="category", name_en=c["label_en"], name_th=c["label_th"],
                   domain=c["domain"])
    for m in members:
        G.add_node(m["id"], type=m["type"], name_th=m["name_th"], name_en=m.get("name_en") or "",
                   province=m["province"], kind=m.get("kind") or "")
        G.add_edge(m["id"], province_node(m["province"]), relation="serves_province")
        for o in m.get("offerings", ()):
            G.add_edge(m["id"], category_node(o["category"]), relation="offers",
                       capacity_month=o["capacity_month"], specialisation=o["specialisation"])
    for m in members:
        if m.get("affiliation") and m["affiliation"] in G:
            G.add_edge(m["id"], m["affiliation"], relation="member_of")
    for cl in clusters:
        G.add_node(cluster_node(cl["id"]), type="cluster", name_en=cl["name_en"], name_th=cl["name_th"],
                   sector=cl.get("sector") or "")
        if cl.get("province"):
            G.add_edge(cluster_node(cl["id"]), province_node(cl["province"]), relation="located_in")
        if cl.get("cda_member_id") and cl["cda_member_id"] in G:
            G.add_edge(cluster_node(cl["id"]), cl["cda_member_id"], relation="member_of", role="cda")
    for row in collaborations:
        if row["u"] in G and row["v"] in G:
            G.add_edge(row["u"], row["v"], relation="collaborated_with", joint=int(row["joint"]),
                       completed=int(row["completed"] or 0))
    return G


def collaboration_graph(member_ids, collaborations) -> nx.Graph:
    """Simple graph over members; an edge per pair who shared a referral, with ``joint`` and ``completed``
    counts and ``length = 1 / (1 + joint)`` (members who worked together often are close). O(N + E)."""
    G = nx.Graph()
    G.add_nodes_from(member_ids)
    for row in collaborations:
        joint = int(row["joint"])
        G.add_edge(row["u"], row["v"], joint=joint, completed=int(row["completed"] or 0),
                   length=1.0 / (1.0 + joint))
    return G


def subgraph_of_type(G, node_type: str):
    """View of the nodes of one ``type``."""
    return G.subgraph(n for n, t in G.nodes(data="type") if t == node_type)
