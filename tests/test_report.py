"""The network report: one self-contained HTML page and its JSON, on the demo and the national network."""

import json
import re
import struct

import pytest

from graphs import report as figures
from conftest import DATA_DIR
from matcher.analysis import kpis as kpi, report
from matcher.synthetic.dataset import ensure_database
from matcher.reference import load_reference
from matcher.engine.snapshot import build_snapshot
from matcher.store import open_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html


@pytest.fixture(scope="module")
def demo_report(demo_db_template, ref):
    """The report of the demo network, built once (building it only reads the store)."""
    db = open_db(demo_db_template)
    labels = []
    html, data = report.build_report(db, ref, build_snapshot(db, ref), progress=labels.append)
    db.close()
    return html, data, labels


def test_demo_report_is_one_offline_page_with_every_figure(demo_report):
    html, data, labels = demo_report
    assert labels == list(report.REPORT_STEPS)
    assert_self_contained(html)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 5
    assert html.startswith("<!doctype html>") and 'lang="th"' in html
    assert "ข้อมูลสมมติ / SYNTHETIC DATA" in html
    for heading in ("ตัวชี้วัด / KPIs", "Coverage and gaps", "Single points of failure and brokers",
                    "Rollout plan", "Clusters"):
        assert heading in html
    for step in data["rollout"]["steps"]:
        assert step["reason"]["th"] in html


def test_report_data_is_json_with_the_figures_and_no_personal_data(demo_report):
    _, data, _ = demo_report
    text = figures.to_json(data)
    back = json.loads(text)
    assert back["synthetic"] is True and back["kpis"]["referrals"] == 400
    cov = back["coverage"]
    assert len(cov["provinces"]) == 77 and len(cov["categories"]) == 22
    assert len(cov["levels"]) == 77 and all(len(row) == 22 for row in cov["levels"])
    assert len(back["figures"]["map"]) == 77 and back["figures"]["network"]["layout"] == "spring"
    assert back["rollout"]["target"] == 22 and len(back["rollout"]["steps"]) == 6
    assert any(c["bundle"] for c in back["clusters"]["items"])
    for personal in ("contact_", "@example.com", "tax_id", "consent_by"):
        assert personal not in text
    assert "\\u0e" not in text  # Thai unescaped


def test_figures_are_pngs_of_a_readable_size(db_path, ref):
    heatmap = report.coverage_heatmap_png(open_db(db_path), ref)
    width, height = png_size(heatmap)
    assert width >= 700 and height > width  # 77 province rows: a tall picture


def test_thai_labels_use_a_thai_font_when_one_is_installed():
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed & set(figures.THAI_FONTS):
        pytest.skip("no Thai font installed (Debian: apt-get install fonts-thai-tlwg)")
    assert figures.thai_font() in installed
    assert figures._style()["font.family"][0] == figures.thai_font()


def test_report_command_writes_html_and_json(runner, tmp_path):
    result = runner.invoke(args=["report", "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["synthetic"] is True and summary["provinces_live"] == 16 and len(summary["rollout"]) == 6
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert data["kpis"]["value_baht"] == summary["value_baht"]
    assert result.stderr == ""


def test_report_command_shows_progress_on_stderr_and_takes_a_budget(runner, tmp_path):
    result = runner.invoke(args=["report", "--out", str(tmp_path), "--budget", "1000000"])
    assert result.exit_code == 0, result.output
    assert "network report" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["value_per_baht"] == round(summary["value_baht"] / 1e6, 4)


def test_report_command_refuses_a_bad_budget(runner, tmp_path):
    result = runner.invoke(args=["report", "--out", str(tmp_path), "--budget", "-3"])
    assert result.exit_code == 2 and "budget" in result.stderr


def test_import_budgets_replaces_rows_and_refuses_bad_files(runner, db_path, tmp_path):
    good = tmp_path / "budgets.csv"
    good.write_text("province,year,baht\nเชียงใหม่,2019,750000\nTH-40,2019,600000\n", encoding="utf-8")
    result = runner.invoke(args=["import-budgets", str(good)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["budget_total_baht"] == 13_000_000 + 1_350_000
    bad = tmp_path / "bad.csv"
    bad.write_text("province,year,baht\nAtlantis,2019,1\nTH-50,2019,-4\n", encoding="utf-8")
    result = runner.invoke(args=["import-budgets", str(bad)])
    assert result.exit_code == 1 and "line 2" in result.stderr and "line 3" in result.stderr
    rows = open_db(db_path).execute("SELECT sum(baht) FROM budgets").fetchone()[0]
    assert rows == 13_000_000 + 1_350_000  # nothing from the bad file


def test_import_budgets_synthetic_fills_an_old_synthetic_store_once(runner, db_path):
    db = open_db(db_path)
    db.execute("DELETE FROM budgets")  # a store made before budgets existed
    db.close()
    assert kpi.kpis(open_db(db_path), load_reference(DATA_DIR))["budget_note"]["en"].startswith("No budget")
    first = runner.invoke(args=["import-budgets", "--synthetic"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["budget_total_baht"] == 13_000_000
    again = runner.invoke(args=["import-budgets", "--synthetic"])
    assert json.loads(again.stdout)["rows"] == 0
    assert runner.invoke(args=["import-budgets"]).exit_code == 2


@pytest.fixture(scope="session")
def national_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("national") / "national.db"
    ensure_database(path, load_reference(DATA_DIR), scale="national")
    return path


@pytest.mark.slow
def test_report_builds_on_the_national_network(national_db, ref):
    """The national scale (every province, 2,450 agencies and 2,170 consultants, 50,000 referrals) and the
    report over it."""
    db = open_db(national_db)
    members = db.execute("SELECT count(*), count(DISTINCT province), sum(type = 'agency') FROM members").fetchone()
    assert tuple(members) == (2450 + 2170, 77, 2450)
    html, data = report.build_report(db, ref, build_snapshot(db, ref))
    assert_self_contained(html)
    assert data["kpis"]["provinces_live"] == 77 and data["kpis"]["referrals"] == 50_000
    assert data["network"]["betweenness"]["exact"] is False and data["figures"]["network"]["layout"] == "geographic"
    assert data["rollout"]["met_already"] is True and data["rollout"]["steps"] == []
    assert data["kpis"]["value_per_baht"] and data["kpis"]["budget_source"] == "synthetic"


def test_the_heatmap_is_drawn_again_only_when_its_picture_changes(demo_db_template, ref):
    db = open_db(demo_db_template)
    data = report._heatmap_data(report.coverage_cells(db, ref))
    db.close()
    figures._heatmap_png.cache_clear()
    first = figures.heatmap_png(data)
    assert figures.heatmap_png(json.loads(json.dumps(data))) is first  # same picture: not drawn again
    changed = {**data, "levels": [[4] * len(row) for row in data["levels"]]}
    again = figures.heatmap_png(changed)
    assert again != first and again.startswith(b"\x89PNG")
    assert figures._heatmap_png.cache_info().misses == 2


def test_a_warm_start_loads_the_figure_library_before_the_first_request(db_path, tmp_path):
    """In a fresh process, as `make serve` starts: the first heatmap is only drawn, not also loaded."""
    import subprocess
    import sys
    code = ("import sys; from api import create_app; "
            "create_app({'DATABASE': sys.argv[1], 'SECRET_KEY': 't', 'INTAKE_MODEL': sys.argv[2], "
            "'WARM_START': True}); "
            "print('matplotlib.backends.backend_agg' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(db_path), str(tmp_path / "absent.joblib")],
                          cwd=DATA_DIR.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"
