"""The directory: health, taxonomy, provinces, agencies and consultants."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import request

from matcher import __version__
from matcher.errors import Unprocessable
from matcher.store import data_version, directory, store_health

from .context import engine, get_db, get_reference
from .schemas import AgencyQuery, MemberQuery

bp = APIBlueprint("directory", __name__, tag="Directory")


@bp.get("/api/v1/health/live")
def live():
    """Liveness for a load balancer: the worker answers. Touches neither the database nor the engine (constant
    time); restart the worker when this fails."""
    return {"ok": True, "status": "live", "version": __version__}


@bp.get("/api/v1/health/ready")
def ready():
    """Readiness for a load balancer: the database answers one indexed read at the current schema and, if this
    worker has built its snapshot, how far the snapshot is behind. 503 (the one error shape) when the database
    is missing, unreadable or not migrated: send no traffic to this worker until it answers 200."""
    db = get_db()
    versions = store_health(db)
    snapshot = engine().snapshots.current()
    return {"ok": True, "status": "ready", "version": __version__, "data_version": versions["data"],
            "snapshot": None if snapshot is None else {
                "data_version": snapshot.versions.get("data"), "current": snapshot.versions == versions}}


@bp.get("/api/v1/health")
def health():
    """Service version, the dataset (synthetic or not) and row counts (ten counts: for people, not for a load
    balancer's probes; those use /api/v1/health/live and /api/v1/health/ready)."""
    db = get_db()
    info = directory.dataset_info(db)
    return {"ok": True, "version": __version__, "dataset": info["name"], "synthetic": info["synthetic"],
            "note": info["note"], "data_version": data_version(db), "counts": directory.counts(db)}


@bp.get("/api/v1/taxonomy")
def taxonomy():
    """The 22 service categories (stable codes, Thai and English labels)."""
    items = directory.categories(get_db())
    return {"items": items, "total": len(items)}


@bp.get("/api/v1/provinces")
def provinces():
    """All 77 provinces (76 and Bangkok) with region, seat coordinates, RISMEP hub and year live."""
    items = directory.provinces(get_db())
    return {"items": items, "total": len(items)}


def _member_page(member_type: str, query: dict) -> dict:
    ref = get_reference()
    province = ref.resolve_province(query["province"]) if query.get("province") else None
    category = ref.check_categories([query["category"]], field="category")[0] if query.get("category") else None
    kind = query.get("kind")
    if kind and kind not in ref.kind_by_code:
        raise Unprocessable(f"Unknown agency kind {kind!r}; expected one of: {', '.join(ref.kind_by_code)}.",
                            field="kind", allowed=list(ref.kind_by_code))
    db = get_db()
    items, total = directory.list_members(db, member_type, province=province, category=category, kind=kind,
                                          limit=query["limit"], offset=query["offset"])
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"],
            "synthetic": directory.dataset_info(db)["synthetic"]}


@bp.get("/api/v1/agencies")
@bp.input(AgencyQuery, location="query", arg_name="query")
def agencies(query):
    """Agencies (BDSPs), filtered by province, category and kind, a page at a time."""
    return _member_page("agency", query)


@bp.get("/api/v1/agencies/<member_id>")
def agency(member_id):
    """One agency with its province, kind, categories offered and capacities."""
    return directory.get_member(get_db(), member_id, "agency")


@bp.get("/api/v1/consultants")
@bp.input(MemberQuery, location="query", arg_name="query")
def consultants(query):
    """Consultants (SPs), filtered by province and category, a page at a time."""
    if "kind" in request.args:  # not a parameter of this operation, but a likely slip: say so
        raise Unprocessable("kind applies to agencies only; drop it for consultants.", field="kind")
    return _member_page("consultant", query)


@bp.get("/api/v1/consultants/<member_id>")
def consultant(member_id):
    """One consultant with its province, affiliation, categories offered and capacities."""
    return directory.get_member(get_db(), member_id, "consultant")
