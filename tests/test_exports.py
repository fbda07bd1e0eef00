"""Graph exports (GraphML, GEXF for Gephi) and the monitoring unit's referral CSV, with personal data left
out unless an admin asks. Runs on private copies of the synthetic demo network."""

from __future__ import annotations

import csv
import io
import json

import networkx as nx
import pytest

from conftest import assert_error_shape
from graphs.network import build_network
from matcher.exchange import exports
from matcher.errors import Unprocessable
from matcher.store import directory, history, imports as store

# A toy network: two agencies in Chiang Mai who worked together twice, a consultant on her own.
TOY_MEMBERS = [
    {"id": "A1", "type": "agency", "name_th": "มหาวิทยาลัย ก", "name_en": "University A", "province": "TH-50",
     "kind": "university", "offerings": [{"category": "shelf_life", "capacity_month": 5, "specialisation": 0.9}]},
    {"id": "A2", "type": "agency", "name_th": "บสย. ข", "province": "TH-50", "kind": "tcg", "offerings": []},
    {"id": "C1", "type": "consultant", "name_th": "ที่ปรึกษา ค", "province": "TH-57", "affiliation": "A1",
     "offerings": [{"category": "branding", "capacity_month": 2, "specialisation": 0.6}]},
]
TOY_PROVINCES = [{"code": "TH-50", "name_en": "Chiang Mai", "name_th": "เชียงใหม่", "region": "north", "lat": 18.79,
                  "lon": 98.98, "hub_code": "TH-50"},
                 {"code": "TH-57", "name_en": "Chiang Rai", "name_th": "เชียงราย", "region": "north", "lat": 19.91,
                  "lon": 99.83, "hub_code": "TH-50"}]
TOY_CATEGORIES = [{"code": c, "label_en": c.title(), "label_th": th, "domain": "x"}
                  for c, th in (("shelf_life", "ยืดอายุผลิตภัณฑ์"), ("branding", "สร้างแบรนด์"))]


@pytest.fixture
def toy():
    return build_network(members=TOY_MEMBERS, categories=TOY_CATEGORIES, provinces=TOY_PROVINCES,
                         collaborations=[{"u": "A1", "v": "A2", "joint": 2, "completed": 1}])


# -- graphs --------------------------------------------------------------------------------------------

def test_gexf_holds_every_node_and_edge_with_thai_labels(toy, tmp_path):
    path = exports.write_graph(toy, tmp_path / "net.gexf")
    back = nx.read_gexf(path)
    assert back.number_of_nodes() == toy.number_of_nodes() == 7
    assert back.number_of_edges() == toy.number_of_edges() == 7
    assert back.nodes["A1"]["label"] == "มหาวิทยาลัย ก" and back.nodes["prov:TH-57"]["label"] == "เชียงราย"
    assert back.nodes["prov:TH-50"]["viz"]["position"]["x"] == pytest.approx(98.98)
    assert "<gexf" in path.read_text(encoding="utf-8")[:300]


def test_member_network_keeps_members_and_joint_work_only(toy):
    H = exports.member_network(toy)
    assert sorted(H.nodes) == ["A1", "A2", "C1"] and list(H.edges(data=True)) == [
        ("A1", "A2", {"joint": 2, "completed": 1, "weight": 2})]
    assert H.nodes["C1"]["province"] == "TH-57"


@pytest.mark.parametrize("name, fmt, expected", [
    ("net.graphml", None, "graphml"), ("net.gexf", None, "gexf"), ("net.xml", None, "graphml"),
    ("net.xml", "GEXF", "gexf"), ("net", None, "graphml")])
def test_graph_format_from_option_or_file_name(name, fmt, expected):
    assert exports.graph_format(name, fmt) == expected


def test_unknown_graph_format_names_the_choices():
    with pytest.raises(Unprocessable, match="graphml, gexf"):
        exports.graph_format("net.dot", "dot")


@pytest.mark.parametrize("args, kind, nodes", [
    ([], "graphml", 245 + 217 + 22 + 77 + 8), (["--format", "gexf"], "gexf", 245 + 217 + 22 + 77 + 8),
    (["--graph", "collaboration"], "gexf", 245 + 217)])
def test_export_graph_command(runner, tmp_path, args, kind, nodes):
    path = tmp_path / ("network.gexf" if "collaboration" in args else "network.out")
    result = runner.invoke(args=["export-graph", str(path), *args])
    assert result.exit_code == 0, result.output
    G = nx.read_gexf(path) if kind == "gexf" else nx.read_graphml(path)
    assert G.number_of_nodes() == nodes
    if "collaboration" in args:
        assert all(d["weight"] >= 1 for _, _, d in G.edges(data=True)) and G.number_of_edges() > 100


# -- the referral CSV ------------------------------------------------------------------------------------

def parse(text: str) -> list[dict]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_has_a_line_per_leg_and_no_personal_data_by_default(db):
    text = "".join(exports.referral_csv_lines(store.referral_legs_for_monitoring(db)))
    rows = parse(text)
    assert len(rows) == db.execute("SELECT count(*) FROM referral_legs").fetchone()[0] > 700
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    assert "@example.com" not in text and "contact" not in "".join(rows[0])
    assert rows[0]["synthetic"] == "1" and rows[0]["leg_needs"] and not rows[0]["leg_needs"].startswith("[")
    completed = [r for r in rows if r["leg_status"] == "completed"]
    total = db.execute("SELECT sum(value_baht) FROM referral_legs WHERE status = 'completed'").fetchone()[0]
    assert sum(float(r["value_baht"]) for r in completed) == pytest.approx(total)
    multi = {r["referral_id"] for r in rows if int(r["members_in_referral"]) > 1}
    assert len(multi) >= 72
    assert "enterprise_id" not in rows[0] and "enterprise_name" not in rows[0], "analysts get no enterprise identifier"


def test_leg_step_is_the_plan_step_not_a_count_of_changes(db, ref):
    from matcher.engine.snapshot import build_snapshot
    from matcher.referrals import service
    admin = {"role": "admin", "member_id": None, "desk": "desk-TH-50", "key_id": None, "name": "t"}
    a = next(m["id"] for m in directory.list_members(db, "agency", province="TH-50", category="gmp_haccp")[0]
             if m["id"] in {x["id"] for x in directory.list_members(db, "agency", province="TH-50",
                                                                     category="fda_registration")[0]})
    made = service.create_referral(db, build_snapshot(db, ref), {
        "enterprise": {"name": "ร้านทดสอบขั้น (สมมติ)", "province": "TH-50", "sector": "food"},
        "needs": ["gmp_haccp", "fda_registration"], "assignment": {"gmp_haccp": a, "fda_registration": a}}, admin)
    gmp = next(leg["id"] for leg in made["legs"] if leg["step"] == 1)
    for status in ("accepted", "in_progress"):
        service.update_leg(db, made["id"], gmp, {"status": status}, admin)
    rows = [r for r in parse("".join(exports.referral_csv_lines(store.referral_legs_for_monitoring(db))))
            if r["referral_id"] == str(made["id"])]
    assert {r["leg_needs"]: r["leg_step"] for r in rows} == {"gmp_haccp": "1", "fda_registration": "2"}
    assert {r["leg_needs"]: r["leg_status"] for r in rows} == {"gmp_haccp": "in_progress",
                                                              "fda_registration": "waiting"}


def test_personal_data_only_where_consent_is_recorded(db):
    referral_id, email = db.execute(
        "SELECT r.id, e.contact_email FROM referrals r JOIN enterprises e ON e.id = r.enterprise_id LIMIT 1").fetchone()
    db.execute("UPDATE referrals SET consent_given = 0 WHERE id = ?", [referral_id])
    rows = parse("".join(exports.referral_csv_lines(store.referral_legs_for_monitoring(db, personal=True),
                                                    personal=True, principal={"role": "admin"})))
    mine = [r for r in rows if r["referral_id"] == str(referral_id)]
    assert mine and all(r["contact_email"] == "" and r["enterprise_name"] == "" for r in mine)
    others = [r for r in rows if r["referral_id"] != str(referral_id)]
    assert all("@example.com" in r["contact_email"] for r in others)
    assert email not in {r["contact_email"] for r in mine}


def test_date_filters_are_inclusive(db):
    rows = list(store.referral_legs_for_monitoring(db, since="2018-01-01", until="2018-06-30"))
    assert rows and all("2018-01-01" <= r["referral_created_at"][:10] <= "2018-06-30" for r in rows)
    everything = list(store.referral_legs_for_monitoring(db))
    assert len(rows) < len(everything)


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+66 81", "'+66 81"), ("@SUM(A1)", "'@SUM(A1)"),
    ("-2+3", "'-2+3"), ("ร้าน=ดี", "ร้าน=ดี"), ('["loan", "gmp_haccp"]', "loan gmp_haccp"), (None, ""), (-5.0, -5.0)])
def test_csv_cells_are_safe_in_a_spreadsheet(value, cell):
    assert exports.csv_cell(value) == cell


def key(runner, role: str) -> dict:
    result = runner.invoke(args=["create-key", "--role", role])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


def test_referral_csv_endpoint_roles_and_personal_data(client, runner, db):
    url = "/api/v1/admin/exports/referrals.csv"
    assert_error_shape(client.get(url), 401)
    assert_error_shape(client.get(url, headers={"Authorization": "Bearer rk_not-a-key-0000000000000000000000"}), 401)
    analyst = key(runner, "analyst")
    plain = client.get(url, headers=analyst)
    assert plain.status_code == 200 and plain.content_type == "text/csv; charset=utf-8"
    assert "attachment" in plain.headers["Content-Disposition"]
    text = plain.get_data(as_text=True)
    assert len(parse(text)) == db.execute("SELECT count(*) FROM referral_legs").fetchone()[0]
    assert "@example.com" not in text
    assert_error_shape(client.get(url + "?personal=1", headers=analyst), 403, field="role")
    reads = db.execute("SELECT count(*) FROM personal_data_reads").fetchone()[0]
    personal = client.get(url + "?personal=1&since=2018-01-01", headers=key(runner, "admin"))
    rows = parse(personal.get_data(as_text=True))
    assert rows and "contact_email" in rows[0] and all(r["referral_created_at"] >= "2018-01-01" for r in rows)
    assert db.execute("SELECT count(*) FROM personal_data_reads").fetchone()[0] == reads + 1
    logged = db.execute("SELECT action, role FROM personal_data_reads ORDER BY id DESC LIMIT 1").fetchone()
    assert logged == ("export_referrals_csv", "admin")
    assert_error_shape(client.get(url + "?since=yesterday", headers=analyst), 422, field="since")


def test_export_referrals_csv_command(runner, tmp_path, db):
    out = tmp_path / "referrals.csv"
    result = runner.invoke(args=["export-referrals-csv", str(out), "--since", "2018-01-01", "--quiet"])
    assert result.exit_code == 0, result.output
    rows = parse(out.read_text(encoding="utf-8"))
    assert json.loads(result.stdout)["legs"] == len(rows)
    assert rows and all(r["referral_created_at"] >= "2018-01-01" for r in rows) and "contact_name" not in rows[0]
    personal = runner.invoke(args=["export-referrals-csv", "-", "--personal", "--quiet"])
    assert personal.exit_code == 0 and "contact_email" in personal.stdout.splitlines()[0]
    assert db.execute("SELECT actor FROM personal_data_reads ORDER BY id DESC LIMIT 1").fetchone()[0].startswith("cli:")


def test_collaboration_graph_matches_the_store(db):
    G = build_network(members=directory.all_members(db), categories=directory.categories(db),
                      provinces=directory.provinces(db), collaborations=history.collaborations(db))
    H = exports.member_network(G)
    assert H.number_of_edges() == len(history.collaborations(db))
