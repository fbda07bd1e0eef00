"""The read-only Open Referral HSDS 3.0 API over the directory's agencies and their services.

``GET /hsds/``, ``/hsds/services``, ``/hsds/services/{id}``, ``/hsds/organizations``, ``/hsds/organizations/{id}``,
``/hsds/taxonomies``, ``/hsds/taxonomies/{id}``, ``/hsds/taxonomy_terms``, ``/hsds/taxonomy_terms/{id}``,
``/hsds/service_at_locations``, ``/hsds/service_at_locations/{id}``: the shapes of the HSDS OpenAPI
description (pages of ``total_items``, ``total_pages``, ... ``contents``). The document behind them is the
HSDS export (``matcher.exchange.hsds``), rebuilt when the store's data version moves. Any origin may read it.
"""

from __future__ import annotations


from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Integer, String
from apiflask.validators import Length, OneOf, Range

from matcher.exchange import hsds, hsds_directory
from matcher.store import directory

from .cache import current_stamp, versioned
from .context import get_db, get_reference

bp = APIBlueprint("hsds", __name__, tag="HSDS (Open Referral)", url_prefix="/hsds")


class PageQuery(Schema):
    page = Integer(load_default=1, validate=Range(1), metadata={"description": "page number, from 1"})
    per_page = Integer(load_default=50, validate=Range(1, 500), metadata={"description": "rows a page (1-500)"})
    search = String(validate=Length(0, 200), metadata={"description": "text in the name or description"})
    format = String(load_default="json", validate=OneOf(["json"]),
                    metadata={"description": "json (the only format served)"})


class ServiceQuery(PageQuery):
    taxonomy_term_id = String(validate=Length(1, 64), metadata={"description": "services with this term"})
    taxonomy_id = String(validate=Length(1, 64), metadata={"description": "services with a term of this taxonomy"})
    organization_id = String(validate=Length(1, 64), metadata={"description": "services of this organization"})
    full = Boolean(load_default=False, metadata={"description": "fully nested rows"})


class OrganizationQuery(PageQuery):
    full = Boolean(load_default=False, metadata={"description": "fully nested organizations"})
    full_service = Boolean(load_default=False, metadata={"description": "nest the full services too"})


class TermQuery(PageQuery):
    taxonomy_id = String(validate=Length(1, 64), metadata={"description": "terms of this taxonomy"})


class FullQuery(Schema):
    full_service = Boolean(load_default=False, metadata={"description": "nest the full services"})


def current_directory() -> hsds_directory.Directory:
    """The HSDS view of the store, rebuilt only when the data version (or the database file) changed."""
    def build():
        doc, _ = hsds.export_store(get_db(), get_reference())
        return hsds_directory.Directory(doc, version=current_stamp())
    return versioned("hsds_directory", build)


@bp.after_request
def allow_any_origin(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/")
def root():
    """The HSDS version and profile of this API, and whether its data is synthetic."""
    db = get_db()
    info = directory.dataset_info(db)
    return {"version": hsds.HSDS_VERSION, "profile": hsds.HSDS_PROFILE, "openapi_url": hsds.HSDS_OPENAPI,
            "dataset": info["name"], "synthetic": info["synthetic"], "note": info["note"],
            "not_in_hsds": "Consultants, enterprises, referrals, outcomes and consent are not published here; "
                           "see the README's 'Import and export' section."}


def _service_filters(query) -> dict:
    """The filters that /services and /service_at_locations share."""
    return {name: query.get(name) for name in ("search", "taxonomy_term_id", "taxonomy_id", "organization_id")}


@bp.get("/services")
@bp.input(ServiceQuery, location="query", arg_name="query")
def services(query):
    """A page of services (one per agency and service category), filtered by term, taxonomy or organization."""
    view = current_directory()
    rows = view.services(**_service_filters(query))
    shape = view.service if query["full"] else view.service_brief
    return hsds_directory.page(rows, query["page"], query["per_page"], lambda s: shape(s["id"]))


@bp.get("/services/<service_id>")
def service(service_id):
    """One fully nested service: organization, service areas, locations and attributes."""
    return current_directory().service(service_id)


@bp.get("/organizations")
@bp.input(OrganizationQuery, location="query", arg_name="query")
def organizations(query):
    """A page of organizations (the agencies)."""
    view = current_directory()
    rows = hsds_directory.searched(view.doc["organization"], query.get("search"))
    if query["full"]:
        return hsds_directory.page(rows, query["page"], query["per_page"],
                         lambda o: view.organization(o["id"], full_service=query["full_service"]))
    return hsds_directory.page(rows, query["page"], query["per_page"], dict)


@bp.get("/organizations/<organization_id>")
@bp.input(FullQuery, location="query", arg_name="query")
def organization(organization_id, query):
    """One fully nested organization with its services."""
    return current_directory().organization(organization_id, full_service=query["full_service"])


@bp.get("/taxonomies")
@bp.input(PageQuery, location="query", arg_name="query")
def taxonomies(query):
    """The four taxonomies: service categories, agency kinds, provinces and RISMEP fields."""
    rows = hsds_directory.searched(current_directory().doc["taxonomy"], query.get("search"), ("name", "description"))
    return hsds_directory.page(rows, query["page"], query["per_page"], dict)


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id):
    """One taxonomy."""
    return current_directory().get("taxonomy", taxonomy_id)


@bp.get("/taxonomy_terms")
@bp.input(TermQuery, location="query", arg_name="query")
def taxonomy_terms(query):
    """A page of taxonomy terms (the 22 categories among them), optionally of one taxonomy."""
    view = current_directory()
    rows = view.doc["taxonomy_term"]
    if query.get("taxonomy_id"):
        rows = view.kids("taxonomy_term", "taxonomy_id", query["taxonomy_id"])
    rows = hsds_directory.searched(rows, query.get("search"), ("code", "name", "description"))
    return hsds_directory.page(rows, query["page"], query["per_page"], lambda t: view.term(t["id"]))


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id):
    """One taxonomy term with its taxonomy."""
    return current_directory().term(term_id)


@bp.get("/service_at_locations")
@bp.input(ServiceQuery, location="query", arg_name="query")
def service_at_locations(query):
    """A page of services at locations (each agency's services at its province seat)."""
    view = current_directory()
    rows = view.service_at_locations(**_service_filters(query))
    shape = view.service_at_location if query["full"] else view.service_at_location_brief
    return hsds_directory.page(rows, query["page"], query["per_page"], lambda s: shape(s["id"]))


@bp.get("/service_at_locations/<sal_id>")
def service_at_location(sal_id):
    """One service at a location, with the full service and the location nested."""
    return current_directory().service_at_location(sal_id)
