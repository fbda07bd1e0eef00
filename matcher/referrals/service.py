"""Closed-loop referrals: create one from a case with the enterprise's consent, move its legs through the
lifecycle, list and read them within the caller's scope, and re-match a declined leg.

Every function takes the store (``db``), the caller's principal dict (``matcher.access``) and plain data,
and raises :mod:`matcher.errors`; none reads Flask globals, so the HTTP API and the desk pages share them.
Writes go through ``matcher.store.referrals`` (one transaction each, every change an appended event).
"""

from __future__ import annotations

import hashlib
import json
import secrets

from matcher import access
from matcher.clock import now_text
from matcher.engine import matching
from matcher import lifecycle
from matcher.engine.request import MatchRequest
from matcher.errors import Conflict, NotFound, Unprocessable
from matcher.reference import Reference
from matcher.referrals import planning
from matcher.referrals.parsing import (
    IDEMPOTENCY_KEY,
    _int_in,
    _positive_int,
    check_consent,
    check_transition,
    legs_of_assignment,
    parse_assignment,
    parse_create,
    parse_leg_payload,
    parse_list_filters,
    parse_status,
)
from matcher.store import referrals as store
from matcher.vocabulary import MAX_OFFSET, MAX_PAGE

# -- create --------------------------------------------------------------------------------------------

def create_referral(db, snapshot, body, principal, idempotency_key=None) -> dict:
    """Create a referral (case, legs, events) from a request body; a retried key returns the same referral.

    Returns ``{"id", "status", "legs": [{"id", "member", "needs", "status"}], "unassigned", "replayed"}``.
    """
    principal = access.require(principal, "create_referral")
    scoped_key = scoped_idempotency_key(principal, idempotency_key)
    request = parse_create(snapshot, body)
    fingerprint = request_fingerprint(request)
    if scoped_key and (earlier := store.find_idempotent(db, scoped_key)):
        return _replay(db, earlier, fingerprint)
    personal = _enterprise_personal(db, principal, request)
    check_consent(request["consent"], personal, on_file=request["enterprise"] is None)
    actor, at = access.actor_of(principal), now_text()
    needs = planning.need_plan(request["needs"], planning.rules_of(snapshot.ref), request["sector"])
    referral_id, created = store.create_referral(
        db, enterprise=request["enterprise"], enterprise_id=request["enterprise_id"],
        case={"province": request["province"], "needs": request["needs"], "text": request["text"],
              "desk": principal.get("desk")},
        referral={"desk": principal.get("desk"), "created_by": actor, **_consent_columns(request["consent"]),
                  "idempotency_key": scoped_key, "request_hash": fingerprint, "tracking_code": new_tracking_code()},
        needs=needs, legs=planning.legs_of_plan(request["assignment"], needs), actor=actor, at=at,
        event_data={"event": "created", "needs": request["needs"], "unassigned": request["unassigned"],
                    "consent": {k: v for k, v in request["consent"].items() if k != "by"}})
    if not created:
        return _replay(db, {"id": referral_id, "request_hash": store.find_idempotent(db, scoped_key)["request_hash"]},
                       fingerprint)
    return dict(_created_view(db, referral_id), replayed=False)


def new_tracking_code() -> str:
    """An unguessable public tracking code: 64 random bits as 16 hexadecimal digits (printed in groups)."""
    return secrets.token_hex(8).upper()


def scoped_idempotency_key(principal: dict, key) -> str | None:
    """The Idempotency-Key prefixed by its owner (role and desk, member or key), or None without one."""
    if key is None or key == "":
        return None
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.match(key):
        raise Unprocessable("Idempotency-Key must be 1-200 printable ASCII characters without spaces, e.g. a "
                            "UUID; send the same key when retrying the same request.", field="Idempotency-Key")
    owner = principal.get("desk") or principal.get("member_id") or principal.get("key_id") or principal.get("name")
    return f"{principal['role']}:{owner}:{key}"


def request_fingerprint(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False, default=str)
                          .encode("utf-8")).hexdigest()


def _replay(db, earlier: dict, fingerprint: str) -> dict:
    if earlier["request_hash"] and earlier["request_hash"] != fingerprint:
        raise Unprocessable("Idempotency-Key ถูกใช้กับคำขออื่นแล้ว / This Idempotency-Key was already used for a "
                            f"different request (referral {earlier['id']}); use a new key for a new referral.",
                            field="Idempotency-Key")
    return dict(_created_view(db, earlier["id"]), replayed=True)


def _created_view(db, referral_id: int) -> dict:
    record = store.referral_record(db, referral_id)
    covered = {n for leg in record["legs"] for n in leg["needs"]}
    return {"id": referral_id, "status": record["referral"]["status"],
            "tracking_code": record["referral"]["tracking_code"],
            "legs": [{"id": leg["id"], "member": leg["member_id"], "needs": leg["needs"], "step": leg["step"],
                      "status": leg["status"]} for leg in record["legs"]],
            "unassigned": [n for n in record["case"].get("needs") or [] if n not in covered]}


def _enterprise_personal(db, principal: dict, request: dict) -> list[str]:
    """The personal fields the referral would share (checking the desk may use an existing enterprise)."""
    row = request["enterprise"]
    if row is None:
        record = store.enterprise_row(db, request["enterprise_id"])
        if record is None:
            raise NotFound(f"No enterprise with id {request['enterprise_id']}; send \"enterprise\" with its details "
                           f"instead.", field="enterprise_id")
        access.check_can_use_enterprise(principal, store.enterprise_desks(db, request["enterprise_id"]))
        request["province"], row = record["province"], record
    request["sector"] = row.get("sector")
    return [k for k in ("contact_name", "contact_phone", "contact_email", "tax_id") if row.get(k)]


def _consent_columns(consent: dict) -> dict:
    return {"consent_given": int(consent["given"]), "consent_by": consent.get("by"),
            "consent_at": consent.get("at"), "consent_scope": consent.get("scope")}


# -- read ----------------------------------------------------------------------------------------------

def get_referral(db, referral_id, principal, *, action: str | None = None) -> dict:
    """The referral as the principal may see it; every read of personal fields is logged first."""
    view = _referral_view(db, referral_id)
    principal = access.check_can_view(principal, view)
    out = access.redact(principal, view)
    fields = access.personal_fields_in(out)
    if fields:
        store.log_personal_read(db, at=now_text(), actor=access.actor_of(principal), role=principal["role"],
                                key_id=principal.get("key_id"), user_id=principal.get("user_id"),
                                referral_id=view["id"],
                                enterprise_id=view["enterprise"].get("id"), fields=fields,
                                action=action or f"get_referral {view['id']}")
    return out


def _referral_view(db, referral_id) -> dict:
    record = store.referral_record(db, _positive_int(referral_id, "referral_id"))
    if record is None:
        raise NotFound(f"No referral with id {referral_id}; list them with GET /api/v1/referrals.",
                       field="referral_id")
    return referral_view(record)


def referral_view(record: dict) -> dict:
    """The full view of a stored referral (before redaction): the case, its needs with their status, the
    plan in steps and the legs."""
    ref, case, ent = record["referral"], record["case"], record["enterprise"]
    legs = [leg_view(leg) for leg in record["legs"]]
    needs = [need_view(row) for row in record.get("needs") or []]
    states = {n["need"]: n for n in needs}
    live = {n for leg in legs if leg["status"] not in lifecycle.REMATCHABLE for n in leg["needs"]}
    prerequisites = {n["need"]: n["prerequisites"] for n in needs}
    for leg in legs:
        leg["waits_for"] = lifecycle.waits_for(leg, prerequisites) if leg["status"] == "waiting" else []
    return {
        "id": ref["id"], "status": ref["status"], "desk": ref["desk"], "created_by": ref["created_by"],
        "created_at": ref["created_at"], "updated_at": ref["updated_at"], "synthetic": bool(ent.get("synthetic")),
        "tracking_code": ref.get("tracking_code"),
        "case": {"id": case.get("id"), "province": case.get("province"), "needs": case.get("needs") or [],
                 "text": case.get("text")},
        "enterprise": {"id": ent.get("id"), "name": ent.get("name"), "province": ent.get("province"),
                       "sector": ent.get("sector"), "size": ent.get("size"), "cluster_id": ent.get("cluster_id"),
                       "synthetic": bool(ent.get("synthetic")),
                       "contact": {"name": ent.get("contact_name"), "phone": ent.get("contact_phone"),
                                   "email": ent.get("contact_email")},
                       "tax_id": ent.get("tax_id")},
        "consent": {"given": bool(ref["consent_given"]), "by": ref["consent_by"], "at": ref["consent_at"],
                    "scope": ref["consent_scope"]},
        "needs": needs,
        "unmet": lifecycle.unmet(states) if ref["status"] in lifecycle.CLOSED_REFERRAL_STATUSES else [],
        "plan": plan_steps(needs, legs),
        "legs": legs,
        "uncovered": [n for n in case.get("needs") or [] if n not in live],
        "satisfaction": {"score": ref.get("satisfaction"), "note": ref.get("satisfaction_note"),
                         "at": ref.get("satisfaction_at")},
    }


def need_view(row: dict) -> dict:
    return {"need": row["need"], "step": row["step"], "status": row["status"], "detail": row["detail"],
            "leg_id": row["leg_id"], "prerequisites": row["prerequisites"], "closed_reason": row["closed_reason"],
            "closed_note": row["closed_note"], "closed_at": row["closed_at"], "met_at": row["met_at"]}


def plan_steps(needs: list[dict], legs: list[dict]) -> list[dict]:
    """The plan in steps: ``[{"step", "needs": [...], "legs": [leg ids]}]`` (a step's legs run in parallel)."""
    steps: dict[int, dict] = {}
    for need in needs:
        steps.setdefault(need["step"], {"step": need["step"], "needs": [], "legs": []})["needs"].append(need["need"])
    for leg in legs:
        steps.setdefault(leg["step"], {"step": leg["step"], "needs": [], "legs": []})["legs"].append(leg["id"])
    return [steps[k] for k in sorted(steps)]


def leg_view(leg: dict) -> dict:
    return {"id": leg["id"], "member": leg["member_id"], "needs": leg["needs"], "step": leg["step"],
            "status": leg["status"], "decline_reason": leg["decline_reason"], "value_baht": leg["value_baht"],
            "note": leg["note"], "replaces_leg_id": leg.get("replaces_leg_id"), "overdue": leg.get("overdue"),
            "sent_at": leg.get("sent_at"), "accepted_at": leg.get("accepted_at"), "created_at": leg["created_at"],
            "updated_at": leg["updated_at"]}


def referral_events(db, referral_id, principal) -> list[dict]:
    """The referral's append-only history (oldest first); a member sees its own legs' events only."""
    view = _referral_view(db, referral_id)
    principal = access.check_can_view(principal, view)
    own = {leg["id"] for leg in view["legs"]
           if principal["role"] != "member" or leg["member"] == principal.get("member_id")}
    return [{"id": e["id"], "leg_id": e["leg_id"], "actor": e["actor"], "at": e["at"], "from": e["from_status"],
             "to": e["to_status"], "data": e["data"]}
            for e in store.events_of(db, view["id"]) if e["leg_id"] is None or e["leg_id"] in own]


# -- move a leg ----------------------------------------------------------------------------------------

def update_leg(db, referral_id, leg_id, body, principal) -> dict:
    """Move one leg (``{"status", "reason"?, "value_baht"?, "note"?}``); 409 names the allowed moves.

    Returns ``{"id": referral id, "status": referral status, "leg": {...}}``.
    """
    view = _referral_view(db, referral_id)
    leg = next((x for x in view["legs"] if x["id"] == _positive_int(leg_id, "leg_id")), None)
    if leg is None:
        raise NotFound(f"Referral {view['id']} has no leg {leg_id}; GET /api/v1/referrals/{view['id']} lists its "
                       f"legs.", field="leg_id")
    principal = access.check_can_move(principal, view, leg)
    if not isinstance(body, dict):
        raise Unprocessable("The request body must be a JSON object with \"status\".", field="body")
    to = parse_status(body.get("status"))
    check_transition(leg, to)
    changes, data = parse_leg_payload(to, body)
    moved = store.move_leg(db, referral_id=view["id"], leg_id=leg["id"], expected=leg["status"], to=to,
                           changes=changes, actor=access.actor_of(principal), at=now_text(), data=data)
    if not moved["moved"]:
        check_transition(dict(leg, status=moved["current"]), to)
        raise Conflict(f"Leg {leg['id']} changed meanwhile; reload it and try again.", field="status")
    after = next(x for x in _referral_view(db, view["id"])["legs"] if x["id"] == leg["id"])
    return {"id": view["id"], "status": moved["referral_status"], "leg": after, "released": moved["released"]}


# -- list ----------------------------------------------------------------------------------------------

def list_referrals(db, principal, filters: dict, ref: Reference) -> dict:
    """A page of referrals in the principal's scope (no personal fields in lists) with a summary.

    ``filters``: ``status``, ``province`` (any name), ``member``, ``from`` and ``to`` (dates, inclusive),
    ``limit`` (1-500, default 50), ``offset``. Analysts get items without the enterprise's identity.
    """
    scoped = access.list_scope(principal, filters or {})
    query = parse_list_filters(scoped, ref)
    limit, offset = query.pop("limit"), query.pop("offset")
    rows, total = store.list_referrals(db, limit=limit, offset=offset, **query)
    items = [list_item(principal, row) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "summary": store.summary(db, **query)}


def list_item(principal: dict, row: dict) -> dict:
    legs = [{"id": leg["id"], "member": leg["member_id"], "needs": leg["needs"], "step": leg["step"],
             "status": leg["status"], "decline_reason": leg["decline_reason"], "value_baht": leg["value_baht"],
             "replaces_leg_id": leg["replaces_leg_id"]} for leg in row["legs"]]
    if principal["role"] == "member":
        legs = [leg for leg in legs if leg["member"] == principal.get("member_id")]
    item = {"id": row["id"], "status": row["status"], "desk": row["desk"], "province": row["province"],
            "sector": row["sector"], "needs": row["needs"], "created_at": row["created_at"],
            "updated_at": row["updated_at"], "synthetic": bool(row["synthetic"]),
            "enterprise": {"id": row["enterprise_id"], "name": row["enterprise_name"]}, "legs": legs}
    if principal["role"] == "analyst":
        del item["enterprise"]
    return item


# -- re-match ------------------------------------------------------------------------------------------

def rematch(db, snapshot, referral_id, body, principal) -> dict:
    """Replacements for a declined leg's needs; with ``assignment`` in the body, send them as new legs.

    Proposals come from ``matching.match`` excluding every member that declined a leg of this referral and
    counting past joint work with the members whose legs stay. Returns the proposals (a typed
    ``MatchResult``; the web layer renders it), or (``"created": True``) the new legs, each linked to the
    declined one by ``replaces_leg_id``.
    """
    view = _referral_view(db, referral_id)
    principal = access.check_can_rematch(principal, view)
    if not isinstance(body, dict):
        raise Unprocessable("The request body must be a JSON object with \"leg_id\".", field="body")
    leg = _declined_leg(db, view, body.get("leg_id"))
    declined = sorted({x["member"] for x in view["legs"] if x["status"] == "declined"})
    stay = sorted({x["member"] for x in view["legs"] if x["status"] not in lifecycle.REMATCHABLE})
    if body.get("assignment") is not None:
        return _send_replacements(db, snapshot, principal, view, leg, body["assignment"], declined)
    request = MatchRequest(needs=list(leg["needs"]),
                           province=view["case"]["province"] or view["enterprise"]["province"],
                           sector=view["enterprise"]["sector"], top_k=body.get("top_k", 3),
                           exclude=[m for m in declined if m in snapshot.member_index],
                           coordinate_with=[m for m in stay if m in snapshot.member_index]).checked(snapshot)
    return {"referral": view["id"], "leg": leg["id"], "needs": leg["needs"], "exclude": declined, "stay": stay,
            "proposals": matching.match(snapshot, request), "created": False}


def _declined_leg(db, view: dict, leg_id) -> dict:
    leg_id = _positive_int(leg_id, "leg_id")
    leg = next((x for x in view["legs"] if x["id"] == leg_id), None)
    if leg is None:
        raise NotFound(f"Referral {view['id']} has no leg {leg_id}.", field="leg_id")
    if leg["status"] not in lifecycle.REMATCHABLE:
        raise Conflict(f"Leg {leg_id} is '{leg['status']}'; only a declined, withdrawn or unresolved leg can be "
                       f"re-matched.", field="leg_id",
                       allowed=[x["id"] for x in view["legs"] if x["status"] in lifecycle.REMATCHABLE])
    replaced_by = store.replacements_of(db, leg_id)
    if replaced_by:
        raise Conflict(f"Leg {leg_id} was already re-matched (legs {', '.join(map(str, replaced_by))}); re-match "
                       f"one of those if it is declined in turn.", field="leg_id")
    return leg


def _send_replacements(db, snapshot, principal, view, leg, raw, declined) -> dict:
    assignment = parse_assignment(snapshot, raw, field="assignment", allowed_needs=leg["needs"], banned=declined)
    outcome = store.add_replacement_legs(db, referral_id=view["id"], replaces_leg_id=leg["id"],
                                         legs=legs_of_assignment(assignment), actor=access.actor_of(principal),
                                         at=now_text())
    if not outcome["added"]:
        raise Conflict(f"Leg {leg['id']} was re-matched or changed meanwhile; reload the referral.", field="leg_id")
    created = _created_view(db, view["id"])
    new_legs = [x for x in created["legs"] if x["id"] in outcome["added"]]
    return {"id": view["id"], "status": outcome["referral_status"], "replaces_leg_id": leg["id"], "legs": new_legs,
            "unassigned": [n for n in leg["needs"] if n not in assignment], "created": True}


# -- personal-data read log ----------------------------------------------------------------------------

def personal_data_reads(db, principal, filters: dict) -> dict:
    """The log of personal-data reads (admins only), newest first, a page at a time."""
    access.require(principal, "read_personal_log")
    referral_id = filters.get("referral_id")
    limit = _int_in(filters.get("limit", 50), "limit", 1, MAX_PAGE)
    offset = _int_in(filters.get("offset", 0), "offset", 0, MAX_OFFSET)
    rows, total = store.personal_reads(db, referral_id=_positive_int(referral_id, "referral_id")
                                       if referral_id is not None else None, limit=limit, offset=offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}

