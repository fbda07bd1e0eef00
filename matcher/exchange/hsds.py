"""Open Referral HSDS 3.0: export the directory, read it back, and the nested views the HSDS API serves.

The export is one JSON object in HSDS's tabular form (``compiled/tabular.json``: one array per HSDS
table). How our data maps onto HSDS:

- each **agency** is an ``organization`` (name = Thai name, alternate_name = English name) with its
  ``phone``, a ``location`` at its province seat (``external_identifier`` = the ISO 3166-2:TH code) with the
  public street ``address`` (``address_1``) and the opening hours as weekly ``schedule`` rows, and
  ``organization_identifier`` rows holding our member id (``rismep_member_id``) and the network's
  ``external_id``; its kind, sectors, active and synthetic flags are ``attribute`` rows;
- each **offering** (agency x category) is a ``service`` with a ``service_at_location``, a
  ``service_area`` for the province served and attributes for its category (a ``taxonomy_term`` of the
  22 RISMEP categories), its capacity per month and its specialisation;
- four ``taxonomy`` rows: the 22 service categories, the agency kinds, the 77 provinces and the
  RISMEP fields HSDS has no column for (capacity_month, specialisation, sectors, active, synthetic).

HSDS has no place for consultants (individuals: personal data), enterprises, referrals, outcomes or
consent; the export leaves them out and says how many rows it left out. Ids are UUIDs derived with
uuid5 from our ids under a fixed namespace, so the same store always exports the same document, and
``import_hsds`` maps them back: export then import round-trips everything HSDS holds.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import defaultdict

from matcher.errors import Unprocessable
from matcher.exchange.importer import problem_error
from matcher.exchange.row_checks import Choices
from matcher.exchange.tables import FileTooLarge, Problem
from matcher.hours import hours_from_schedules, hours_text, schedule_rows
from matcher.reference import Reference
from matcher.store import imports as store

HSDS_VERSION = "3.0"
HSDS_PROFILE = "https://docs.openreferral.org/en/3.0/hsds/"
HSDS_OPENAPI = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:rismep:hsds")
MAX_DOCUMENT_BYTES = 200_000_000
TABLES = ("organization", "organization_identifier", "phone", "location", "address", "schedule", "service",
          "service_at_location", "service_area", "taxonomy", "taxonomy_term", "attribute")
MEMBER_ID_TYPE, EXTERNAL_ID_TYPE, PROVINCE_ID_TYPE = "rismep_member_id", "external_id", "ISO 3166-2"
TAXONOMIES = {
    "categories": ("RISMEP service categories",
                   "หมวดบริการ 22 หมวดของเครือข่าย RISMEP / The 22 service categories the RISMEP one-stop-service "
                   "desks refer enterprises to (codes of data/taxonomy.csv)."),
    "agency_kinds": ("RISMEP agency kinds",
                     "ประเภทหน่วยงานให้บริการ (BDSP) / Kinds of business development service agency."),
    "provinces": ("ISO 3166-2:TH provinces", "จังหวัดของประเทศไทย 76 จังหวัดและกรุงเทพมหานคร / The 76 provinces "
                  "of Thailand and Bangkok, by ISO 3166-2:TH code."),
    "fields": ("RISMEP fields", "ข้อมูลของ RISMEP ที่ HSDS ไม่มีคอลัมน์รองรับ / Fields of the RISMEP directory "
               "that HSDS has no column for; the attribute value holds the value."),
}
FIELD_TERMS = {
    "capacity_month": ("จำนวนรับต่อเดือน", "Capacity: cases a month the agency can take in this category"),
    "specialisation": ("ความเชี่ยวชาญ", "Specialisation in this category, 0 to 1"),
    "sectors": ("สาขาอุตสาหกรรม", "Sectors served (space-separated codes)"),
    "active": ("ใช้งาน", "Whether the member takes referrals (true or false)"),
    "synthetic": ("ข้อมูลสมมติ", "true when the record is synthetic demo data, not a real organisation"),
}
SYNTHETIC_NOTE = " (ข้อมูลสมมติ / SYNTHETIC demo data, not a real organisation)"


def hsds_id(*parts: str) -> str:
    """A stable UUID for an HSDS row named by our ids (uuid5 under a fixed namespace)."""
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def term_id(taxonomy: str, code: str) -> str:
    return hsds_id("taxonomy_term", taxonomy, code)


# -- export ----------------------------------------------------------------------------------------
def taxonomy_tables(ref: Reference) -> dict[str, list[dict]]:
    """The four taxonomies and their terms (22 categories, agency kinds, 77 provinces, RISMEP fields)."""
    terms = {
        "categories": [(c["code"], c["label_th"], c["label_en"]) for c in ref.categories],
        "agency_kinds": [(k["code"], k["name_th"], k["name_en"]) for k in ref.agency_kinds],
        "provinces": [(p["code"], p["name_th"], p["name_en"]) for p in ref.provinces],
        "fields": [(code, th, en) for code, (th, en) in FIELD_TERMS.items()],
    }
    taxonomies, rows = [], []
    for key, (name, description) in TAXONOMIES.items():
        tax_id = hsds_id("taxonomy", key)
        taxonomies.append({"id": tax_id, "name": name, "description": description, "version": "1"})
        rows += [{"id": term_id(key, code), "code": code, "name": th, "description": en, "taxonomy": name,
                  "taxonomy_id": tax_id, "language": "th"} for code, th, en in terms[key]]
    return {"taxonomy": taxonomies, "taxonomy_term": rows}


def attribute(entity: str, link_id: str, taxonomy: str, code: str, value, link_type: str) -> dict:
    return {"id": hsds_id("attribute", entity, link_id, taxonomy, code), "link_id": link_id,
            "taxonomy_term_id": term_id(taxonomy, code), "link_type": link_type, "link_entity": entity,
            "value": value if isinstance(value, str) else json.dumps(value)}


def organization_tables(m: dict, ref: Reference) -> dict[str, list[dict]]:
    """The HSDS rows of one agency and its offerings."""
    org_id, loc_id = hsds_id("organization", m["id"]), hsds_id("location", m["id"])
    kind, prov = ref.kind_by_code[m["kind"]], ref.province_by_code[m["province"]]
    note = SYNTHETIC_NOTE if m["synthetic"] else ""
    org = {"id": org_id, "name": m["name_th"],
           "description": f"{kind['name_th']} ({prov['name_th']}) / {kind['name_en']}, {prov['name_en']}{note}"}
    if m.get("name_en"):
        org["alternate_name"] = m["name_en"]
    if m.get("website"):
        org["website"] = m["website"]
    out = {t: [] for t in TABLES}
    out["organization"].append(org)
    idents = [(MEMBER_ID_TYPE, m["id"])] + ([(EXTERNAL_ID_TYPE, m["external_id"])] if m.get("external_id") else [])
    out["organization_identifier"] = [
        {"id": hsds_id("organization_identifier", m["id"], kind_), "organization_id": org_id,
         "identifier_scheme": "RISMEP", "identifier_type": kind_, "identifier": value} for kind_, value in idents]
    if m.get("phone"):
        out["phone"].append({"id": hsds_id("phone", m["id"]), "organization_id": org_id, "number": m["phone"]})
    out["location"].append({
        "id": loc_id, "location_type": "physical", "organization_id": org_id, "name": f"{m['name_th']}",
        "description": f"ที่ตั้งโดยประมาณ: ศาลากลางจังหวัด{prov['name_th']} / approximate: the seat of "
                       f"{prov['name_en']} province", "latitude": prov["lat"], "longitude": prov["lon"],
        "external_identifier": prov["code"], "external_identifier_type": PROVINCE_ID_TYPE})
    out["address"] += address_rows(m, loc_id, prov)
    out["schedule"] += [dict(row, id=hsds_id("schedule", m["id"], str(i)), location_id=loc_id,
                             description=f"{hours_text(m['hours'], 'th')} / {hours_text(m['hours'], 'en')}")
                        for i, row in enumerate(schedule_rows(m.get("hours")))]
    out["attribute"] += [
        attribute("organization", org_id, "agency_kinds", m["kind"], m["kind"], "agency_kind"),
        attribute("organization", org_id, "fields", "sectors", m["sectors"] or "", "sectors"),
        attribute("organization", org_id, "fields", "active", bool(m["active"]), "active"),
        attribute("organization", org_id, "fields", "synthetic", bool(m["synthetic"]), "synthetic")]
    for o in m["offerings"]:
        for table, rows in service_tables(m, o, org_id, loc_id, ref, note).items():
            out[table] += rows
    return out


def address_rows(m: dict, loc_id: str, prov: dict) -> list[dict]:
    """The agency's public street address (one line, kept whole in address_1), if it has one."""
    if not m.get("address"):
        return []
    return [{"id": hsds_id("address", m["id"]), "location_id": loc_id, "address_1": m["address"], "city": "",
             "state_province": prov["name_en"], "postal_code": "", "country": "TH", "address_type": "physical"}]


def service_tables(m: dict, o: dict, org_id: str, loc_id: str, ref: Reference, note: str) -> dict:
    cat, prov = ref.category_by_code[o["category"]], ref.province_by_code[m["province"]]
    service_id = hsds_id("service", m["id"], o["category"])
    area_id = hsds_id("service_area", m["id"], o["category"])
    n = o["capacity_month"]
    service = {"id": service_id, "organization_id": org_id, "name": cat["label_th"], "alternate_name": cat["label_en"],
               "description": f"{cat['label_th']} โดย {m['name_th']} รับได้ {n} เรื่องต่อเดือน / {cat['label_en']} by "
                              f"{m.get('name_en') or m['name_th']}, capacity {n} cases a month{note}",
               "status": "active" if m["active"] else "inactive"}
    return {
        "service": [service],
        "service_at_location": [{"id": hsds_id("service_at_location", m["id"], o["category"]),
                                 "service_id": service_id, "location_id": loc_id}],
        "service_area": [{"id": area_id, "service_id": service_id, "name": prov["name_en"],
                          "description": f"จังหวัด{prov['name_th']} ({prov['code']})",
                          "uri": f"iso3166-2:{prov['code']}"}],
        "attribute": [
            attribute("service", service_id, "categories", o["category"], o["category"], "service_category"),
            attribute("service", service_id, "fields", "capacity_month", int(o["capacity_month"]), "capacity_month"),
            attribute("service", service_id, "fields", "specialisation", float(o["specialisation"]), "specialisation"),
            attribute("service_area", area_id, "provinces", prov["code"], prov["code"], "province")],
    }


def export_directory(agencies: list[dict], ref: Reference) -> dict[str, list[dict]]:
    """The HSDS 3.0 document (tabular form) of these agencies, deterministic for the same rows.

    ``agencies`` rows as returned by ``matcher.store.imports.agencies_with_offerings``. O(agencies + offerings).
    """
    doc = {t: [] for t in TABLES}
    for m in agencies:
        for table, rows in organization_tables(m, ref).items():
            doc[table] += rows
    doc.update(taxonomy_tables(ref))
    return doc


def export_store(db, ref: Reference) -> tuple[dict, dict]:
    """``(document, summary)`` for the whole store; the summary counts what HSDS could not hold."""
    doc = export_directory(store.agencies_with_offerings(db), ref)
    summary = {"hsds_version": HSDS_VERSION, "counts": {t: len(rows) for t, rows in doc.items()},
               "left_out": store.number_of_rows_left_out_of_hsds(db)}
    return doc, summary


# -- reading a document back -------------------------------------------------------------------------
NESTED = {  # parent table -> {key holding nested rows: child table}
    "organization": {"phones": "phone", "locations": "location", "organization_identifiers":
                     "organization_identifier", "attributes": "attribute", "services": "service"},
    "service": {"phones": "phone", "service_areas": "service_area", "service_at_locations": "service_at_location",
                "attributes": "attribute", "organization": "organization"},
    "service_at_location": {"location": "location", "service": "service", "attributes": "attribute",
                            "phones": "phone"},
    "location": {"phones": "phone", "attributes": "attribute", "addresses": "address", "schedules": "schedule"},
    "schedule": {"attributes": "attribute"},
    "service_area": {"attributes": "attribute"},
    "organization_identifier": {"attributes": "attribute"},
    "phone": {"attributes": "attribute"},
    "address": {"attributes": "attribute"},
    "attribute": {"taxonomy_term": "taxonomy_term"},
    "taxonomy_term": {"taxonomy_detail": "taxonomy"},
}
CHILD_LINK = {("organization", "phone"): "organization_id", ("organization", "location"): "organization_id",
              ("organization", "organization_identifier"): "organization_id",
              ("organization", "service"): "organization_id", ("service", "phone"): "service_id",
              ("service", "service_area"): "service_id", ("service", "service_at_location"): "service_id",
              ("location", "phone"): "location_id", ("location", "address"): "location_id",
              ("location", "schedule"): "location_id"}
TABLE_KEYS = {**{t: t for t in (*NESTED, "taxonomy")}, **{f"{t}s": t for t in NESTED if t != "address"},
              "addresses": "address", "taxonomies": "taxonomy"}
PARENT_LINK = {("service", "organization"): "organization_id", ("service_at_location", "location"): "location_id",
               ("service_at_location", "service"): "service_id", ("attribute", "taxonomy_term"): "taxonomy_term_id",
               ("taxonomy_term", "taxonomy"): "taxonomy_id"}


def load_document(data: bytes):
    """The parsed JSON of an HSDS file (UTF-8), or a clear error."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FileTooLarge(f"The file is {len(data):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,}.", field="file")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Unprocessable("The HSDS file is not UTF-8 JSON; save it as UTF-8.", field="file") from None
    except json.JSONDecodeError as error:
        raise Unprocessable(f"The HSDS file is not valid JSON (line {error.lineno}, column {error.colno}: "
                            f"{error.msg}).", field="file") from None


def flatten(doc) -> dict[str, dict[str, dict]]:
    """HSDS rows by table and id from a tabular document (table -> rows), a list of nested services or
    organizations, or an API page (``contents``); nested rows are pulled out and linked to their parent."""
    tables: dict[str, dict[str, dict]] = defaultdict(dict)
    if isinstance(doc, dict) and "contents" in doc:
        doc = doc["contents"]
    if isinstance(doc, list):
        doc = {"service" if any("status" in r for r in doc if isinstance(r, dict)) else "organization": doc}
    if not isinstance(doc, dict):
        raise Unprocessable("An HSDS document is a JSON object of tables (organization, service, ...) or a "
                            "list of services; this file is neither.", field="file")
    for key, rows in doc.items():
        table = TABLE_KEYS.get(key)
        if table is not None:
            if not isinstance(rows, list):
                raise Unprocessable(f"{key!r} must be a list of rows.", field=key)
            for row in rows:
                _take(tables, table, row, None, None)
    return tables


def _take(tables, table: str, row, parent_table, parent) -> None:
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        raise Unprocessable(f"Every {table} row needs a string id; found {str(row)[:80]!r}.", field=table)
    flat = {k: v for k, v in row.items() if not isinstance(v, (dict, list))}
    if parent is not None:
        if (parent_table, table) in CHILD_LINK:
            flat.setdefault(CHILD_LINK[parent_table, table], parent["id"])
        elif table == "attribute":
            flat.setdefault("link_id", parent["id"])
            flat.setdefault("link_entity", parent_table)
    stored = tables[table].setdefault(flat["id"], flat)
    for key, value in flat.items():
        stored.setdefault(key, value)
    for key, child_table in NESTED.get(table, {}).items():
        children = row.get(key)
        if isinstance(children, dict):
            if (table, child_table) in PARENT_LINK and isinstance(children.get("id"), str):
                stored.setdefault(PARENT_LINK[table, child_table], children["id"])
            _take(tables, child_table, children, table, stored)
        elif isinstance(children, list):
            for child in children:
                _take(tables, child_table, child, table, stored)


class Reader:
    """Maps flattened HSDS rows onto our agencies and offerings, collecting problems."""

    def __init__(self, tables: dict, ref: Reference):
        self.t, self.ref = tables, ref
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.attrs = self.grouped("attribute", "link_id")
        self.of_org = {t: self.grouped(t, "organization_id") for t in ("organization_identifier", "phone", "location")}
        self.addresses = self.grouped("address", "location_id")
        self.schedules = self.grouped("schedule", "location_id")
        ours = {hsds_id("taxonomy", key): key for key in TAXONOMIES}
        names = {name: key for key, (name, _) in TAXONOMIES.items()}
        self.term_taxonomy = {tid: ours.get(t.get("taxonomy_id")) or names.get(t.get("taxonomy"))
                              for tid, t in tables["taxonomy_term"].items()}
        self.categories = Choices({v: c["code"] for c in ref.categories for v in (c["code"], c["label_en"],
                                   c["label_th"])}, {})

    def grouped(self, table: str, link: str) -> dict[str, list[dict]]:
        out = defaultdict(list)
        for row in self.t[table].values():
            out[row.get(link)].append(row)
        return out

    def problem(self, table, row_id, column, value, text, fix, code="bad_value") -> None:
        self.problems.append(Problem(table, None, column, f"{row_id}: {value}" if value else row_id, code, text, fix))

    def field(self, link_id: str, taxonomy: str, code: str | None = None):
        """The value of the attribute linking ``link_id`` to a term of ``taxonomy`` (and ``code``)."""
        for a in self.attrs.get(link_id, ()):
            term = self.t["taxonomy_term"].get(a.get("taxonomy_term_id"), {})
            if self.term_taxonomy.get(a.get("taxonomy_term_id")) == taxonomy and code in (None, term.get("code")):
                return a.get("value") if code else term.get("code")
        return None

    def category_of(self, service: dict) -> str | None:
        found = self.field(service["id"], "categories")
        if found in self.ref.category_by_code:
            return found
        for a in self.attrs.get(service["id"], ()):
            term = self.t["taxonomy_term"].get(a.get("taxonomy_term_id"), {})
            for value in (term.get("code"), term.get("name")):
                if value and self.categories.resolve(value):
                    return self.categories.resolve(value)
        return None

    def province_of(self, org: dict) -> str | None:
        candidates = []
        for loc in self.of_org["location"].get(org["id"], ()):
            if loc.get("external_identifier_type") == PROVINCE_ID_TYPE:
                candidates.append(loc.get("external_identifier"))
            candidates += [a.get("state_province") for a in self.addresses.get(loc["id"], ())]
        for value in filter(None, candidates):
            try:
                return self.ref.resolve_province(value)
            except Unprocessable:
                continue
        return None

    def place_of(self, org: dict) -> dict:
        """The street address (address_1) and the opening hours (weekly schedules) of the organization's
        locations."""
        locations = self.of_org["location"].get(org["id"], ())
        lines = sorted(a["address_1"] for loc in locations for a in self.addresses.get(loc["id"], ())
                       if a.get("address_1"))
        schedules = [s for loc in locations for s in self.schedules.get(loc["id"], ())
                     if str(s.get("freq") or "WEEKLY").upper() == "WEEKLY"]
        return {"address": lines[0] if lines else None, "hours": hours_from_schedules(schedules)}

    def agency(self, org: dict) -> dict | None:
        idents = {i.get("identifier_type"): i.get("identifier")
                  for i in self.of_org["organization_identifier"].get(org["id"], ())}
        row = {"name_th": org.get("name"), "name_en": org.get("alternate_name"), "website": org.get("website")}
        member_id = idents.get(MEMBER_ID_TYPE)
        if member_id is not None and not re.fullmatch(r"A\d{1,9}", str(member_id)):
            self.problem("organization", org["id"], "organization_identifier", member_id,
                         f"{MEMBER_ID_TYPE} {member_id!r} is not an agency id.", "Agency ids look like A0001.")
        if member_id:
            row["id"] = member_id
        row["external_id"] = idents.get(EXTERNAL_ID_TYPE) or (None if member_id else f"hsds:{org['id']}")
        row["kind"] = self.field(org["id"], "agency_kinds")
        row["province"] = self.province_of(org)
        phones = sorted(p["number"] for p in self.of_org["phone"].get(org["id"], ())
                        if not p.get("service_id") and p.get("number"))
        row["phone"] = phones[0] if phones else None
        row.update(self.place_of(org))
        row["sectors"] = self.field(org["id"], "fields", "sectors") or None
        row["active"] = int(self.field(org["id"], "fields", "active") not in ("false", "0"))
        row["synthetic"] = int(self.field(org["id"], "fields", "synthetic") in ("true", "1"))
        return self.checked_agency(org, row)

    def checked_agency(self, org: dict, row: dict) -> dict | None:
        before = len(self.problems)
        if not row["name_th"]:
            self.problem("organization", org["id"], "name", None, "The organization has no name.", "Give it a name.")
        if row["kind"] not in self.ref.kind_by_code:
            self.problem("organization", org["id"], "attributes", row["kind"], "The organization has no RISMEP "
                         "agency kind.", f"Add an attribute with a term of the {TAXONOMIES['agency_kinds'][0]!r} "
                         f"taxonomy (codes: {', '.join(self.ref.kind_by_code)}).", "unknown_kind")
        if row["province"] is None:
            self.problem("organization", org["id"], "locations", None, "The organization's province is unknown.",
                         f"Give it a location with external_identifier_type {PROVINCE_ID_TYPE!r} and the ISO code "
                         f"(TH-50), or an address whose state_province is a province name.", "unknown_province")
        if row["website"] and not re.match(r"^https?://", row["website"]):
            row["website"] = None
        return row if len(self.problems) == before else None

    def offering(self, service: dict, members: dict) -> dict | None:
        member = members.get(service.get("organization_id"))
        category = self.category_of(service)
        if member is None:
            return None  # its organization is missing or bad; reported there or below
        if category is None:
            self.problem("service", service["id"], "attributes", service.get("name"),
                         "The service has no RISMEP service category.",
                         "Add an attribute with a term of the 'RISMEP service categories' taxonomy (or a term whose "
                         "code or name is a category code, English or Thai label).", "unknown_category")
            return None
        capacity = self.number(service, "capacity_month", whole=True)
        if capacity is None:
            self.warnings.append(Problem("service", None, "attributes", service["id"], "no_capacity",
                                         "The service states no capacity_month; it is imported with capacity 0.",
                                         "Add a capacity_month attribute."))
        spec = self.number(service, "specialisation")
        return {"member": ("id", member["id"]) if member.get("id") else ("external_id", member["external_id"]),
                "category": category, "capacity_month": capacity or 0,
                "specialisation": 0.5 if spec is None else min(max(spec, 0.0), 1.0)}

    def number(self, service: dict, code: str, whole: bool = False):
        value = self.field(service["id"], "fields", code)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number) or number < 0 or (whole and not number.is_integer()):
            self.problem("service", service["id"], code, value, f"{code} {value!r} is not a valid number.",
                         "Give a non-negative number.")
            return None
        return int(number) if whole else number


def rows_from_hsds(doc, ref: Reference) -> tuple[dict, list[Problem], list[Problem]]:
    """``(batch for write_import, problems, warnings)`` from an HSDS document."""
    tables = flatten(doc)
    for table in ("organization", "organization_identifier", "phone", "location", "address", "schedule", "service",
                  "service_area", "taxonomy_term", "attribute"):
        tables.setdefault(table, {})
    reader = Reader(tables, ref)
    members, agencies = {}, []
    for org in sorted(tables["organization"].values(), key=lambda o: o["id"]):
        row = reader.agency(org)
        if row is not None:
            members[org["id"]] = row
            agencies.append(row)
    offerings = []
    for service in sorted(tables["service"].values(), key=lambda s: s["id"]):
        if service.get("organization_id") not in tables["organization"]:
            reader.problem("service", service["id"], "organization_id", service.get("organization_id"),
                           "The service's organization is not in the file.", "Include the organization.")
            continue
        row = reader.offering(service, members)
        if row is not None:
            offerings.append(row)
    return {"agencies": agencies, "offerings": offerings}, reader.problems, reader.warnings


def import_hsds(db, doc, *, ref: Reference, dry_run: bool = False) -> dict:
    """Upsert the organizations and services of an HSDS document as agencies and offerings, in one
    transaction; problems raise :class:`Unprocessable` (a dry run reports them instead) and write nothing."""
    batch, problems, warnings_ = rows_from_hsds(doc, ref)
    report = {"ok": True, "dry_run": dry_run, "valid": not problems, "imported": False,
              "read": {"organizations": len(batch["agencies"]), "services": len(batch["offerings"])},
              "counts": {}, "problems_total": len(problems), "problems": [p.as_dict() for p in problems[:1000]],
              "warnings": [w.as_dict() for w in warnings_[:1000]]}
    if problems:
        if dry_run:
            return report
        raise Unprocessable(f"{len(problems)} problem(s) in the HSDS file; nothing was imported. First: "
                            f"{problems[0].sheet} {problems[0].value}: {problems[0].problem} {problems[0].fix}",
                            field="file", errors=[problem_error(p) for p in problems[:1000]])
    report["counts"] = store.write_import(db, batch, dry_run=dry_run)
    report["counts"].pop("rows", None)
    report["imported"] = not dry_run
    return report


# -- the nested views of the HSDS API ----------------------------------------------------------------