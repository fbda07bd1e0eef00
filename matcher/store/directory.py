"""Directory queries: reference tables, members (agencies and consultants), offerings, enterprises, clusters."""

from __future__ import annotations

import json

import sqlite_utils

from matcher.errors import NotFound

from . import bump_data_version, get_meta, set_meta, transaction

MEMBER_COLUMNS = ("m.id, m.type, m.name_th, m.name_en, m.province, m.sectors, m.external_id, m.active, m.synthetic, "
                  "a.kind, a.phone, a.website, a.address, a.hours, c.affiliation, c.years_experience")
AGENCY_FIELDS = ("kind", "phone", "website", "address", "hours")
MEMBER_FROM = ("members m LEFT JOIN agencies a ON a.member_id = m.id "
               "LEFT JOIN consultants c ON c.member_id = m.id")


def write_reference(db: sqlite_utils.Database, categories, provinces, agency_kinds) -> None:
    """Insert or replace the reference tables (plain dict rows as loaded by ``matcher.reference``)."""
    with transaction(db):
        db["categories"].upsert_all(
            [{k: c[k] for k in ("code", "domain", "label_en", "label_th")} for c in categories], pk="code")
        db["provinces"].upsert_all(
            [{"code": p["code"], "name_en": p["name_en"], "name_th": p["name_th"], "region": p["region"],
              "lat": p["lat"], "lon": p["lon"], "hub_code": p["hub_code"], "is_hub": int(p["is_hub"]),
              "live_since": p.get("live_since")} for p in provinces], pk="code")
        db["agency_kinds"].upsert_all(
            [{"code": k["code"], "name_en": k["name_en"], "name_th": k["name_th"],
              "categories": " ".join(k["categories"]), "source": k.get("source")} for k in agency_kinds],
            pk="code")
        bump_data_version(db)


def write_members(db: sqlite_utils.Database, members: list[dict], offerings: list[dict]) -> None:
    """Upsert members (agency or consultant fields in the same dict) and their offerings, in one transaction."""
    with transaction(db):
        db["members"].upsert_all([_pick(m, ("id", "type", "name_th", "name_en", "province", "sectors", "external_id",
                                            "active", "synthetic", "created_at")) for m in members], pk="id")
        db["agencies"].upsert_all([{"member_id": m["id"], **_pick(m, AGENCY_FIELDS)}
                                   for m in members if m["type"] == "agency"], pk="member_id")
        db["consultants"].upsert_all([{"member_id": m["id"], **_pick(m, ("affiliation", "years_experience"))}
                                      for m in members if m["type"] == "consultant"], pk="member_id")
        db["offerings"].upsert_all(offerings, pk=("member_id", "category"))
        bump_data_version(db)


def _pick(row: dict, keys) -> dict:
    return {k: row.get(k) for k in keys if k in row}


def categories(db) -> list[dict]:
    return list(db.query("SELECT code, domain, label_en, label_th FROM categories ORDER BY rowid"))


def provinces(db) -> list[dict]:
    return [dict(r, is_hub=bool(r["is_hub"])) for r in db.query("SELECT * FROM provinces ORDER BY code")]


def agency_kinds(db) -> list[dict]:
    return [dict(r, categories=r["categories"].split()) for r in db.query("SELECT * FROM agency_kinds")]


def _member_filters(member_type, province=None, category=None, kind=None):
    where, params = ["m.type = ?", "m.active = 1"], [member_type]
    if province:
        where.append("m.province = ?")
        params.append(province)
    if kind:
        where.append("a.kind = ?")
        params.append(kind)
    if category:
        where.append("EXISTS (SELECT 1 FROM offerings o WHERE o.member_id = m.id AND o.category = ?)")
        params.append(category)
    return " AND ".join(where), params


def list_members(db, member_type: str, *, province=None, category=None, kind=None, limit=50, offset=0):
    """A page of active members of one type and the total matching the filters: ``(rows, total)``."""
    where, params = _member_filters(member_type, province, category, kind)
    total = db.execute(f"SELECT count(*) FROM {MEMBER_FROM} WHERE {where}", params).fetchone()[0]
    rows = list(db.query(f"SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM} WHERE {where} ORDER BY m.id "
                         f"LIMIT ? OFFSET ?", params + [limit, offset]))
    return _with_offerings(db, rows), total


def get_member(db, member_id: str, member_type: str | None = None) -> dict:
    rows = list(db.query(f"SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM} WHERE m.id = ?", [member_id]))
    if not rows or (member_type and rows[0]["type"] != member_type):
        plural = {"agency": "agencies", "consultant": "consultants"}.get(member_type, "agencies")
        raise NotFound(f"No {member_type or 'member'} with id {member_id!r}; list them with "
                       f"GET /api/v1/{plural}.", field="id")
    return _with_offerings(db, rows)[0]


def _with_offerings(db, rows: list[dict]) -> list[dict]:
    if not rows:
        return rows
    ids = [r["id"] for r in rows]
    marks = ",".join("?" * len(ids))
    offers: dict[str, list] = {i: [] for i in ids}
    for o in db.query(f"SELECT member_id, category, capacity_month, specialisation FROM offerings "
                      f"WHERE member_id IN ({marks}) ORDER BY member_id, category", ids):
        offers[o.pop("member_id")].append(o)
    return [dict(r, synthetic=bool(r["synthetic"]), active=bool(r["active"]),
                 sectors=(r["sectors"] or "").split(), offerings=offers[r["id"]]) for r in rows]


def all_members(db) -> list[dict]:
    """Every active member with its offerings (for building the in-memory network)."""
    return _with_offerings(db, list(db.query(
        f"SELECT {MEMBER_COLUMNS} FROM {MEMBER_FROM} WHERE m.active = 1 ORDER BY m.id")))


def all_offerings(db) -> list[dict]:
    return list(db.query("SELECT o.member_id, o.category, o.capacity_month, o.specialisation FROM offerings o "
                         "JOIN members m ON m.id = o.member_id WHERE m.active = 1 ORDER BY o.member_id"))


def clusters(db) -> list[dict]:
    return list(db.query("SELECT * FROM clusters ORDER BY id"))


def write_clusters(db, rows: list[dict]) -> None:
    with transaction(db):
        db["clusters"].upsert_all(rows, pk="id")
        bump_data_version(db)


def insert_enterprises(db, rows: list[dict]) -> None:
    with transaction(db):
        db["enterprises"].insert_all(rows, pk="id", batch_size=1000)


def get_enterprise(db, enterprise_id: int, *, personal: bool = False) -> dict:
    row = db.execute("SELECT * FROM enterprises WHERE id = ?", [enterprise_id]).fetchone()
    if row is None:
        raise NotFound(f"No enterprise with id {enterprise_id!r}.", field="enterprise_id")
    cols = [d[0] for d in db.execute("SELECT * FROM enterprises LIMIT 0").description]
    out = dict(zip(cols, row))
    if not personal:
        for key in PERSONAL_FIELDS:
            out.pop(key, None)
    return out


PERSONAL_FIELDS = ("contact_name", "contact_phone", "contact_email", "tax_id")


def counts(db) -> dict:
    """Row counts for the health endpoint."""
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "agencies": one("SELECT count(*) FROM members WHERE type = 'agency' AND active = 1"),
        "consultants": one("SELECT count(*) FROM members WHERE type = 'consultant' AND active = 1"),
        "offerings": one("SELECT count(*) FROM offerings"),
        "provinces": one("SELECT count(*) FROM provinces"),
        "provinces_live": one("SELECT count(DISTINCT province) FROM members WHERE active = 1"),
        "categories": one("SELECT count(*) FROM categories"),
        "clusters": one("SELECT count(*) FROM clusters"),
        "enterprises": one("SELECT count(*) FROM enterprises"),
        "referrals": one("SELECT count(*) FROM referrals"),
        "referral_legs": one("SELECT count(*) FROM referral_legs"),
    }


def dataset_info(db) -> dict:
    info = {"name": get_meta(db, "dataset"), "synthetic": get_meta(db, "synthetic") == "1",
            "seed": get_meta(db, "seed"), "scale": get_meta(db, "scale"),
            "note": get_meta(db, "dataset_note")}
    truth = get_meta(db, "truth")
    return {**info, "truth": truth} if truth else info


def set_dataset_info(db, *, name: str, synthetic: bool, seed=None, scale=None, note=None, truth=None) -> None:
    """The dataset's name, whether it is synthetic, and for a generated one its seed, scale and hidden truth."""
    with transaction(db):
        for key, value in (("dataset", name), ("synthetic", int(synthetic)), ("seed", seed),
                           ("scale", scale), ("dataset_note", note), ("truth", truth)):
            set_meta(db, key, value)


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
