"""Spreadsheet import: agencies, consultants, offerings and enterprises from CSV or XLSX files.

``import_file(db, data, filename, ref=..., kind=None, dry_run=False)`` reads the bytes, checks every row
and either returns a row-level report (a dry run, or a real run that wrote everything in one transaction)
or, for a real run with problems, raises :class:`matcher.errors.Unprocessable` whose ``errors`` are the
problems: nothing is written unless every row is good.

- Files: UTF-8 CSV (a BOM is fine; ``,`` ``;`` or tab separated) or XLSX (one sheet per kind, named
  ``agencies``/``หน่วยงาน``, ``consultants``/``ที่ปรึกษา``, ``offerings``/``บริการ``, ``enterprises``/``วิสาหกิจ``).
  Other encodings (TIS-620/cp874, UTF-16), old ``.xls`` files, empty files, files over
  ``MAX_FILE_BYTES`` or ``MAX_ROWS`` and formula cells are refused with a message saying how to re-save.
- Columns have an English name and Thai aliases (``COLUMNS``); a close misspelling is reported with the
  column it resembles, never silently taken for it.
- Provinces, service categories, agency kinds, sectors, sizes and value-chain stages are matched by code,
  English or Thai name; an unknown value is reported with close suggestions, never guessed.
- Rows are upserted by ``external_id`` (the network's own id). Text is kept exactly as typed (only
  surrounding spaces are trimmed). A column present in the file is written (an empty optional cell clears
  the stored value); a column absent from the file leaves the stored value alone. Import never deletes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from matcher.errors import Unprocessable
from matcher.exchange.row_checks import Context, check_table, reference_choices
from matcher.exchange.tables import (
    MAX_LISTED_PROBLEMS,
    Problem,
    Table,
    cell_text,
    is_formula,
    norm,
    read_tables,
)
from matcher.reference import Reference
from matcher.store import imports as store

KINDS = ("agencies", "consultants", "offerings", "enterprises")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


_EXT = Column("external_id", True, ("รหัสอ้างอิง", "รหัสภายนอก", "รหัส", "external id", "ext_id"),
              "your network's own stable id for the row; rows are updated by it")
_NAME_TH = Column("name_th", True, ("ชื่อ", "ชื่อไทย", "ชื่อ (ไทย)", "ชื่อภาษาไทย", "name"), "name in Thai")
_NAME_EN = Column("name_en", False, ("ชื่ออังกฤษ", "ชื่อ (อังกฤษ)", "ชื่อภาษาอังกฤษ", "english name"),
                  "name in English")
_PROVINCE = Column("province", True, ("จังหวัด", "province code"),
                   "ISO 3166-2:TH code (TH-50), English or Thai name")
_SECTORS = Column("sectors", False, ("สาขา", "สาขาอุตสาหกรรม", "sector"),
                  "sector codes or Thai names, separated by commas or spaces")
_ACTIVE = Column("active", False, ("ใช้งาน", "เปิดใช้งาน", "สถานะใช้งาน"), "yes/no (ใช่/ไม่); empty means yes")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "agencies": (
        _EXT, _NAME_TH, _NAME_EN, _PROVINCE,
        Column("kind", True, ("ประเภท", "ประเภทหน่วยงาน", "agency kind"), "agency kind: code, English or Thai name"),
        Column("phone", False, ("โทรศัพท์", "เบอร์โทร", "telephone"), "office phone"),
        Column("website", False, ("เว็บไซต์", "url"), "http:// or https:// address"),
        Column("address", False, ("ที่อยู่", "ที่ตั้ง", "street address"), "public office address, one line"),
        Column("hours", False, ("เวลาทำการ", "เวลาเปิดทำการ", "opening hours"),
               "opening hours in Thai or English, e.g. จันทร์-ศุกร์ 08:30-16:30 or Mo-Fr 08:30-16:30"),
        _SECTORS, _ACTIVE),
    "consultants": (
        _EXT, _NAME_TH, _NAME_EN, _PROVINCE,
        Column("affiliation", False, ("สังกัด", "หน่วยงานสังกัด"),
               "external_id of the agency the consultant works with (or its id, e.g. A0001)"),
        Column("years_experience", False, ("ประสบการณ์", "ประสบการณ์ (ปี)", "years"), "whole years, 0-70"),
        _SECTORS, _ACTIVE),
    "offerings": (
        Column("member", True, ("member_external_id", "member_id", "สมาชิก", "รหัสสมาชิก", "รหัสอ้างอิงสมาชิก"),
               "external_id of the agency or consultant (or its id, e.g. A0001)"),
        Column("category", True, ("หมวดบริการ", "บริการ", "service", "category code"),
               "service category: code, English or Thai label"),
        Column("capacity_month", True, ("รับได้ต่อเดือน", "จำนวนรับต่อเดือน", "capacity"),
               "cases a month, whole number 0-10000"),
        Column("specialisation", False, ("ความเชี่ยวชาญ", "specialization"),
               "0 to 1 (or a percentage such as 80%); empty means 0.5")),
    "enterprises": (
        _EXT,
        Column("name", True, ("ชื่อกิจการ", "ชื่อวิสาหกิจ", "ชื่อ"), "enterprise name"),
        _PROVINCE,
        Column("sector", False, ("สาขา", "สาขาอุตสาหกรรม"), "sector code or Thai name"),
        Column("size", False, ("ขนาด", "ขนาดกิจการ"), "micro, small or medium (รายย่อย/ขนาดย่อม/ขนาดกลาง)"),
        Column("cluster_id", False, ("คลัสเตอร์", "cluster"), "id of an existing cluster"),
        Column("stage", False, ("ห่วงโซ่", "ช่วงห่วงโซ่คุณค่า", "value chain stage"),
               "upstream, midstream or downstream (ต้นน้ำ/กลางน้ำ/ปลายน้ำ)"),
        Column("contact_name", False, ("ผู้ติดต่อ", "ชื่อผู้ติดต่อ"), "personal data (PDPA)"),
        Column("contact_phone", False, ("โทรศัพท์ผู้ติดต่อ", "โทรศัพท์", "เบอร์โทร"), "personal data (PDPA)"),
        Column("contact_email", False, ("อีเมล", "อีเมลผู้ติดต่อ", "email"), "personal data (PDPA)"),
        Column("tax_id", False, ("เลขประจำตัวผู้เสียภาษี", "เลขผู้เสียภาษี"), "13 digits")),
}

SHEET_ALIASES = {
    "agencies": ("agency", "หน่วยงาน", "bdsp", "bdsps"),
    "consultants": ("consultant", "ที่ปรึกษา", "sp", "sps"),
    "offerings": ("offering", "บริการ", "services"),
    "enterprises": ("enterprise", "วิสาหกิจ", "ผู้ประกอบการ", "smes"),
}
def kind_of_name(name: str) -> str | None:
    key = norm(re.sub(r"\.(csv|txt|xlsx|xlsm)$", "", name, flags=re.I))
    for kind, aliases in SHEET_ALIASES.items():
        if key in {norm(kind), *map(norm, aliases)}:
            return kind
    return None


def kind_of_header(header: list[str]) -> str | None:
    """The one kind whose required columns the header has (agencies over consultants), or None."""
    keys = {norm(h) for h in header}
    fits = [k for k in KINDS if all(column_keys(c) & keys for c in COLUMNS[k] if c.required)]
    if "agencies" in fits and "consultants" in fits:
        fits.remove("consultants")
    return fits[0] if len(fits) == 1 else None


def column_keys(column: Column) -> set[str]:
    return {norm(column.name), *map(norm, column.aliases)}


def assign_kinds(tables: list[Table], kind: str | None, fmt: str, problems: list, warnings_: list) -> list[Table]:
    """The tables to import with their kind set; unknown sheets are warnings, near-misses problems."""
    if kind is not None and kind not in KINDS:
        raise Unprocessable(f"Unknown kind {kind!r}; expected one of: {', '.join(KINDS)}.", field="kind",
                            allowed=KINDS)
    if kind and len(tables) == 1:
        tables[0].kind = kind
        return tables
    chosen = []
    for table in tables:
        table.kind = kind_of_name(table.sheet) or (kind_of_header(table.header) if fmt == "csv" else None)
        if table.kind and (kind is None or table.kind == kind):
            chosen.append(table)
            continue
        close = difflib.get_close_matches(norm(table.sheet), [norm(k) for k in KINDS], n=1, cutoff=0.75)
        if close and kind is None:
            problems.append(Problem(table.sheet, None, None, table.sheet, "unknown_sheet",
                                    f"Sheet {table.sheet!r} is not a kind that can be imported.",
                                    f"Rename it to {close[0]!r} if it holds {close[0]}, or delete it."))
        elif fmt == "xlsx":
            warnings_.append(Problem(table.sheet, None, None, table.sheet, "ignored_sheet",
                                     f"Sheet {table.sheet!r} was skipped.",
                                     f"Sheets are imported when named: {', '.join(KINDS)} (or in Thai)."))
    if not chosen and not problems:
        raise Unprocessable(kind_help(fmt, tables), field="kind", allowed=KINDS)
    return chosen


def kind_help(fmt: str, tables: list[Table]) -> str:
    if fmt == "xlsx":
        names = ", ".join(repr(t.sheet) for t in tables)
        return (f"No sheet of the workbook ({names}) is named after a kind that can be imported; name the "
                f"sheets {', '.join(KINDS)} (or หน่วยงาน, ที่ปรึกษา, บริการ, วิสาหกิจ). / ตั้งชื่อชีตตามชนิดข้อมูล")
    return (f"Cannot tell what the file holds from its name or columns; give the kind ({', '.join(KINDS)}), "
            f"e.g. --kind agencies or kind=agencies. / ระบุชนิดข้อมูลของไฟล์")


def map_columns(table: Table, problems: list, warnings_: list) -> None:
    """Set ``table.columns`` (column name -> index); report missing, misspelt and repeated columns."""
    wanted = COLUMNS[table.kind]
    by_key = {key: c.name for c in wanted for key in column_keys(c)}
    unknown = []
    for index, title in enumerate(table.header):
        if not title:
            continue
        name = by_key.get(norm(title))
        if name is None:
            unknown.append((index, title))
        elif name in table.columns:
            problems.append(Problem(table.sheet, 1, title, title, "duplicate_column",
                                    f"Column {name!r} appears twice (as {title!r}).",
                                    "Keep one of the two columns."))
        else:
            table.columns[name] = index
    free = [c.name for c in wanted if c.name not in table.columns]
    for index, title in unknown:
        near = close_column(title, free, wanted)
        if near:
            problems.append(Problem(table.sheet, 1, title, title, "misspelt_column",
                                    f"Column {title!r} is not a known {table.kind} column.",
                                    f"Did you mean {near!r}? Rename the column to {near!r}."))
        else:
            warnings_.append(Problem(table.sheet, 1, title, title, "ignored_column",
                                     f"Column {title!r} is not used and was skipped.",
                                     f"{table.kind} columns: {', '.join(c.name for c in wanted)}."))
    for column in wanted:
        if column.required and column.name not in table.columns:
            problems.append(Problem(table.sheet, 1, column.name, None, "missing_column",
                                    f"The required column {column.name!r} ({column.help}) is missing.",
                                    f"Add a column headed {column.name!r} (or {column.aliases[0]!r}). "
                                    f"Columns found: {', '.join(repr(h) for h in table.header if h) or 'none'}."))


def close_column(title: str, free: list[str], wanted) -> str | None:
    keys = {key: c.name for c in wanted if c.name in free for key in column_keys(c)}
    close = difflib.get_close_matches(norm(title), list(keys), n=1, cutoff=0.75)
    return keys[close[0]] if close else None


# -- checking rows ---------------------------------------------------------------------------------
def file_members(tables: list[Table]) -> dict[str, str]:
    """external_id -> member type for the agencies and consultants defined in these tables."""
    out = {}
    for table in tables:
        type_ = {"agencies": "agency", "consultants": "consultant"}.get(table.kind)
        index = table.columns.get("external_id")
        if type_ is None or index is None:
            continue
        for _, cells in table.rows:
            if index < len(cells) and not is_formula(cells[index]) and cell_text(cells[index]):
                out.setdefault(cell_text(cells[index]), type_)
    return out


  # -- the whole import ------------------------------------------------------------------------------
@dataclass
class Plan:
    """What reading and checking a file produced: rows per kind, problems and warnings."""

    format: str
    encoding: str | None
    tables: list[Table]
    rows: dict[str, list[dict]]
    problems: list[Problem]
    warnings: list[Problem]


def plan_import(data: bytes, filename: str, *, ref: Reference, keys: dict, kind: str | None = None) -> Plan:
    """Read and check a file against the reference data and the store's keys (no writes)."""
    fmt, encoding, tables = read_tables(data, filename)
    problems, warnings_ = [], []
    tables = assign_kinds(tables, kind, fmt, problems, warnings_)
    for table in tables:
        map_columns(table, problems, warnings_)
    tables.sort(key=lambda t: KINDS.index(t.kind))
    rows = {k: [] for k in KINDS}
    if not problems:
        ctx = Context(ref=ref, keys=keys, choices=reference_choices(ref), file_members=file_members(tables))
        for table in tables:
            rows[table.kind].extend(check_table(table, ctx, problems))
    return Plan(fmt, encoding, tables, rows, problems, warnings_)


def import_file(db, data: bytes, filename: str, *, ref: Reference, kind: str | None = None,
                dry_run: bool = False) -> dict:
    """Check a CSV/XLSX file and, unless ``dry_run``, write it in one transaction; return the report.

    A real run with any problem raises :class:`Unprocessable` (the problems are its ``errors``) and
    writes nothing. A dry run returns the report with ``valid`` false instead, and never writes.
    """
    plan = plan_import(data, filename, ref=ref, keys=store.import_keys(db), kind=kind)
    report = base_report(plan, filename, dry_run)
    if plan.problems:
        if dry_run:
            return report
        raise Unprocessable(problems_message(plan.problems), field="file",
                            errors=[problem_error(p) for p in plan.problems[:MAX_LISTED_PROBLEMS]])
    written = store.write_import(db, plan.rows, dry_run=dry_run)
    report["rows"] = written.pop("rows")[:MAX_LISTED_PROBLEMS]
    report["counts"] = written
    report["imported"] = not dry_run
    return report


def base_report(plan: Plan, filename: str, dry_run: bool) -> dict:
    return {
        "ok": True, "dry_run": dry_run, "valid": not plan.problems, "imported": False, "file": filename,
        "format": plan.format, "encoding": plan.encoding,
        "sheets": [{"sheet": t.sheet, "kind": t.kind, "rows": len(t.rows)} for t in plan.tables],
        "counts": {}, "rows": [], "problems_total": len(plan.problems),
        "problems": [p.as_dict() for p in plan.problems[:MAX_LISTED_PROBLEMS]],
        "warnings": [w.as_dict() for w in plan.warnings[:MAX_LISTED_PROBLEMS]],
    }


def problems_message(problems: list[Problem]) -> str:
    first = problems[0]
    where = f"{first.sheet} row {first.row}" if first.row else first.sheet
    column = f", column {first.column}" if first.column else ""
    return (f"{len(problems)} problem(s) in the file; nothing was imported. First: {where}{column}: "
            f"{first.problem} {first.fix} Run a dry run for the full report. "
            f"/ พบปัญหา {len(problems)} รายการ ยังไม่ได้นำเข้าข้อมูลใด ๆ")


def problem_error(problem: Problem) -> dict:
    """A problem as an item of the JSON error shape (``field``, ``message``) with the row details."""
    item = problem.as_dict()
    return {"field": problem.column or "file", "message": f"{problem.problem} {problem.fix}", **item}
