"""Analysis commands: the network report (HTML + JSON) and the programme budget it divides value by."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import click
from flask import current_app

from matcher.errors import RismepError


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _engine():
    return current_app.extensions["rismep"]


@click.command("report")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="folder to write report.html and report.json into (created if needed)")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="total programme budget in baht for value per baht, instead of the stored budgets")
@click.option("--quiet", is_flag=True, help="no progress bar on stderr")
def report(out_dir, budget, quiet):
    """Write the network report: one self-contained HTML page (works offline) and the same figures as JSON.

    Coverage heatmap, map of the provinces, KPIs against the targets, the collaboration network with
    brokers and single points of failure, the rollout plan and the clusters. A summary goes to stdout.

    Example: flask --app api report --out reports/
    """
    from graphs.report import to_json
    from matcher.analysis import report
    from matcher.store import open_db
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = open_db(current_app.config["DATABASE"])
    try:
        with _progress(len(report.REPORT_STEPS) + 1, quiet) as bar:
            snapshot = _engine().snapshots.get(db)
            bar.update(1)
            html, data = report.build_report(db, _engine().ref, snapshot, progress=lambda label: bar.update(1),
                                               budget=budget)
    except RismepError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.close()
    html_path, json_path = out / "report.html", out / "report.json"
    _write_atomically(html_path, html)
    _write_atomically(json_path, to_json(data))
    k = data["kpis"]
    _echo_json({"html": str(html_path), "json": str(json_path), "seconds": round(time.perf_counter() - start, 2),
                "synthetic": data["synthetic"], "html_kb": round(html_path.stat().st_size / 1024),
                "gaps": data["gaps"]["summary"], "provinces_live": k["provinces_live"], "referrals": k["referrals"],
                "value_baht": k["value_baht"], "value_per_baht": k["value_per_baht"],
                "rollout": [s["province"] for s in data["rollout"]["steps"]]})


class _Silent:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


def _progress(length: int, quiet: bool):
    """A click progress bar on stderr, or a silent stand-in with ``--quiet``."""
    if quiet:
        return _Silent()
    return click.progressbar(length=length, label="network report", show_pos=True, file=sys.stderr)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@click.command("import-budgets")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--synthetic", is_flag=True,
              help="instead of a file, write the synthetic demo budget (only into a synthetic store with none)")
def import_budgets(path, synthetic):
    """Load the programme budget per province and year from a CSV with columns province, year, baht.

    Provinces by code, English or Thai name; rows replace earlier ones for the same province and year;
    nothing is written unless every row is valid. A synthetic store made before budgets existed gets the
    synthetic demo budget with --synthetic.

    Examples: flask --app api import-budgets budgets.csv
              flask --app api import-budgets --synthetic
    """
    from matcher.synthetic.budgets import seed_synthetic_budgets
    from matcher.store import analysis as store
    from matcher.store import directory, open_db
    if bool(path) == synthetic:
        raise click.UsageError("Give either a CSV file (province,year,baht) or --synthetic.")
    rows = _budget_rows(_engine().ref, path) if path else []
    db = open_db(current_app.config["DATABASE"])
    try:
        if synthetic and not directory.dataset_info(db)["synthetic"]:
            raise click.ClickException("This store holds a real network; import its budget from a CSV file.")
        written = seed_synthetic_budgets(db) if synthetic else store.write_budgets(db, rows)
        total = sum(r["baht"] for r in store.budgets(db))
    finally:
        db.close()
    _echo_json({"path": path, "synthetic": synthetic, "rows": written, "budget_total_baht": total})


def _budget_rows(ref, path) -> list[dict]:
    """Every row of the CSV, checked; a ClickException listing the bad rows when any is wrong."""
    rows, problems = [], []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for line, r in enumerate(csv.DictReader(handle), start=2):
            try:
                rows.append(_budget_row(ref, r, f"imported from {Path(path).name}"))
            except (RismepError, ValueError, KeyError, TypeError) as error:
                problems.append(f"line {line}: {getattr(error, 'message', None) or error!s}")
    if problems:
        raise click.ClickException("No budget written; fix these rows (columns: province, year, baht):\n  "
                                   + "\n  ".join(problems[:20]))
    return rows


def _budget_row(ref, r: dict, source: str) -> dict:
    province = ref.resolve_province(r["province"])
    year, baht = int(r["year"]), float(r["baht"])
    if not 1990 <= year <= 2100 or baht < 0:
        raise ValueError(f"year must be 1990-2100 and baht not negative; got year {r['year']!r}, baht {r['baht']!r}")
    return {"province": province, "year": year, "baht": baht, "source": r.get("source") or source,
            "synthetic": False}


commands = [report, import_budgets]
