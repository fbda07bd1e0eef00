"""Import and export commands: spreadsheets in, HSDS 3.0 in and out, referrals as CSV out.

Reports and summaries are JSON on stdout; progress lines go to stderr (``--quiet`` turns them off).
Library errors become ``click.ClickException`` (exit status 1) with the message that names the fix.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from flask import current_app

from matcher.clock import now_text
from matcher.errors import RismepError
from matcher.exchange import exports, hsds, importer
from matcher.reference import load_reference
from matcher.store import imports as store
from matcher.store import open_db


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        click.echo(message, err=True)


def _db():
    return open_db(current_app.config["DATABASE"])


def _ref():
    return load_reference(current_app.config["DATA_DIR"])


def _fail(error: RismepError):
    details = [e for e in error.details() if e.get("row") or e.get("sheet")]
    if details:
        _echo_json({"ok": False, "error": error.message, "problems": details})
    return click.ClickException(error.message)


@click.command("import-members")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(importer.KINDS),
              help="what a CSV file holds, when its name (agencies.csv ...) or columns do not say")
@click.option("--dry-run", is_flag=True, help="check every row and print the report; write nothing")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def import_members(file, kind, dry_run, quiet):
    """Import agencies, consultants, offerings or enterprises from a CSV (UTF-8) or XLSX FILE.

    Rows are upserted by external_id in one transaction: one bad row and nothing is written. Run with
    --dry-run first for the row-level report (row, column, value, problem, fix).

    Example: flask --app api import-members data/import_templates/agencies.csv --dry-run
    """
    _run_import(file, quiet, lambda db, data: importer.import_file(db, data, Path(file).name, ref=_ref(),
                                                                   kind=kind, dry_run=dry_run))


@click.command("export-hsds")
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def export_hsds(out, quiet):
    """Write the directory as an Open Referral HSDS 3.0 document (JSON, tabular form) to OUT ('-' = stdout).

    Agencies become organizations and their offerings services; consultants, enterprises, referrals and
    consent are left out (HSDS has no place for them) and counted in the summary on stderr.

    Example: flask --app api export-hsds directory.hsds.json
    """
    db = _db()
    try:
        doc, summary = hsds.export_store(db, _ref())
    finally:
        db.close()
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if out == "-":
        click.echo(text)
        _say(json.dumps(summary, ensure_ascii=False), quiet)
        return
    Path(out).write_text(text + "\n", encoding="utf-8")
    _echo_json({"path": out, **summary})


@click.command("import-hsds")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check and print the report; write nothing")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def import_hsds(file, dry_run, quiet):
    """Import the organizations and services of an HSDS 3.0 JSON FILE as agencies and offerings.

    Ids written by export-hsds map back to the same members; other organizations are upserted by
    external_id "hsds:<organization id>". All or nothing, like import-members.

    Example: flask --app api import-hsds directory.hsds.json --dry-run
    """
    _run_import(file, quiet, lambda db, data: hsds.import_hsds(db, hsds.load_document(data), ref=_ref(),
                                                               dry_run=dry_run))


def _run_import(file, quiet, run) -> None:
    """Read FILE, run one import on the store, print its report; a report with problems fails the command."""
    _say(f"reading {file} ...", quiet)
    db = _db()
    try:
        report = run(db, Path(file).read_bytes())
    except RismepError as error:
        raise _fail(error) from None
    finally:
        db.close()
    _echo_json(report)
    if not report["valid"]:
        raise click.ClickException(f"{report['problems_total']} problem(s) found; fix them and run again.")


@click.command("export-referrals-csv")
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--personal", is_flag=True,
              help="add enterprise name, contact and tax id where consent is recorded (logged as a personal-data read)")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="referrals created on or after this date")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="referrals created on or before this date")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def export_referrals_csv(out, personal, since, until, quiet):
    """Write referrals and their outcomes as CSV (one line per leg, UTF-8 with BOM) to OUT ('-' = stdout).

    Personal data is left out unless --personal is given.

    Example: flask --app api export-referrals-csv referrals.csv --since 2018-01-01
    """
    db = _db()
    try:
        if personal:
            _log_personal_export(db)
        rows = Counted(store.referral_legs_for_monitoring(db, personal=personal, since=_day(since),
                                                          until=_day(until)))
        _write_lines(out, exports.referral_csv_lines(rows, personal=personal, principal=CLI_PRINCIPAL))
    finally:
        db.close()
    summary = {"path": out, "legs": rows.count, "personal": personal}
    if out == "-":
        _say(json.dumps(summary), quiet)
    else:
        _echo_json(summary)


def _day(value) -> str | None:
    return value.date().isoformat() if value else None


class Counted:
    """Iterates over rows and counts them."""

    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def _write_lines(out: str, lines) -> None:
    """Write the CSV pieces to a file, or to stdout without the BOM (which is for spreadsheets)."""
    if out == "-":
        for number, piece in enumerate(lines):
            sys.stdout.write(piece.lstrip("\ufeff") if number == 0 else piece)
        return
    with open(out, "w", encoding="utf-8", newline="") as handle:
        handle.writelines(lines)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


# Whoever runs the command on the server acts as an administrator; the read log names the system user.
CLI_PRINCIPAL = {"role": "admin", "member_id": None, "desk": None, "key_id": None, "name": "cli"}


def _log_personal_export(db) -> None:
    from matcher.store import referrals as referral_store
    referral_store.log_personal_read(
        db, at=now_text(), actor=f"cli:{_user()}",
        role="admin", key_id=None, referral_id=None, enterprise_id=None, fields=exports.PERSONAL_CSV_COLUMNS,
        action="export_referrals_csv")


commands = [import_members, export_hsds, import_hsds, export_referrals_csv]
