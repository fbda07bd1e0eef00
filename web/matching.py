"""POST /api/v1/match: ranked bundles for an enterprise's needs."""

from __future__ import annotations

from apiflask import APIBlueprint

from matcher.matching import match as match_bundles

from .context import get_snapshot
from .schemas import MatchIn

bp = APIBlueprint("matching", __name__, tag="Matching")


@bp.post("/api/v1/match")
@bp.input(MatchIn, arg_name="body")
def match(body):
    """Recommend bundles of members that together cover every need the network can cover.

    Each bundle lists its members with the needs each covers and plain reasons in Thai and English
    (distance, capacity left, track record, past joint work); needs nobody offers are listed as uncovered.
    """
    return match_bundles(get_snapshot(), body)
