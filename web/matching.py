"""POST /api/v1/match: ranked bundles for an enterprise's needs."""

from __future__ import annotations

from apiflask import APIBlueprint

from matcher import render
from matcher.engine.matching import match as match_bundles
from matcher.engine.request import MatchRequest
from matcher.errors import Unprocessable
from matcher.vocabulary import MAX_NEEDS

from .context import engine, get_reference, get_snapshot
from .schemas import MatchIn

bp = APIBlueprint("matching", __name__, tag="Matching")


@bp.post("/api/v1/match")
@bp.input(MatchIn, arg_name="body")
@bp.doc(responses={200: "Bundles for the needs (none when the text names no need the classifier knows)",
                   404: "A member or cluster named in the request does not exist",
                   409: "The network as it stands cannot honour the request's constraints (include, max_members)"})
def match(body):
    """Recommend bundles of members that together cover every need the network can cover.

    Bundles are ranked by their calibrated chance that every need is met (J = -ln of it; docs/ENGINE.md):
    each member's leg, carrying all the needs given to it, succeeds or fails as one piece of work, with
    past joint work and hand-offs learned from history. Each bundle lists its members with the needs each
    takes, the leg's chance and reasons (codes with their numbers, and the same in Thai and English:
    distance, capacity left, track record, past joint work), the bundle's chance and what it means, its
    referral plan (who first, what runs in parallel) and why it ranks above the next bundle; needs nobody
    can take are listed as uncovered. With "explain": true the response also holds the candidate pool's
    leg logits and the joint-work counts, so that anyone can recompute each bundle's J and check that
    none in the pool is better. With "text" instead of "needs" the text is classified first; the response
    holds the needs used and the classification ("intake").
    """
    intake = _needs_from_text(body) if not body.get("needs") else None
    if intake is not None and not body["needs"]:
        return nothing_to_match(body, intake)
    snapshot = get_snapshot()
    result = render.result_json(match_bundles(snapshot, MatchRequest.parse(snapshot, body)), snapshot.ref)
    return {**result, "intake": intake} if intake else result


def nothing_to_match(body: dict, intake: dict) -> dict:
    """The answer for a text that names no need the classifier recognises: no bundles, and why."""
    province = get_reference().resolve_province(body.get("province") or intake.get("province"), field="province")
    return {"province": province, "needs": [], "covered": [], "uncovered": [], "uncovered_reasons": [],
            "bundles": [], "intake": intake,
            "note": {"th": "ไม่พบความต้องการบริการในข้อความ กรุณาเล่าปัญหาให้ละเอียดขึ้น หรือระบุความต้องการ (needs) โดยตรง",
                     "en": "The text names no service need the classifier recognises; describe the problem in more "
                           "detail or give needs explicitly."}}


def _needs_from_text(body: dict) -> dict:
    """With "text" instead of "needs": classify it, put its needs (and its province, if none was given)
    into the body, and return the classification."""
    if "text" not in body:
        raise Unprocessable("Give needs (service category codes, GET /api/v1/taxonomy) or text (what the "
                            "enterprise says, to classify).", field="needs",
                            allowed=list(get_reference().category_codes))
    intake = engine().intake.classify(body["text"])
    body["needs"] = [n["code"] for n in intake["needs"]][:MAX_NEEDS]
    if not body.get("province") and intake["province"]:
        body["province"] = intake["province"]
    return intake
