"""Exports for other tools: the network for Gephi (GEXF) and GraphML readers, and referrals as CSV for
the monitoring unit.

- ``write_graph(G, path, fmt)`` writes the network (``graphs.network.build_network``) or the member-only
  collaboration network as GraphML or GEXF. Every node gets a ``label`` (its Thai name) so Gephi shows
  names; provinces carry their seat coordinates as GEXF positions.
- ``referral_csv_lines(rows, personal=...)`` turns ``matcher.store.imports.referral_legs_for_monitoring``
  rows into CSV text, one leg a line, UTF-8 with a BOM so Excel shows Thai. Personal data stays out
  unless asked for (and the store leaves it out where no consent is recorded). Text cells that a
  spreadsheet would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import networkx as nx

from matcher import access
from matcher.errors import Unprocessable

GRAPH_FORMATS = ("graphml", "gexf")
CSV_COLUMNS = (
    "referral_id", "referral_created_at", "referral_status", "desk", "case_province", "case_needs",
    "case_needs_met", "enterprise_sector", "enterprise_size", "enterprise_cluster", "enterprise_stage",
    "members_in_referral", "leg_id", "leg_step", "member_id", "member_type", "member_name_th", "member_name_en",
    "member_province", "member_kind", "leg_needs", "leg_status", "decline_reason", "value_baht", "leg_created_at",
    "leg_sent_at", "leg_accepted_at", "leg_finished_at", "leg_updated_at", "satisfaction", "consent_given",
    "consent_at", "consent_scope", "synthetic")
# ``leg_step`` is the leg's step in the referral plan (legs of one step run in parallel).
PERSONAL_CSV_COLUMNS = ("enterprise_id", "enterprise_name", "contact_name", "contact_phone", "contact_email",
                        "tax_id", "consent_by", "leg_note", "satisfaction_note")
# The personal part (matcher.vocabulary.PERSONAL_PARTS) each personal column belongs to.
PERSONAL_CSV_PARTS = {"enterprise_id": "contact", "enterprise_name": "contact", "contact_name": "contact",
                      "contact_phone": "contact", "contact_email": "contact", "tax_id": "tax_id",
                      "consent_by": "consent_by", "leg_note": "contact", "satisfaction_note": "contact"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never typed in now (matcher.hygiene); older rows


def graph_format(path, fmt: str | None = None) -> str:
    """The format asked for; otherwise GEXF for a name ending .gexf and GraphML for anything else."""
    fmt = (fmt or ("gexf" if Path(str(path)).suffix.lower() == ".gexf" else "graphml")).lower()
    if fmt not in GRAPH_FORMATS:
        raise Unprocessable(f"Unknown graph format {fmt!r}; expected one of: {', '.join(GRAPH_FORMATS)} "
                            f"(or a file name ending .gexf).", field="format", allowed=GRAPH_FORMATS)
    return fmt


def labelled(G):
    """A copy of G whose nodes carry ``label`` (Thai name, else English, else the id). O(N + E)."""
    H = G.copy()
    for node, data in H.nodes(data=True):
        data["label"] = data.get("name_th") or data.get("name_en") or str(node)
    return H


def with_positions(G):
    """Province nodes of G get a GEXF position (x = longitude, y = latitude) in place. O(N)."""
    for _, data in G.nodes(data=True):
        if data.get("type") == "province" and "lon" in data and "lat" in data:
            data["viz"] = {"position": {"x": float(data["lon"]), "y": float(data["lat"]), "z": 0.0}}
    return G


def member_network(G):
    """The collaboration network: member nodes (with their attributes) and the ``collaborated_with``
    edges between them, as a simple weighted graph (``weight`` = joint referrals). O(N + E)."""
    H = nx.Graph(name="RISMEP collaboration network")
    H.add_nodes_from((n, d) for n, d in G.nodes(data=True) if d.get("type") in ("agency", "consultant"))
    for u, v, d in G.edges(data=True):
        if d.get("relation") == "collaborated_with" and u in H and v in H:
            H.add_edge(u, v, joint=d["joint"], completed=d["completed"], weight=d["joint"])
    return H


def write_graph(G, path, fmt: str | None = None) -> Path:
    """Write G as GraphML or GEXF (1.2) with node labels; returns the path."""
    path, fmt = Path(path), graph_format(path, fmt)
    H = labelled(G)
    if fmt == "gexf":
        nx.write_gexf(with_positions(H), path, version="1.2draft")
    else:
        nx.write_graphml(H, path)
    return path


def csv_cell(value) -> str | int | float:
    """A CSV cell: lists (JSON arrays of needs) joined by spaces, formula-looking text defused."""
    if value is None:
        return ""
    if type(value) is not str or not value:
        return value
    value = CONTROL.sub("", value)
    if not value:
        return value
    if value[0] == "[":
        try:
            value = " ".join(json.loads(value))
        except (ValueError, TypeError):
            pass
    return "'" + value if value.startswith(FORMULA_START) else value


def exportable(principal: dict, row: dict) -> dict:
    """The row with the personal columns its referral's consent does not cover emptied: the consent policy
    (``matcher.access.visible_personal_parts``, purpose ``export``) decides, never the caller."""
    referral = {"consent": {"given": bool(row.get("consent_given")), "scope": row.get("consent_scope")}}
    parts = access.visible_personal_parts(principal, referral, purpose="export")
    return {k: (None if k in PERSONAL_CSV_PARTS and PERSONAL_CSV_PARTS[k] not in parts else v)
            for k, v in row.items()}


def referral_csv_lines(rows, *, personal: bool = False, principal: dict | None = None, chunk: int = 500):
    """CSV text (BOM first): the header, then the rows, yielded ``chunk`` lines at a time. With ``personal``
    the principal must be allowed to export personal data, and each row keeps only what its consent covers."""
    columns = CSV_COLUMNS + (PERSONAL_CSV_COLUMNS if personal else ())
    if personal:
        principal = access.require(principal, "export_personal")
        rows = (exportable(principal, row) for row in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(columns)
    yield "\ufeff" + flush()
    for number, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        if number % chunk == 0:
            yield flush()
    if buffer.tell():
        yield flush()
