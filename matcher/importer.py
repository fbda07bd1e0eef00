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

import codecs
import csv
import difflib
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .demo import SECTORS
from .errors import RismepError, Unprocessable
from .reference import Reference
from .store import imports as store

KINDS = ("agencies", "consultants", "offerings", "enterprises")
MAX_FILE_BYTES = 5_000_000
MAX_ROWS = 20_000
MAX_UNPACKED_BYTES = 60_000_000  # an XLSX is a zip: refuse archives that unpack to more than this
MAX_LISTED_PROBLEMS = 1000
RESAVE_HINT = ("Re-save it as UTF-8: in Excel choose File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'; "
               "in LibreOffice tick 'Edit filter settings' and pick 'Unicode (UTF-8)'; or upload the .xlsx "
               "workbook itself. / บันทึกไฟล์ใหม่เป็น CSV UTF-8 หรือส่งไฟล์ .xlsx แทน")


class FileTooLarge(RismepError):
    """The file is over the size or row limit (HTTP 413)."""

    status = 413


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
SIZES = {"micro": "micro", "รายย่อย": "micro", "small": "small", "ขนาดย่อม": "small", "ขนาดเล็ก": "small",
         "medium": "medium", "ขนาดกลาง": "medium"}
STAGES = {"upstream": "upstream", "ต้นน้ำ": "upstream", "midstream": "midstream", "กลางน้ำ": "midstream",
          "downstream": "downstream", "ปลายน้ำ": "downstream"}
YES = {"1", "yes", "y", "true", "ใช่", "ใช้งาน", "เปิด"}
NO = {"0", "no", "n", "false", "ไม่", "ไม่ใช่", "ไม่ใช้งาน", "ปิด"}

# Thai wording of each problem code: (problem, how to fix).
THAI = {
    "missing_value": ("ไม่ได้กรอกช่องที่ต้องกรอก", "กรอกข้อมูลในช่องนี้"),
    "unknown_province": ("ไม่รู้จักจังหวัดนี้", "ใช้รหัสจังหวัด (เช่น TH-50) ชื่อไทย หรือชื่ออังกฤษ"),
    "unknown_category": ("ไม่รู้จักหมวดบริการนี้", "ใช้รหัสหมวดบริการ หรือชื่อหมวดภาษาไทย/อังกฤษ"),
    "unknown_kind": ("ไม่รู้จักประเภทหน่วยงานนี้", "ใช้รหัสหรือชื่อประเภทหน่วยงาน"),
    "unknown_value": ("ไม่รู้จักค่านี้", "เลือกจากค่าที่แนะนำ"),
    "formula": ("เซลล์นี้เป็นสูตร ไม่ใช่ค่า", "คัดลอกแล้ววางแบบค่า (วางแบบพิเศษ > ค่า) แล้วบันทึกใหม่"),
    "not_a_number": ("ไม่ใช่ตัวเลข", "กรอกเป็นตัวเลข"),
    "out_of_range": ("ตัวเลขอยู่นอกช่วงที่รับได้", "กรอกตัวเลขในช่วงที่กำหนด"),
    "too_long": ("ข้อความยาวเกินกำหนด", "ย่อข้อความให้สั้นลง"),
    "bad_format": ("รูปแบบไม่ถูกต้อง", "แก้ตามรูปแบบที่กำหนด"),
    "duplicate": ("ข้อมูลซ้ำกับแถวก่อนหน้าในไฟล์", "รวมเป็นแถวเดียว"),
    "unknown_member": ("ไม่พบสมาชิกตามรหัสนี้", "ใช้รหัสอ้างอิงของสมาชิกในไฟล์หรือที่นำเข้าแล้ว"),
    "type_clash": ("รหัสนี้เป็นของสมาชิกอีกประเภทหนึ่ง", "ใช้รหัสอ้างอิงอื่น"),
    "unknown_cluster": ("ไม่พบคลัสเตอร์นี้", "ใช้รหัสคลัสเตอร์ที่มีอยู่"),
    "missing_column": ("ไม่มีคอลัมน์ที่ต้องมี", "เพิ่มคอลัมน์นี้ในแถวหัวตาราง"),
    "misspelt_column": ("ชื่อคอลัมน์คล้ายคอลัมน์ที่ใช้ได้แต่สะกดไม่ตรง", "แก้ชื่อคอลัมน์ให้ตรง"),
    "duplicate_column": ("ชื่อคอลัมน์ซ้ำ", "ลบคอลัมน์ที่ซ้ำ"),
    "unknown_sheet": ("ชื่อชีตคล้ายชนิดข้อมูลที่นำเข้าได้แต่สะกดไม่ตรง", "แก้ชื่อชีตให้ตรง"),
    "no_rows": ("ไม่มีแถวข้อมูล", "เพิ่มข้อมูลใต้แถวหัวตาราง"),
    "ignored_column": ("คอลัมน์นี้ไม่ได้ใช้และถูกข้าม", "ลบคอลัมน์นี้ได้"),
    "ignored_sheet": ("ชีตนี้ไม่ได้ใช้และถูกข้าม", "ลบชีตนี้ได้"),
    "no_capacity": ("ไม่ได้ระบุจำนวนรับต่อเดือน จึงบันทึกเป็น 0", "ระบุจำนวนรับต่อเดือน"),
}


@dataclass
class Problem:
    """One thing wrong (or, as a warning, worth knowing) about a cell, a column or a sheet."""

    sheet: str
    row: int | None
    column: str | None
    value: str | None
    code: str
    problem: str
    fix: str

    def as_dict(self) -> dict:
        th_problem, th_fix = THAI.get(self.code, ("", ""))
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "value": self.value,
                "code": self.code, "problem": self.problem, "problem_th": th_problem, "fix": self.fix,
                "fix_th": th_fix}


@dataclass
class Table:
    """One sheet (or the CSV file): its name, kind, header and data rows as text."""

    sheet: str
    header: list[str]
    rows: list[tuple[int, list]]  # (spreadsheet row number, cells)
    kind: str | None = None
    columns: dict[str, int] = field(default_factory=dict)


# -- reading files -----------------------------------------------------------------------------------
def read_tables(data: bytes, filename: str = "") -> tuple[str, str | None, list[Table]]:
    """``(format, encoding, tables)`` of a CSV or XLSX file given as bytes; file-level errors raise."""
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(f"The file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}. Split it into "
                           f"smaller files (one per kind) and import them one after another. "
                           f"/ ไฟล์ใหญ่เกินกำหนด แบ่งเป็นหลายไฟล์", field="file")
    if not data.strip():
        raise Unprocessable("The file is empty; it needs a header row and at least one data row. "
                            "/ ไฟล์ว่าง ต้องมีแถวหัวตารางและข้อมูลอย่างน้อยหนึ่งแถว", field="file")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise Unprocessable("This is an old Excel 97-2003 (.xls) file, which is not read; open it in Excel or "
                            "LibreOffice and save it as .xlsx or as CSV UTF-8. / บันทึกเป็น .xlsx หรือ CSV UTF-8",
                            field="file")
    if data.startswith(b"PK\x03\x04"):
        return "xlsx", None, xlsx_tables(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise Unprocessable(f"{filename!r} is named .xlsx but is not an Excel workbook; save it again from "
                            f"Excel or LibreOffice. / ไฟล์ไม่ใช่ไฟล์ Excel ที่ถูกต้อง", field="file")
    text, encoding = decode_text(data)
    return "csv", encoding, [csv_table(text, filename)]


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a UTF-8 file (BOM tolerated) and the encoding name; anything else is refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Unprocessable("The file is UTF-16 ('Unicode Text'), not UTF-8. " + RESAVE_HINT, field="file")
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise Unprocessable(encoding_problem(data, error) + " " + RESAVE_HINT, field="file") from None
    if "\x00" in text:
        raise Unprocessable("The file holds binary data (NUL bytes); it is not a CSV text file. " + RESAVE_HINT,
                            field="file")
    return text, encoding


def encoding_problem(data: bytes, error: UnicodeDecodeError) -> str:
    """Name the encoding a non-UTF-8 file most likely has."""
    try:
        guess = data.decode("cp874")
    except UnicodeDecodeError:
        guess = ""
    if re.search(r"[\u0e01-\u0e5b]", guess):
        return ("The file is not UTF-8: it looks like Thai TIS-620 / Windows-874 (cp874), the encoding of "
                "'CSV (Comma delimited)' in Thai Windows.")
    return f"The file is not UTF-8 (byte 0x{data[error.start]:02x} at position {error.start} is not valid UTF-8)."


def csv_table(text: str, filename: str = "") -> Table:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    records = enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)
    return table_from_records(filename.rsplit("/", 1)[-1] or "file.csv", records)


def xlsx_tables(data: bytes) -> list[Table]:
    """Every worksheet of an XLSX workbook, formulas kept as formulas so they can be refused."""
    import openpyxl
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise Unprocessable("The file is not a readable .xlsx workbook (damaged zip); save it again from Excel "
                            "or LibreOffice. / ไฟล์ .xlsx เสียหาย", field="file") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(f"The workbook unpacks to {unpacked:,} bytes; the limit is {MAX_UNPACKED_BYTES:,}. "
                           f"Split it into smaller files. / ไฟล์ใหญ่เกินกำหนด", field="file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds for damaged workbooks
        raise Unprocessable(f"The workbook could not be read ({type(error).__name__}); save it again from Excel "
                            f"or LibreOffice as .xlsx. / อ่านไฟล์ .xlsx ไม่ได้", field="file") from None
    try:
        return [table_from_records(sheet.title, enumerate(sheet.iter_rows(values_only=True), start=1))
                for sheet in book.worksheets]
    finally:
        book.close()


def table_from_records(name: str, records) -> Table:
    """A Table from ``(row number, cells)`` pairs: the first non-blank row is the header."""
    header, rows, count = None, [], 0
    for number, cells in records:
        cells = list(cells)
        if all(is_blank(c) for c in cells):
            continue
        if header is None:
            header = [cell_text(c) for c in cells]
            continue
        count += 1
        if count > MAX_ROWS:
            raise FileTooLarge(f"{name!r} has more than {MAX_ROWS:,} data rows; split it into smaller files. "
                               f"/ จำนวนแถวเกินกำหนด แบ่งเป็นหลายไฟล์", field="file")
        rows.append((number, cells))
    return Table(sheet=name, header=header or [], rows=rows)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_formula(value) -> bool:
    """True for a formula: a text starting with '=' or an openpyxl formula object."""
    if isinstance(value, str):
        return value.lstrip().startswith("=")
    return not (value is None or isinstance(value, (int, float, datetime, date, time, timedelta)))


def cell_text(value) -> str:
    """A cell as text: whole numbers without '.0', dates in ISO form, surrounding spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def norm(text: str) -> str:
    """Comparison key for names: lower case without spaces, underscores, hyphens, dots or brackets."""
    return re.sub(r"[\s_\-.()\[\]/]+", "", str(text).strip().lower())


# -- sheets and columns ----------------------------------------------------------------------------
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
class Choices:
    """Codes looked up by code, English or Thai name; close misspellings are suggested, never taken."""

    def __init__(self, names: dict[str, str], labels: dict[str, str]):
        self.by_key = {norm(name): code for name, code in names.items()}
        self.labels = labels

    def resolve(self, value: str) -> str | None:
        return self.by_key.get(norm(value))

    def suggestions(self, value: str) -> list[str]:
        close = difflib.get_close_matches(norm(value), list(self.by_key), n=4, cutoff=0.6)
        codes = list(dict.fromkeys(self.by_key[c] for c in close))
        return [self.labels.get(c, c) for c in codes[:3]]


def reference_choices(ref: Reference) -> dict[str, Choices]:
    def table(rows, code, *names):
        return Choices({r[n]: r[code] for r in rows for n in (code, *names)},
                       {r[code]: f"{r[code]} ({r[names[0]]} / {r[names[1]]})" for r in rows})
    sectors = [{"code": c, "th": th, "en": c.replace("_", " ")} for c, th in SECTORS.items()]
    return {
        "kind": table(ref.agency_kinds, "code", "name_en", "name_th"),
        "category": table(ref.categories, "code", "label_en", "label_th"),
        "sector": table(sectors, "code", "en", "th"),
        "size": Choices(SIZES, {v: v for v in SIZES.values()}),
        "stage": Choices(STAGES, {v: v for v in STAGES.values()}),
    }


@dataclass
class Context:
    """What row checks need: reference data, the store's keys and what the file itself defines."""

    ref: Reference
    keys: dict
    choices: dict
    file_members: dict = field(default_factory=dict)  # external_id -> type, for members in this file


class RowCheck:
    """Reads one row's cells by column name and collects its problems."""

    def __init__(self, table: Table, number: int, cells: list, problems: list):
        self.table, self.number, self.cells, self.problems = table, number, cells, problems
        self.row: dict = {}
        self.failed = False

    def has(self, column: str) -> bool:
        return column in self.table.columns

    def raw(self, column: str):
        index = self.table.columns.get(column)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def problem(self, column, value, code, problem, fix) -> None:
        self.failed = True
        self.problems.append(Problem(self.table.sheet, self.number, column, value, code, problem, fix))

    def text(self, column: str, *, required=False, max_len=200) -> str | None:
        """The cell's text ('' when empty), or None when the column is absent or the cell is bad."""
        if not self.has(column):
            return None
        value = self.raw(column)
        if is_formula(value):
            self.problem(column, str(value), "formula", f"The cell holds a formula ({str(value)[:60]}), not a "
                         f"value.", "Replace formulas with their values (Paste Special > Values) and save again.")
            return None
        text = cell_text(value)
        if required and not text:
            self.problem(column, "", "missing_value", f"{column} is required.", f"Fill in {column}.")
            return None
        if len(text) > max_len:
            self.problem(column, text[:60], "too_long", f"{column} is {len(text)} characters long; the limit "
                         f"is {max_len}.", f"Shorten it to {max_len} characters.")
            return None
        return text

    def put(self, column: str, value) -> None:
        self.row[column] = value


def check_choice(check: RowCheck, column: str, choices: Choices, code: str, *, required=False,
                 what: str | None = None) -> str | None:
    text = check.text(column, required=required)
    if not text:
        return None
    found = choices.resolve(text)
    if found is None:
        close = choices.suggestions(text)
        hint = f"Did you mean: {'; '.join(close)}?" if close else f"Use one of the {what or column} codes."
        check.problem(column, text, code, f"Unknown {what or column} {text!r}.",
                      f"{hint} Accepted: {', '.join(sorted(set(choices.by_key.values())))}.")
    return found


def check_province(check: RowCheck, ctx: Context) -> str | None:
    text = check.text("province", required=True)
    if not text:
        return None
    try:
        return ctx.ref.resolve_province(text)
    except Unprocessable as error:
        close = "; ".join(error.allowed or [])
        check.problem("province", text, "unknown_province", f"Unknown province {text!r}.",
                      (f"Did you mean: {close}? " if close else "") +
                      "Use the ISO code (TH-50), the English name (Chiang Mai) or the Thai name (เชียงใหม่).")
        return None


def check_number(check: RowCheck, column: str, lo: float, hi: float, *, whole=True, required=False,
                 percent=False):
    text = check.text(column, required=required, max_len=40)
    if not text:
        return None
    scale = 100.0 if percent and text.endswith("%") else 1.0
    try:
        value = float(text.rstrip("%").replace(",", "")) / scale
    except ValueError:
        check.problem(column, text, "not_a_number", f"{column} {text!r} is not a number.",
                      f"Write a {'whole ' if whole else ''}number between {lo:g} and {hi:g}.")
        return None
    if whole and not value.is_integer() or not lo <= value <= hi:
        check.problem(column, text, "out_of_range", f"{column} {text!r} is not a {'whole ' if whole else ''}"
                      f"number between {lo:g} and {hi:g}.", f"Write a number between {lo:g} and {hi:g}.")
        return None
    return int(value) if whole else round(value, 4)


def check_sectors(check: RowCheck, ctx: Context, column: str) -> str | None:
    text = check.text(column, max_len=500)
    if text is None:
        return None
    parts = [p for p in re.split(r"[,;|]+" if re.search(r"[,;|]", text) else r"\s+", text) if p.strip()]
    codes = []
    for part in parts:
        code = ctx.choices["sector"].resolve(part)
        if code is None:
            close = ctx.choices["sector"].suggestions(part)
            check.problem(column, part, "unknown_value", f"Unknown sector {part.strip()!r}.",
                          (f"Did you mean: {'; '.join(close)}? " if close else "") +
                          f"Accepted: {', '.join(SECTORS)}.")
            return None
        codes.append(code)
    return " ".join(dict.fromkeys(codes))


def check_active(check: RowCheck) -> int | None:
    text = check.text("active", max_len=20)
    if text is None:
        return None
    if not text or text.lower() in YES:
        return 1
    if text.lower() in NO:
        return 0
    check.problem("active", text, "bad_format", f"active {text!r} is not yes or no.", "Write yes or no (ใช่/ไม่).")
    return None


def check_external_id(check: RowCheck, seen: dict, column: str = "external_id") -> str | None:
    text = check.text(column, required=True, max_len=64)
    if not text:
        return None
    if text in seen:
        check.problem(column, text, "duplicate", f"{column} {text!r} already appears in row {seen[text]}.",
                      "Each row needs its own external_id; merge the two rows.")
        return None
    seen[text] = check.number
    return text


def member_ref(check: RowCheck, ctx: Context, column: str, *, agency_only=False) -> tuple | None:
    """``("external_id", x)`` or ``("id", x)`` for a member named in this file or the store."""
    text = check.text(column, required=column == "member", max_len=64)
    if not text:
        return None
    wanted = {"agency"} if agency_only else {"agency", "consultant"}
    known = ctx.keys["members"].get(text)
    type_ = ctx.file_members.get(text) or (known["type"] if known else None)
    if type_ in wanted:
        return ("external_id", text)
    if ctx.keys["member_types"].get(text) in wanted:
        return ("id", text)
    what = "agency" if agency_only else "agency or consultant"
    check.problem(column, text, "unknown_member", f"No {what} with external_id or id {text!r}.",
                  f"Give the external_id of an {what} in this file or already imported, or its id (e.g. "
                  f"{'A0001' if agency_only else 'A0001 or C0001'}).")
    return None


def check_website(check: RowCheck) -> str | None:
    text = check.text("website", max_len=300)
    if text and not re.match(r"^https?://[^\s/$.?#][^\s]*$", text, re.I):
        check.problem("website", text, "bad_format", f"website {text!r} is not an http(s) address.",
                      f"Write the full address, e.g. https://{text.split('://')[-1]}.")
        return None
    return text


def check_member_row(check: RowCheck, ctx: Context, seen: dict, type_: str) -> None:
    external_id = check_external_id(check, seen)
    if external_id:
        known = ctx.keys["members"].get(external_id)
        if known and known["type"] != type_:
            check.problem("external_id", external_id, "type_clash",
                          f"external_id {external_id!r} belongs to {known['type']} {known['id']}.",
                          f"Use another external_id for this {type_}.")
    check.put("external_id", external_id)
    check.put("name_th", check.text("name_th", required=True))
    values = {"name_en": check.text("name_en"), "province": check_province(check, ctx),
              "sectors": check_sectors(check, ctx, "sectors"), "active": check_active(check)}
    for column, value in values.items():
        if check.has(column):
            check.put(column, value if column == "active" else (value or None))


def check_agency(check: RowCheck, ctx: Context, seen: dict) -> None:
    check_member_row(check, ctx, seen, "agency")
    check.put("kind", check_choice(check, "kind", ctx.choices["kind"], "unknown_kind", required=True,
                                   what="agency kind"))
    for column in ("phone", "website"):
        if check.has(column):
            check.put(column, (check_website(check) if column == "website" else check.text(column, max_len=60))
                      or None)


def check_consultant(check: RowCheck, ctx: Context, seen: dict) -> None:
    check_member_row(check, ctx, seen, "consultant")
    if check.has("affiliation"):
        check.put("affiliation", member_ref(check, ctx, "affiliation", agency_only=True))
    if check.has("years_experience"):
        check.put("years_experience", check_number(check, "years_experience", 0, 70))


def check_offering(check: RowCheck, ctx: Context, seen: dict) -> None:
    member = member_ref(check, ctx, "member")
    category = check_choice(check, "category", ctx.choices["category"], "unknown_category", required=True,
                            what="service category")
    if member and category:
        key = (member[1], category)
        if key in seen:
            check.problem("category", category, "duplicate", f"{member[1]} offers {category} already in row "
                          f"{seen[key]}.", "Keep one row per member and category.")
        seen[key] = check.number
    check.put("member", member)
    check.put("category", category)
    check.put("capacity_month", check_number(check, "capacity_month", 0, 10_000, required=True))
    if check.has("specialisation"):
        value = check_number(check, "specialisation", 0, 1, whole=False, percent=True)
        check.put("specialisation", 0.5 if value is None else value)


def check_enterprise(check: RowCheck, ctx: Context, seen: dict) -> None:
    check.put("external_id", check_external_id(check, seen))
    check.put("name", check.text("name", required=True))
    check.put("province", check_province(check, ctx))
    if check.has("sector"):
        check.put("sector", check_choice(check, "sector", ctx.choices["sector"], "unknown_value"))
    for column in ("size", "stage"):
        if check.has(column):
            check.put(column, check_choice(check, column, ctx.choices[column], "unknown_value"))
    if check.has("cluster_id"):
        cluster = check.text("cluster_id", max_len=64)
        if cluster and cluster not in ctx.keys["clusters"]:
            check.problem("cluster_id", cluster, "unknown_cluster", f"No cluster with id {cluster!r}.",
                          f"Use one of: {', '.join(sorted(ctx.keys['clusters'])) or '(no clusters yet)'}.")
        check.put("cluster_id", cluster or None)
    for column in ("contact_name", "contact_phone"):
        if check.has(column):
            check.put(column, check.text(column, max_len=100) or None)
    if check.has("contact_email"):
        email = check.text("contact_email", max_len=200)
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            check.problem("contact_email", email, "bad_format", f"{email!r} is not an e-mail address.",
                          "Write it as name@example.com or leave the cell empty.")
        check.put("contact_email", email or None)
    if check.has("tax_id"):
        tax = check.text("tax_id", max_len=40)
        digits = re.sub(r"[\s-]", "", tax or "")
        if digits and not re.fullmatch(r"\d{13}", digits):
            check.problem("tax_id", tax, "bad_format", f"tax_id {tax!r} is not 13 digits.",
                          "Write the 13-digit tax id (dashes and spaces are fine).")
        check.put("tax_id", digits or None)


CHECKS = {"agencies": check_agency, "consultants": check_consultant, "offerings": check_offering,
          "enterprises": check_enterprise}


def check_table(table: Table, ctx: Context, problems: list) -> list[dict]:
    """The store-ready rows of one table; the bad ones are reported in ``problems`` instead."""
    seen, out = {}, []
    if not table.rows:
        problems.append(Problem(table.sheet, None, None, None, "no_rows", f"{table.sheet!r} has a header but "
                                f"no data rows.", "Add rows under the header, or drop the sheet."))
    for number, cells in table.rows:
        check = RowCheck(table, number, cells, problems)
        CHECKS[table.kind](check, ctx, seen)
        if not check.failed:
            out.append(dict(check.row, _row=number, _sheet=table.sheet))
    return out


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
