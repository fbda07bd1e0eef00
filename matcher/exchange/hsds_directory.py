"""The directory as the read-only HSDS API serves it: an exported HSDS document indexed for look-ups, search
and pages."""

from __future__ import annotations

import math
from collections import defaultdict

from matcher.errors import NotFound


class Directory:
    """An exported document indexed for the HSDS API: nested services, organizations and the rest."""

    def __init__(self, doc: dict, version=None):
        self.doc, self.version = doc, version
        self.by_id = {t: {r["id"]: r for r in rows} for t, rows in doc.items()}
        self.children = defaultdict(list)  # (table, link column, id) -> rows
        for table, link in (("phone", "organization_id"), ("location", "organization_id"),
                            ("organization_identifier", "organization_id"), ("service", "organization_id"),
                            ("address", "location_id"), ("schedule", "location_id"),
                            ("service_area", "service_id"), ("service_at_location", "service_id"),
                            ("attribute", "link_id"), ("taxonomy_term", "taxonomy_id")):
            for row in doc.get(table, ()):
                self.children[table, link, row.get(link)].append(row)
        self.terms_of_service = defaultdict(set)
        for a in doc.get("attribute", ()):
            if a["link_entity"] == "service":
                self.terms_of_service[a["link_id"]].add(a["taxonomy_term_id"])

    def get(self, table: str, row_id: str) -> dict:
        row = self.by_id.get(table, {}).get(row_id)
        if row is None:
            plural = "taxonomies" if table == "taxonomy" else f"{table}s"
            raise NotFound(f"No {table} with id {row_id!r}; list them with GET /hsds/{plural}.", field="id")
        return row

    def kids(self, table: str, link: str, row_id: str) -> list[dict]:
        return self.children.get((table, link, row_id), [])

    def attributes(self, link_id: str) -> list[dict]:
        out = []
        for a in self.kids("attribute", "link_id", link_id):
            term = dict(self.by_id["taxonomy_term"][a["taxonomy_term_id"]])
            term["taxonomy_detail"] = self.by_id["taxonomy"][term["taxonomy_id"]]
            out.append(dict(a, taxonomy_term=term))
        return out

    def location(self, location_id: str) -> dict:
        loc = self.by_id["location"][location_id]
        return dict(loc, attributes=self.attributes(location_id),
                    addresses=self.kids("address", "location_id", location_id),
                    schedules=self.kids("schedule", "location_id", location_id))

    def organization_brief(self, org_id: str) -> dict:
        return dict(self.get("organization", org_id))

    def organization(self, org_id: str, full_service: bool = False) -> dict:
        org = self.get("organization", org_id)
        services = self.kids("service", "organization_id", org_id)
        return dict(org, phones=self.kids("phone", "organization_id", org_id),
                    locations=[self.location(loc["id"]) for loc in self.kids("location", "organization_id", org_id)],
                    organization_identifiers=self.kids("organization_identifier", "organization_id", org_id),
                    attributes=self.attributes(org_id),
                    services=[self.service(s["id"]) if full_service else dict(s) for s in services])

    def service_brief(self, service_id: str) -> dict:
        service = self.get("service", service_id)
        return dict(service, organization=self.organization_brief(service["organization_id"]))

    def service(self, service_id: str) -> dict:
        service = self.get("service", service_id)
        areas = [dict(a, attributes=self.attributes(a["id"]))
                 for a in self.kids("service_area", "service_id", service_id)]
        sals = [dict(s, location=self.location(s["location_id"]), attributes=[])
                for s in self.kids("service_at_location", "service_id", service_id)]
        return dict(service, organization=self.organization_brief(service["organization_id"]),
                    service_areas=areas, service_at_locations=sals, attributes=self.attributes(service_id))

    def service_at_location_brief(self, sal_id: str) -> dict:
        sal = self.get("service_at_location", sal_id)
        return dict(sal, location=dict(self.by_id["location"][sal["location_id"]]),
                    service=self.service_brief(sal["service_id"]))

    def service_at_location(self, sal_id: str) -> dict:
        sal = self.get("service_at_location", sal_id)
        return dict(sal, location=self.location(sal["location_id"]), attributes=self.attributes(sal_id),
                    service=self.service(sal["service_id"]))

    def term(self, term_id_: str) -> dict:
        term = self.get("taxonomy_term", term_id_)
        return dict(term, taxonomy_detail=self.by_id["taxonomy"][term["taxonomy_id"]])

    def services(self, *, search=None, taxonomy_term_id=None, taxonomy_id=None, organization_id=None) -> list[dict]:
        """Services matching every filter given (text search in names and descriptions), in id order."""
        rows = self.doc.get("service", [])
        if organization_id:
            rows = [s for s in rows if s["organization_id"] == organization_id]
        if taxonomy_term_id:
            rows = [s for s in rows if taxonomy_term_id in self.terms_of_service[s["id"]]]
        if taxonomy_id:
            terms = {t["id"] for t in self.kids("taxonomy_term", "taxonomy_id", taxonomy_id)}
            rows = [s for s in rows if terms & self.terms_of_service[s["id"]]]
        return searched(rows, search)

    def service_at_locations(self, **filters) -> list[dict]:
        ids = {s["id"] for s in self.services(**filters)}
        return [s for s in self.doc.get("service_at_location", []) if s["service_id"] in ids]


def searched(rows: list[dict], search: str | None, fields=("name", "alternate_name", "description")) -> list[dict]:
    if not search:
        return rows
    needle = search.casefold()
    return [r for r in rows if any(needle in str(r.get(f) or "").casefold() for f in fields)]


def page(items: list, number: int, per_page: int, shape) -> dict:
    """An HSDS page (``total_items`` ... ``contents``) of ``items``, each passed through ``shape``."""
    total = len(items)
    pages = max(1, math.ceil(total / per_page))
    chunk = items[(number - 1) * per_page: number * per_page]
    return {"total_items": total, "total_pages": pages, "page_number": number, "size": len(chunk),
            "first_page": number == 1, "last_page": number >= pages, "empty": not chunk,
            "contents": [shape(row) for row in chunk]}
