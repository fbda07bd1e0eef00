"""Bulk data in and out: the import upserts (spreadsheets, HSDS) and the reads the exports are built from.

``write_import(db, batch)`` upserts agencies, consultants, offerings and enterprises in ONE transaction
(all or nothing) and bumps the data version; with ``dry_run=True`` it does the same writes and rolls them
back, so a dry run counts exactly what a real run would do. Members are matched by ``id`` when a row
carries one (HSDS round trips) and otherwise by ``external_id``; new members get the next free id
(``A0246``, ``C0218``). Only the columns a row carries are written, so a column absent from a file keeps
its stored value. Nothing is ever deleted here.
"""

from __future__ import annotations

import sqlite3

from matcher.clock import now_text
from matcher.errors import Conflict, Unprocessable

from . import bump_data_version, transaction

MEMBER_FIELDS = ("name_th", "name_en", "province", "sectors", "active", "synthetic", "external_id")
TYPE_FIELDS = {"agency": ("kind", "phone", "website", "address", "hours"),
               "consultant": ("affiliation", "years_experience")}
TYPE_TABLE = {"agency": "agencies", "consultant": "consultants"}
ID_PREFIX = {"agency": "A", "consultant": "C"}
ENTERPRISE_FIELDS = ("name", "province", "sector", "size", "cluster_id", "stage", "contact_name", "contact_phone",
                     "contact_email", "tax_id")
OFFERING_FIELDS = ("capacity_month", "specialisation")


def import_keys(db) -> dict:
    """The store's keys an import is checked against: members by external id, member types by id, cluster ids."""
    return {
        "members": {r["external_id"]: {"id": r["id"], "type": r["type"]} for r in db.query(
            "SELECT id, type, external_id FROM members WHERE external_id IS NOT NULL")},
        "member_types": dict(db.execute("SELECT id, type FROM members").fetchall()),
        "clusters": {r[0] for r in db.execute("SELECT id FROM clusters")},
    }


class _RollBack(Exception):
    """Raised inside the transaction of a dry run to undo its writes after counting them."""


def write_import(db, batch: dict, *, dry_run: bool = False, now: str | None = None) -> dict:
    """Upsert ``batch`` (``agencies``, ``consultants``, ``offerings``, ``enterprises`` row lists) in one
    transaction; return ``{kind: {"inserted": n, "updated": n}}`` plus ``new_ids`` (external id -> new member
    id) and ``rows`` (for rows carrying ``_row``/``_sheet``: what happened to each, and the key it has)."""
    now = now or now_text()
    try:
        with transaction(db):
            counts = _write_batch(db, batch, now)
            if dry_run:
                raise _RollBack(counts)
    except _RollBack as done:
        return done.args[0]
    except sqlite3.IntegrityError as error:
        raise Conflict(f"The import breaks a rule of the store ({error}); nothing was imported. Check the ids "
                       f"and references in the file and run a dry run.", field="file") from None
    return counts


def _write_batch(db, batch: dict, now: str) -> dict:
    counts = {kind: {"inserted": 0, "updated": 0} for kind in ("agencies", "consultants", "offerings", "enterprises")}
    new_ids: dict[str, str] = {}
    done: list[dict] = []
    next_number = {t: _max_member_number(db, t) for t in ID_PREFIX}

    def note(kind: str, row: dict, key: str, inserted: bool) -> None:
        counts[kind]["inserted" if inserted else "updated"] += 1
        if "_row" in row:
            done.append({"sheet": row.get("_sheet"), "row": row["_row"], "kind": kind, "key": key,
                         "action": "insert" if inserted else "update"})

    for kind, type_ in (("agencies", "agency"), ("consultants", "consultant")):
        for row in batch.get(kind, ()):
            member_id, inserted = _upsert_member(db, type_, row, now, next_number)
            note(kind, row, member_id, inserted)
            if inserted and row.get("external_id"):
                new_ids[row["external_id"]] = member_id
    for row in batch.get("offerings", ()):
        inserted, member_id = _upsert_offering(db, row)
        note("offerings", row, f"{member_id}/{row['category']}", inserted)
    for row in batch.get("enterprises", ()):
        note("enterprises", row, row["external_id"], _upsert_enterprise(db, row, now))
    if any(c["inserted"] or c["updated"] for c in counts.values()):
        bump_data_version(db)
    return {**counts, "new_ids": new_ids, "rows": done}


def _max_member_number(db, type_: str) -> int:
    prefix = ID_PREFIX[type_]
    row = db.execute("SELECT max(CAST(substr(id, 2) AS INTEGER)) FROM members WHERE id GLOB ?",
                     [f"{prefix}[0-9]*"]).fetchone()
    return row[0] or 0


def _existing_member(db, row: dict):
    if row.get("id"):
        return db.execute("SELECT id, type FROM members WHERE id = ?", [row["id"]]).fetchone()
    return db.execute("SELECT id, type FROM members WHERE external_id = ?", [row["external_id"]]).fetchone()


def _upsert_member(db, type_: str, row: dict, now: str, next_number: dict) -> tuple[str, bool]:
    """``(member id, inserted?)`` after writing one agency or consultant row."""
    found = _existing_member(db, row)
    if found and found[1] != type_:
        raise Unprocessable(f"{row.get('id') or row.get('external_id')!r} is a {found[1]} ({found[0]}) in the "
                            f"store, not a {type_}; use another id.", field="external_id")
    fields = {k: row[k] for k in MEMBER_FIELDS if k in row}
    sub = {k: row[k] for k in TYPE_FIELDS[type_] if k in row}
    if "affiliation" in sub:
        sub["affiliation"] = resolve_member(db, sub["affiliation"])
    if found:
        member_id = found[0]
        _update(db, "members", "id", member_id, fields)
        _upsert_row(db, TYPE_TABLE[type_], "member_id", member_id, sub)
        return member_id, False
    member_id = row.get("id")
    if not member_id:
        next_number[type_] += 1
        member_id = f"{ID_PREFIX[type_]}{next_number[type_]:04d}"
    _insert(db, "members", {"id": member_id, "type": type_, "active": 1, "synthetic": 0, "created_at": now, **fields})
    _insert(db, TYPE_TABLE[type_], {"member_id": member_id, **sub})
    return member_id, True


def resolve_member(db, ref) -> str | None:
    """The member id for ``("external_id", x)`` or ``("id", x)`` (None stays None)."""
    if ref is None:
        return None
    key, value = ref
    column = "external_id" if key == "external_id" else "id"
    found = db.execute(f"SELECT id FROM members WHERE {column} = ?", [value]).fetchone()
    if found is None:
        raise Unprocessable(f"No member with {column} {value!r}; import it first or fix the reference.",
                            field="member")
    return found[0]


def _insert(db, table: str, row: dict) -> None:
    """INSERT one row (column names come from this module's whitelists, never from input)."""
    db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def _update(db, table: str, key: str, value, fields: dict) -> None:
    if fields:
        sets = ", ".join(f"{name} = ?" for name in fields)
        db.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", [*fields.values(), value])


def _upsert_row(db, table: str, key: str, value, fields: dict) -> None:
    if db.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", [value]).fetchone():
        _update(db, table, key, value, fields)
    else:
        _insert(db, table, {key: value, **fields})


def _upsert_offering(db, row: dict) -> tuple[bool, str]:
    member_id = resolve_member(db, row["member"])
    fields = {k: row[k] for k in OFFERING_FIELDS if k in row}
    where = [member_id, row["category"]]
    if db.execute("SELECT 1 FROM offerings WHERE member_id = ? AND category = ?", where).fetchone():
        if fields:
            sets = ", ".join(f"{name} = ?" for name in fields)
            db.execute(f"UPDATE offerings SET {sets} WHERE member_id = ? AND category = ?", [*fields.values(), *where])
        return False, member_id
    _insert(db, "offerings", {"member_id": member_id, "category": row["category"], "specialisation": 0.5, **fields})
    return True, member_id


def _upsert_enterprise(db, row: dict, now: str) -> bool:
    fields = {k: row[k] for k in ENTERPRISE_FIELDS if k in row}
    found = db.execute("SELECT id FROM enterprises WHERE external_id = ?", [row["external_id"]]).fetchone()
    if found:
        _update(db, "enterprises", "id", found[0], fields)
        return False
    _insert(db, "enterprises", {"external_id": row["external_id"], "synthetic": 0, "created_at": now, **fields})
    return True


# -- reads for the exports ---------------------------------------------------------------------------
def agencies_with_offerings(db) -> list[dict]:
    """Every agency (active or not) with its kind, contact fields and offerings, ordered by id."""
    rows = list(db.query(
        "SELECT m.id, m.name_th, m.name_en, m.province, m.sectors, m.external_id, m.active, m.synthetic, "
        "a.kind, a.phone, a.website, a.address, a.hours FROM members m JOIN agencies a ON a.member_id = m.id "
        "WHERE m.type = 'agency' ORDER BY m.id"))
    offers: dict[str, list] = {r["id"]: [] for r in rows}
    for o in db.query("SELECT o.member_id, o.category, o.capacity_month, o.specialisation FROM offerings o "
                      "JOIN members m ON m.id = o.member_id WHERE m.type = 'agency' "
                      "ORDER BY o.member_id, o.category"):
        offers[o.pop("member_id")].append(o)
    return [dict(r, active=bool(r["active"]), synthetic=bool(r["synthetic"]), offerings=offers[r["id"]])
            for r in rows]


def number_of_rows_left_out_of_hsds(db) -> dict[str, int]:
    """Counts of what an HSDS export cannot hold: consultants and their offerings, enterprises, referrals."""
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "consultants": one("SELECT count(*) FROM members WHERE type = 'consultant'"),
        "consultant_offerings": one("SELECT count(*) FROM offerings o JOIN members m ON m.id = o.member_id "
                                    "WHERE m.type = 'consultant'"),
        "enterprises": one("SELECT count(*) FROM enterprises"),
        "referrals": one("SELECT count(*) FROM referrals"),
        "referral_legs": one("SELECT count(*) FROM referral_legs"),
        "clusters": one("SELECT count(*) FROM clusters"),
    }


REFERRAL_COLUMNS = (
    "r.id AS referral_id, r.created_at AS referral_created_at, r.status AS referral_status, r.desk, "
    "c.province AS case_province, c.needs AS case_needs, (SELECT json_group_array(n.need) FROM referral_needs n "
    "WHERE n.referral_id = r.id AND n.status = 'met') AS case_needs_met, e.sector AS enterprise_sector, "
    "e.size AS enterprise_size, e.cluster_id AS enterprise_cluster, e.stage AS enterprise_stage, "
    "n.members AS members_in_referral, "
    "l.id AS leg_id, l.step AS leg_step, l.member_id, m.type AS member_type, m.name_th AS member_name_th, "
    "m.name_en AS member_name_en, m.province AS member_province, a.kind AS member_kind, l.needs AS leg_needs, "
    "l.status AS leg_status, l.decline_reason, l.value_baht, l.created_at AS leg_created_at, "
    "l.sent_at AS leg_sent_at, l.accepted_at AS leg_accepted_at, l.finished_at AS leg_finished_at, "
    "l.updated_at AS leg_updated_at, r.satisfaction, r.consent_given, r.consent_at, r.consent_scope, "
    "coalesce(e.synthetic, m.synthetic) AS synthetic")
# Personal data (PDPA): only with consent recorded on the referral.
PERSONAL_COLUMNS = (
    "CASE WHEN r.consent_given = 1 THEN r.enterprise_id END AS enterprise_id, "
    "CASE WHEN r.consent_given = 1 THEN e.name END AS enterprise_name, "
    "CASE WHEN r.consent_given = 1 THEN e.contact_name END AS contact_name, "
    "CASE WHEN r.consent_given = 1 THEN e.contact_phone END AS contact_phone, "
    "CASE WHEN r.consent_given = 1 THEN e.contact_email END AS contact_email, "
    "CASE WHEN r.consent_given = 1 THEN e.tax_id END AS tax_id, "
    "CASE WHEN r.consent_given = 1 THEN r.consent_by END AS consent_by, "
    "CASE WHEN r.consent_given = 1 THEN l.note END AS leg_note, "
    "CASE WHEN r.consent_given = 1 THEN r.satisfaction_note END AS satisfaction_note")


def referral_legs_for_monitoring(db, *, personal: bool = False, since: str | None = None,
                                 until: str | None = None):
    """One row per referral leg with the referral, case and member it belongs to, oldest first.

    ``since``/``until`` (ISO dates, inclusive) filter on the referral's creation date. Personal data
    (enterprise name, contact, tax id, consent giver, free-text leg notes) only with ``personal=True``
    and, even then, only for referrals whose consent is recorded. Yields dicts (streams large stores).
    """
    columns = REFERRAL_COLUMNS + (", " + PERSONAL_COLUMNS if personal else "")
    where, params = [], []
    if since:
        where.append("r.created_at >= ?")
        params.append(since)
    if until:
        where.append("r.created_at < date(?, '+1 day')")
        params.append(until)
    sql = (f"WITH n AS (SELECT referral_id, count(DISTINCT member_id) AS members FROM referral_legs "
           f"GROUP BY referral_id) "
           f"SELECT {columns} FROM referral_legs l JOIN referrals r ON r.id = l.referral_id "
           f"JOIN n ON n.referral_id = r.id "
           f"JOIN members m ON m.id = l.member_id LEFT JOIN agencies a ON a.member_id = m.id "
           f"LEFT JOIN cases c ON c.id = r.case_id LEFT JOIN enterprises e ON e.id = r.enterprise_id "
           f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY r.id, l.id")
    yield from db.query(sql, params)
