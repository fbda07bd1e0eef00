import networkx as nx
import pytest

from graphs.network import build_network, category_node, collaboration_graph, province_node, subgraph_of_type
from matcher.exchange.exports import write_graph
from matcher.store import directory, history, open_db

PROVINCES = [{"code": "TH-50", "name_en": "Chiang Mai", "name_th": "เชียงใหม่", "region": "north", "lat": 18.79,
              "lon": 98.98, "hub_code": "TH-50"},
             {"code": "TH-57", "name_en": "Chiang Rai", "name_th": "เชียงราย", "region": "north", "lat": 19.91,
              "lon": 99.83, "hub_code": "TH-50"}]
CATEGORIES = [{"code": "loan", "domain": "finance", "label_en": "Loans", "label_th": "สินเชื่อ"},
              {"code": "branding", "domain": "marketing", "label_en": "Brand", "label_th": "แบรนด์"}]
MEMBERS = [
    {"id": "A1", "type": "agency", "name_th": "ธนาคาร", "province": "TH-50", "kind": "sme_d_bank",
     "offerings": [{"category": "loan", "capacity_month": 10, "specialisation": 0.9}]},
    {"id": "A2", "type": "agency", "name_th": "ศูนย์", "province": "TH-57", "kind": "industrial_promotion_centre",
     "offerings": [{"category": "branding", "capacity_month": 4, "specialisation": 0.7}]},
    {"id": "C1", "type": "consultant", "name_th": "ที่ปรึกษา", "province": "TH-57", "affiliation": "A2",
     "offerings": [{"category": "branding", "capacity_month": 2, "specialisation": 0.6}]},
]
COLLAB = [{"u": "A1", "v": "A2", "joint": 3, "completed": 2}, {"u": "A2", "v": "C1", "joint": 1, "completed": 0}]


@pytest.fixture
def toy():
    return build_network(members=MEMBERS, categories=CATEGORIES, provinces=PROVINCES,
                         clusters=[{"id": "garlic", "name_en": "Garlic", "name_th": "กระเทียม", "province": "TH-50",
                                    "cda_member_id": "C1"}], collaborations=COLLAB)


def relations(G, u, v):
    return sorted(d["relation"] for d in G.get_edge_data(u, v, default={}).values())


def test_nodes_have_types(toy):
    types = dict(toy.nodes(data="type"))
    assert types["A1"] == "agency" and types["C1"] == "consultant"
    assert types[category_node("loan")] == "category" and types[province_node("TH-57")] == "province"
    assert types["cluster:garlic"] == "cluster"
    assert set(subgraph_of_type(toy, "agency")) == {"A1", "A2"}


def test_edges_have_relations(toy):
    assert relations(toy, "A1", category_node("loan")) == ["offers"]
    assert toy.get_edge_data("A1", category_node("loan"))[0]["capacity_month"] == 10
    assert relations(toy, "C1", province_node("TH-57")) == ["serves_province"]
    assert relations(toy, "A2", "C1") == ["collaborated_with", "member_of"]
    assert relations(toy, "cluster:garlic", "C1") == ["member_of"]
    joint = [d for d in toy.get_edge_data("A1", "A2").values() if d["relation"] == "collaborated_with"][0]
    assert joint["joint"] == 3 and joint["completed"] == 2


def test_collaboration_graph_is_weighted_and_close_for_frequent_partners():
    G = collaboration_graph(["A1", "A2", "C1", "C9"], COLLAB)
    assert G["A1"]["A2"]["joint"] == 3 and G["A1"]["A2"]["length"] == pytest.approx(0.25)
    assert nx.shortest_path_length(G, "A1", "C1", weight="length") == pytest.approx(0.25 + 0.5)
    assert nx.is_isolate(G, "C9")


def test_graphml_round_trip(toy, tmp_path):
    path = write_graph(toy, tmp_path / "net.graphml")
    back = nx.read_graphml(path)
    assert back.number_of_nodes() == toy.number_of_nodes()
    assert back.number_of_edges() == toy.number_of_edges()
    assert back.nodes["A1"]["name_th"] == "ธนาคาร"


def test_demo_network_graph(db_path):
    db = open_db(db_path)
    G = build_network(members=directory.all_members(db), categories=directory.categories(db),
                      provinces=directory.provinces(db), clusters=directory.clusters(db),
                      collaborations=history.collaborations(db))
    types = [t for _, t in G.nodes(data="type")]
    assert types.count("agency") == 245 and types.count("consultant") == 217
    assert types.count("category") == 22 and types.count("province") == 77
    collab = [d for _, _, d in G.edges(data=True) if d["relation"] == "collaborated_with"]
    assert len(collab) > 50 and max(d["joint"] for d in collab) >= 2
