"""Checking each row of an imported member spreadsheet against the reference data and the store: every
problem is reported with its sheet, row, column, value and fix (English and Thai); nothing is guessed."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from matcher.errors import Unprocessable
from matcher.hygiene import control_character_in, is_valid_thai_id, thai_normalised
from matcher.exchange.tables import Problem, Table, cell_text, is_formula, norm
from matcher.hours import HOURS_EXAMPLE, canonical_hours
from matcher.reference import Reference

SIZES = {"micro": "micro", "รายย่อย": "micro", "small": "small", "ขนาดย่อม": "small", "ขนาดเล็ก": "small",
         "medium": "medium", "ขนาดกลาง": "medium"}
STAGES = {"upstream": "upstream", "ต้นน้ำ": "upstream", "midstream": "midstream", "กลางน้ำ": "midstream",
          "downstream": "downstream", "ปลายน้ำ": "downstream"}
YES = {"1", "yes", "y", "true", "ใช่", "ใช้งาน", "เปิด"}
NO = {"0", "no", "n", "false", "ไม่", "ไม่ใช่", "ไม่ใช้งาน", "ปิด"}


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
    return {
        "kind": table(ref.agency_kinds, "code", "name_en", "name_th"),
        "category": table(ref.categories, "code", "label_en", "label_th"),
        "sector": table(ref.sectors, "code", "name_en", "name_th"),
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
        text = thai_normalised(cell_text(value))
        bad = control_character_in(text)
        if bad is not None:
            self.problem(column, text[:60], "control_character", f"{column} holds the control character "
                         f"U+{ord(bad):04X}.", "Type the cell again (or paste it as plain text) and save again.")
            return None
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
                          f"Accepted: {', '.join(ctx.ref.sector_codes)}.")
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


def check_hours(check: RowCheck) -> str | None:
    """Opening hours in the canonical form (``Mo-Fr 08:30-16:30``), from Thai or English text."""
    text = check.text("hours", max_len=200)
    if not text:
        return text
    hours = canonical_hours(text)
    if hours is None:
        check.problem("hours", text, "bad_format", f"hours {text!r} are not days and times that can be read.",
                      f"Write the days, then the times, e.g. {HOURS_EXAMPLE}; separate rules with ';'.")
    return hours


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
    readers = {"phone": lambda: check.text("phone", max_len=60), "website": lambda: check_website(check),
               "address": lambda: check.text("address", max_len=300), "hours": lambda: check_hours(check)}
    for column, read in readers.items():
        if check.has(column):
            check.put(column, read() or None)


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
        if digits and not re.fullmatch(r"[0-9]{13}", digits):
            check.problem("tax_id", tax, "bad_format", f"tax_id {tax!r} is not 13 digits.",
                          "Write the 13-digit tax id (dashes and spaces are fine).")
        elif digits and not is_valid_thai_id(digits):
            check.problem("tax_id", tax, "bad_check_digit", f"tax_id {tax!r} has a wrong check digit.",
                          "Check the 13 digits against the certificate; the last one is a check digit.")
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
