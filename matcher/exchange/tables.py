"""Reading a member spreadsheet (CSV in any common encoding, or XLSX) into tables of text cells, and the
problems found in them, in English and Thai."""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from matcher.errors import RismepError, Unprocessable

MAX_FILE_BYTES = 5_000_000
MAX_ROWS = 20_000
MAX_UNPACKED_BYTES = 60_000_000  # an XLSX is a zip: refuse archives that unpack to more than this
MAX_LISTED_PROBLEMS = 1000
MAX_COLUMNS = 200  # columns of one sheet: the widest template has about 20
RESAVE_HINT = ("Re-save it as UTF-8: in Excel choose File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'; "
               "in LibreOffice tick 'Edit filter settings' and pick 'Unicode (UTF-8)'; or upload the .xlsx "
               "workbook itself. / บันทึกไฟล์ใหม่เป็น CSV UTF-8 หรือส่งไฟล์ .xlsx แทน")


class FileTooLarge(RismepError):
    """The file is over the size or row limit (HTTP 413)."""

    status = 413


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
    "bad_check_digit": ("หลักตรวจสอบของเลขประจำตัวไม่ถูกต้อง", "ตรวจเลข 13 หลักกับบัตรหรือหนังสือรับรอง หลักสุดท้ายคือเลขตรวจสอบ"),
    "control_character": ("เซลล์นี้มีอักขระควบคุมที่ใช้ไม่ได้", "พิมพ์ข้อความในเซลล์ใหม่ หรือวางแบบข้อความธรรมดา แล้วบันทึกใหม่"),
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
    try:
        return table_from_records(filename.rsplit("/", 1)[-1] or "file.csv", records)
    except csv.Error as error:  # e.g. a cell over the csv module's field size limit
        raise Unprocessable(f"The CSV file could not be read ({error}). " + RESAVE_HINT, field="file") from None


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
    except RismepError:
        raise
    except Exception as error:  # sheets are parsed lazily: entity declarations (defusedxml), damaged XML
        raise Unprocessable(f"The workbook could not be read ({type(error).__name__}); save it again from Excel "
                            f"or LibreOffice as .xlsx. / อ่านไฟล์ .xlsx ไม่ได้", field="file") from None
    finally:
        book.close()


def table_from_records(name: str, records) -> Table:
    """A Table from ``(row number, cells)`` pairs: the first non-blank row is the header."""
    header, rows, count = None, [], 0
    for number, cells in records:
        cells = _capped(name, number, cells)
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


def _capped(name: str, number: int, cells) -> list:
    """The row's cells, or Unprocessable when it has more than ``MAX_COLUMNS`` non-blank-trailing cells."""
    cells = list(cells)
    while cells and is_blank(cells[-1]):
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise Unprocessable(f"{name!r} row {number} has {len(cells):,} columns; at most {MAX_COLUMNS} are read. "
                            f"Keep only the template's columns (data/import_templates/). "
                            f"/ จำนวนคอลัมน์เกินกำหนด ใช้เฉพาะคอลัมน์ตามแบบฟอร์ม", field="file")
    return cells


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
