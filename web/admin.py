"""Admin endpoints: import a spreadsheet of members, offerings or enterprises; export referrals as CSV.

- ``POST /api/v1/admin/import`` (admin key; multipart ``file``, optional ``kind`` and ``dry_run``):
  a dry run answers the row-level report; a real run imports everything in one transaction or, when
  any row is bad, answers 422 with the problems and writes nothing.
- ``GET /api/v1/admin/exports/referrals.csv`` (analyst or admin key): one line per referral leg for the
  monitoring unit, without personal data; ``personal=1`` (admin only) adds the enterprise's name and
  contact where consent is recorded, and the read is written to the personal-data read log.
"""

from __future__ import annotations

from functools import wraps

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, File, Integer, String
from apiflask.validators import OneOf
from flask import Response, current_app, g, request

from matcher import access
from matcher.clock import now_text
from matcher.exchange import exports, importer, tables
from matcher.store import imports as store
from matcher.store import open_db
from matcher.store import referrals as referral_store

from . import auth
from .context import get_db, get_reference

bp = APIBlueprint("admin", __name__, tag="Admin")
bp.record_once(lambda state: auth.init_app(state.app))

MULTIPART_OVERHEAD = 64_000
ERRORS = {401: "No API key, or an unknown or revoked one", 403: "The key's role may not do this",
          413: "The file is over the size or row limit", 422: "Bad file or bad rows; nothing was written"}


class ImportForm(Schema):
    file = File(required=True, metadata={"description": "a CSV (UTF-8) or XLSX file with a header row, as in "
                                                        "data/import_templates/",
                                         "example": "external_id,name_th,province,kind\nEX-CM-01,"
                                                    "ศูนย์ตัวอย่าง (ตัวอย่าง),TH-50,university\n"})
    kind = String(validate=OneOf(importer.KINDS),
                  metadata={"description": "what a CSV file holds, when its name or columns do not say"})
    dry_run = Boolean(load_default=False, truthy={"true"}, falsy={"false"},
                      metadata={"description": "true: check and report only, write nothing (a form field: the text "
                                               "true or false)"})


class ReferralCsvQuery(Schema):
    personal = Boolean(load_default=False, metadata={"description": "add personal data (admin only)"})
    since = Date(metadata={"description": "referrals created on or after this date"})
    until = Date(metadata={"description": "referrals created on or before this date"})


def limit_body(max_bytes: int):
    """Decorator: refuse bodies over ``max_bytes`` (plus multipart overhead) with a message naming the limit."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:  # per-request limits need Flask 3.1; older versions keep the app's MAX_CONTENT_LENGTH
                request.max_content_length = max_bytes + MULTIPART_OVERHEAD
            except AttributeError:
                pass
            if (request.content_length or 0) > max_bytes + MULTIPART_OVERHEAD:
                raise tables.FileTooLarge(f"The upload is {request.content_length:,} bytes; files up to "
                                            f"{max_bytes:,} bytes are imported. Split the file. "
                                            f"/ ไฟล์ใหญ่เกินกำหนด แบ่งเป็นหลายไฟล์", field="file")
            return view(*args, **kwargs)
        return wrapper
    return decorator


@bp.post("/api/v1/admin/import")
@auth.require("import_members")
@limit_body(tables.MAX_FILE_BYTES)
@bp.input(ImportForm, location="form_and_files", arg_name="form")
@bp.doc(responses={200: "The row-level report (a dry run, or what was imported)", **ERRORS})
def import_members(form):
    """Import agencies, consultants, offerings or enterprises from a CSV or XLSX file (upsert by external_id).

    All or nothing: one bad row and nothing is written. Send ``dry_run=true`` first for the report
    (row, column, value, problem and how to fix it, in English and Thai).
    """
    upload = form["file"]
    try:
        data = upload.read(tables.MAX_FILE_BYTES + 1)
    finally:
        upload.close()  # a large upload is spooled to a temporary file: release it now
    return importer.import_file(get_db(), data, upload.filename or "upload", ref=get_reference(),
                                kind=form.get("kind"), dry_run=form["dry_run"])


@bp.get("/api/v1/admin/exports/referrals.csv")
@auth.require("export_monitoring")
@bp.input(ReferralCsvQuery, location="query", arg_name="query")
@bp.doc(responses={200: {"description": "CSV (UTF-8 with BOM), one line per referral leg",
                         "content": {"text/csv": {"schema": {"type": "string"}}}},
                   **{k: v for k, v in ERRORS.items() if k != 413}})
def referrals_csv(query):
    """Referrals and their outcomes, one line per leg, for the monitoring unit (no personal data unless an
    admin asks with ``personal=1``; then only where consent is recorded, and the read is logged)."""
    db = get_db()
    personal = query["personal"]
    principal = g.principal
    if personal:
        principal = access.require(principal, "export_personal")
        referral_store.log_personal_read(
            db, at=now_text(), actor=access.actor_of(principal), role=principal["role"],
            key_id=principal.get("key_id"), user_id=principal.get("user_id"), referral_id=None, enterprise_id=None,
            fields=exports.PERSONAL_CSV_COLUMNS, action="export_referrals_csv")
    lines = csv_lines(current_app.config["DATABASE"], principal, personal=personal, since=_iso(query.get("since")),
                      until=_iso(query.get("until")))
    name = "referrals-personal.csv" if personal else "referrals.csv"
    return Response(lines, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                         "Cache-Control": "no-store"})


class EndedSessions(Schema):
    username = String(required=True)
    ended = Integer(required=True, metadata={"description": "how many live or stale sessions were ended"})


@bp.delete("/api/v1/admin/users/<username>/sessions")
@auth.require("end_sessions")
@bp.output(EndedSessions)
@bp.doc(responses={404: "No account with this username", **{k: v for k, v in ERRORS.items() if k in (401, 403)}})
def end_sessions(username):
    """End every desk session of an account at once: its cookies stop working on the next request
    (role: admin)."""
    from matcher import accounts
    return accounts.end_sessions(get_db(), username)


def csv_lines(path, principal: dict, **filters):
    """The CSV streamed from a connection of its own (the request's closes before the stream ends)."""
    db = open_db(path, migrate_schema=False)
    try:
        yield from exports.referral_csv_lines(store.referral_legs_for_monitoring(db, **filters),
                                              personal=filters["personal"], principal=principal)
    finally:
        db.close()


def _iso(day) -> str | None:
    return day.isoformat() if day else None
