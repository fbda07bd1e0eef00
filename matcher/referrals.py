"""Closed-loop referrals: create one from a case with the enterprise's consent, move its legs through the
lifecycle, list and read them within the caller's scope, and re-match a declined leg.

Every function takes the store (``db``), the caller's principal dict (``matcher.access``) and plain data,
and raises :mod:`matcher.errors`; none reads Flask globals, so the HTTP API and the desk pages share them.
Writes go through ``matcher.store.referrals`` (one transaction each, every change an appended event).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from datetime import date, datetime, timedelta

from . import access, lifecycle, matching
from .errors import Conflict, NotFound, Unprocessable
from .reference import Reference, load_reference
from .store import referrals as store
from .store.referrals import now_text

MAX_NEEDS = 8
MAX_TEXT = 5000
MAX_NOTE = 2000
MAX_VALUE_BAHT = 1e12
MAX_PAGE = 500
MAX_OFFSET = 2 ** 31 - 1
CONSENT_SINCE = 2000
SIZES = ("micro", "small", "medium")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
TAX_ID = re.compile(r"^\d{13}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
PHONE = re.compile(r"^[0-9+()\-\s.]{3,40}$")


# -- create --------------------------------------------------------------------------------------------

def create_referral(db, snapshot, body, principal, idempotency_key=None) -> dict:
    """Create a referral (case, legs, events) from a request body; a retried key returns the same referral.

    Returns ``{"id", "status", "legs": [{"id", "member", "needs", "status"}], "unassigned", "replayed"}``.
    """
    principal = access.require_role(principal, access.CAN_CREATE, "ส่งต่อบริการ / create referrals")
    scoped_key = scoped_idempotency_key(principal, idempotency_key)
    request = parse_create(snapshot, body)
    fingerprint = request_fingerprint(request)
    if scoped_key and (earlier := store.find_idempotent(db, scoped_key)):
        return _replay(db, earlier, fingerprint)
    personal = _enterprise_personal(db, principal, request)
    check_consent(request["consent"], personal)
    actor, at = access.actor_of(principal), now_text()
    referral_id, created = store.create_referral(
        db, enterprise=request["enterprise"], enterprise_id=request["enterprise_id"],
        case={"province": request["province"], "needs": request["needs"], "text": request["text"],
              "desk": principal.get("desk")},
        referral={"desk": principal.get("desk"), "created_by": actor, **_consent_columns(request["consent"]),
                  "idempotency_key": scoped_key, "request_hash": fingerprint},
        legs=legs_of_assignment(request["assignment"]), actor=actor, at=at,
        event_data={"event": "created", "needs": request["needs"], "unassigned": request["unassigned"],
                    "consent": {k: v for k, v in request["consent"].items() if k != "by"}})
    if not created:
        return _replay(db, {"id": referral_id, "request_hash": store.find_idempotent(db, scoped_key)["request_hash"]},
                       fingerprint)
    return dict(_created_view(db, referral_id), replayed=False)


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
            "legs": [{"id": leg["id"], "member": leg["member_id"], "needs": leg["needs"], "status": leg["status"]}
                     for leg in record["legs"]],
            "unassigned": [n for n in record["case"].get("needs") or [] if n not in covered]}


def parse_create(snapshot, body) -> dict:
    """Validate a create body into plain values; errors name the field and the fix."""
    if not isinstance(body, dict):
        raise Unprocessable("The request body must be a JSON object.", field="body")
    ref = snapshot.ref
    has_enterprise, has_id = body.get("enterprise") is not None, body.get("enterprise_id") is not None
    if has_enterprise == has_id:
        raise Unprocessable("Give exactly one of \"enterprise\" (name, province, sector, contact) for a new "
                            "enterprise or \"enterprise_id\" for one already on file.", field="enterprise")
    enterprise = parse_enterprise(ref, body["enterprise"]) if has_enterprise else None
    enterprise_id = _positive_int(body.get("enterprise_id"), "enterprise_id") if has_id else None
    assignment = parse_assignment(snapshot, body.get("assignment"), field="assignment")
    needs = ref.check_categories(body["needs"], field="needs") if body.get("needs") is not None else list(assignment)
    if not 1 <= len(needs) <= MAX_NEEDS:
        raise Unprocessable(f"needs must list 1 to {MAX_NEEDS} service categories; got {len(needs)}.", field="needs")
    stray = [n for n in assignment if n not in needs]
    if stray:
        raise Unprocessable(f"assignment covers {', '.join(stray)}, which is not in needs; add it to needs or drop "
                            f"it from the assignment.", field="assignment", allowed=needs)
    return {"enterprise": enterprise, "enterprise_id": enterprise_id, "needs": needs, "assignment": assignment,
            "unassigned": [n for n in needs if n not in assignment],
            "province": enterprise["province"] if enterprise else None,
            "text": _optional_text(body.get("text"), "text", MAX_TEXT),
            "consent": parse_consent(body.get("consent"))}


def parse_enterprise(ref: Reference, raw) -> dict:
    """An ``enterprises`` row from the request's enterprise object (contact and tax id are personal data)."""
    if not isinstance(raw, dict):
        raise Unprocessable("enterprise must be an object with name, province, sector and contact.",
                            field="enterprise")
    name = _optional_text(raw.get("name"), "enterprise.name", 200)
    if not name:
        raise Unprocessable("enterprise.name is required: the enterprise's registered or trading name.",
                            field="enterprise.name")
    size = raw.get("size")
    if size is not None and size not in SIZES:
        raise Unprocessable(f"Unknown enterprise.size {size!r}; expected one of: {', '.join(SIZES)}.",
                            field="enterprise.size", allowed=SIZES)
    contact = raw.get("contact") or {}
    if not isinstance(contact, dict):
        raise Unprocessable("enterprise.contact must be an object with name, phone and email.",
                            field="enterprise.contact")
    return {"name": name, "province": ref.resolve_province(raw.get("province"), field="enterprise.province"),
            "sector": _optional_text(raw.get("sector"), "enterprise.sector", 64), "size": size,
            "contact_name": _optional_text(contact.get("name"), "enterprise.contact.name", 200),
            "contact_phone": _checked(contact.get("phone"), "enterprise.contact.phone", PHONE,
                                      "a phone number such as 081-234-5678"),
            "contact_email": _checked(contact.get("email"), "enterprise.contact.email", EMAIL,
                                      "an email address such as name@example.com"),
            "tax_id": _checked(raw.get("tax_id"), "enterprise.tax_id", TAX_ID, "the 13-digit national or tax id"),
            "synthetic": 0}


def parse_assignment(snapshot, raw, *, field: str, allowed_needs=None, banned=()) -> dict[str, str]:
    """``{need: member id}`` checked against the network: every member active and offering its need."""
    if not isinstance(raw, dict) or not raw:
        raise Unprocessable(f"{field} must map each need to the chosen member, e.g. {{\"gmp_haccp\": \"A0001\"}} "
                            f"(the \"assignment\" of a bundle from POST /api/v1/match).", field=field)
    needs = snapshot.ref.check_categories(list(raw), field=field)
    for need in needs:
        member = raw[need]
        where = f"{field}.{need}"
        if allowed_needs is not None and need not in allowed_needs:
            raise Unprocessable(f"{need} is not a need of this leg; re-match only its needs.", field=field,
                                allowed=list(allowed_needs))
        if not isinstance(member, str) or member not in snapshot.member_index:
            raise Unprocessable(f"Unknown or inactive member {member!r} for {need}; use a member id such as A0001 "
                                f"or C0001 (GET /api/v1/agencies, GET /api/v1/consultants).", field=where)
        if member in banned:
            raise Unprocessable(f"Member {member} declined this referral; choose another member for {need}.",
                                field=where)
        if not snapshot.offers[snapshot.member_index[member], snapshot.category_index[need]]:
            raise Unprocessable(f"Member {member} does not offer {need}; GET /api/v1/agencies/{member} (or "
                                f"consultants) lists what it offers.", field=where)
    return {need: raw[need] for need in needs}


def legs_of_assignment(assignment: dict[str, str]) -> list[dict]:
    """One leg per member, with the needs it covers in the order given."""
    legs: dict[str, list[str]] = {}
    for need, member in assignment.items():
        legs.setdefault(member, []).append(need)
    return [{"member_id": member, "needs": needs} for member, needs in legs.items()]


def parse_consent(raw) -> dict:
    """``{"given", "by", "at", "scope"}``; absent consent is ``{"given": False}``."""
    if raw is None:
        return {"given": False}
    if not isinstance(raw, dict) or not isinstance(raw.get("given"), bool):
        raise Unprocessable("consent must be an object {\"given\": true|false, \"by\", \"at\", \"scope\"}.",
                            field="consent.given")
    if not raw["given"]:
        return {"given": False}
    by = _optional_text(raw.get("by"), "consent.by", 200)
    if not by:
        raise Unprocessable("consent.by is required: the name of the person who gave consent for the enterprise.",
                            field="consent.by")
    scope = raw.get("scope")
    if scope not in access.CONSENT_SCOPES:
        raise Unprocessable(f"Unknown consent.scope {scope!r}; expected one of: {', '.join(access.CONSENT_SCOPES)}.",
                            field="consent.scope", allowed=list(access.CONSENT_SCOPES))
    return {"given": True, "by": by, "at": _consent_time(raw.get("at")), "scope": scope}


def _consent_time(value) -> str:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        raise Unprocessable(f"consent.at must be the ISO 8601 date and time consent was given, e.g. "
                            f"2025-03-01T10:30:00+07:00; got {value!r}.", field="consent.at")
    if when.tzinfo is None:
        when = when.replace(tzinfo=store.ICT)
    if when > datetime.now(store.ICT) + timedelta(hours=1) or when.year < CONSENT_SINCE:
        raise Unprocessable(f"consent.at {value!r} is not a plausible time: give when consent was actually given "
                            f"(not in the future, not before {CONSENT_SINCE}).", field="consent.at")
    return when.isoformat(timespec="seconds")


def check_consent(consent: dict, personal_fields: list[str]) -> None:
    """Contact data may go to the members only with the enterprise's recorded consent."""
    if personal_fields and not consent["given"]:
        raise Unprocessable(
            "ยังไม่ได้รับความยินยอมจากสถานประกอบการ จึงส่งข้อมูลติดต่อให้สมาชิกไม่ได้ "
            "(พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล) / "
            f"The referral would share the enterprise's personal data ({', '.join(personal_fields)}) with the "
            "members, which needs its recorded consent under the PDPA: send consent {\"given\": true, \"by\", "
            "\"at\", \"scope\"}, or refer a new enterprise entry without contact details.",
            field="consent", allowed=list(access.CONSENT_SCOPES))


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
                                key_id=principal.get("key_id"), referral_id=view["id"],
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
    """The full view of a stored referral (before redaction)."""
    ref, case, ent = record["referral"], record["case"], record["enterprise"]
    legs = [leg_view(leg) for leg in record["legs"]]
    live = {n for leg in legs if leg["status"] != "declined" for n in leg["needs"]}
    return {
        "id": ref["id"], "status": ref["status"], "desk": ref["desk"], "created_by": ref["created_by"],
        "created_at": ref["created_at"], "updated_at": ref["updated_at"], "synthetic": bool(ent.get("synthetic")),
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
        "legs": legs,
        "uncovered": [n for n in case.get("needs") or [] if n not in live],
    }


def leg_view(leg: dict) -> dict:
    return {"id": leg["id"], "member": leg["member_id"], "needs": leg["needs"], "status": leg["status"],
            "decline_reason": leg["decline_reason"], "value_baht": leg["value_baht"], "note": leg["note"],
            "replaces_leg_id": leg.get("replaces_leg_id"), "created_at": leg["created_at"],
            "updated_at": leg["updated_at"]}


def referral_events(db, referral_id, principal) -> list[dict]:
    """The referral's append-only history (oldest first); a member sees its own legs' events only."""
    view = _referral_view(db, referral_id)
    principal = access.check_can_view(principal, view)
    own = {leg["id"] for leg in access.redact(principal, view)["legs"]}
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
    return {"id": view["id"], "status": moved["referral_status"], "leg": after}


def parse_status(value) -> str:
    if value not in lifecycle.LEG_STATUSES:
        raise Unprocessable(f"Unknown leg status {value!r}; expected one of: {', '.join(lifecycle.LEG_STATUSES)}.",
                            field="status", allowed=lifecycle.LEG_STATUSES)
    return value


def check_transition(leg: dict, to: str) -> None:
    """Conflict (409) naming the allowed next states when ``leg`` may not move to ``to``."""
    current = leg["status"]
    if lifecycle.is_allowed(current, to):
        return
    allowed = lifecycle.allowed_next(current)
    if allowed:
        hint = f"Allowed next: {', '.join(allowed)}."
    elif current == "declined":
        hint = "'declined' is final; re-match its needs with POST /api/v1/referrals/<id>/rematch."
    else:
        hint = f"'{current}' is final; nothing follows it."
    raise Conflict(f"ส่วนงาน {leg['id']} อยู่ในสถานะ '{current}' เปลี่ยนเป็น '{to}' ไม่ได้ / Leg {leg['id']} is "
                   f"'{current}'; it cannot move to '{to}'. {hint}", field="status", allowed=allowed)


def parse_leg_payload(to: str, body: dict) -> tuple[dict, dict]:
    """(column changes, event data) for a move to ``to``; fields that do not apply are refused."""
    reason, value = body.get("reason"), body.get("value_baht")
    note = _optional_text(body.get("note"), "note", MAX_NOTE)
    if reason is not None and to != "declined":
        raise Unprocessable("reason applies only to status 'declined'; drop it.", field="reason")
    if value is not None and to != "completed":
        raise Unprocessable("value_baht applies only to status 'completed'; drop it.", field="value_baht")
    if to == "declined":
        if reason not in lifecycle.DECLINE_REASONS:
            raise Unprocessable(f"A decline needs a reason from the list; got {reason!r}. Expected one of: "
                                f"{', '.join(lifecycle.DECLINE_REASONS)}.", field="reason",
                                allowed=lifecycle.DECLINE_REASONS)
        if reason == "other" and not note:
            raise Unprocessable("reason 'other' needs a note saying why.", field="note")
    if to == "completed":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_VALUE_BAHT:
            raise Unprocessable(f"A completion needs value_baht, the value created in baht (a number from 0 to "
                                f"{MAX_VALUE_BAHT:,.0f}); got {value!r}.", field="value_baht")
        if not note:
            raise Unprocessable("A completion needs a note: what was achieved, in a sentence or two.", field="note")
    changes = {"decline_reason": reason, "value_baht": float(value) if value is not None else None, "note": note}
    data = {k: v for k, v in (("reason", reason), ("value_baht", changes["value_baht"]), ("note", note))
            if v is not None}
    return changes, data


# -- list ----------------------------------------------------------------------------------------------

def list_referrals(db, principal, filters: dict, *, ref: Reference | None = None) -> dict:
    """A page of referrals in the principal's scope (no personal fields in lists) with a summary.

    ``filters``: ``status``, ``province`` (any name), ``member``, ``from`` and ``to`` (dates, inclusive),
    ``limit`` (1-500, default 50), ``offset``. Analysts get items without the enterprise's identity.
    """
    scoped = access.list_scope(principal, filters or {})
    query = parse_list_filters(scoped, ref or load_reference())
    limit, offset = query.pop("limit"), query.pop("offset")
    rows, total = store.list_referrals(db, limit=limit, offset=offset, **query)
    items = [list_item(principal, row) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "summary": store.summary(db, **query)}


def parse_list_filters(filters: dict, ref: Reference) -> dict:
    status = filters.get("status") or None
    if status is not None and status not in lifecycle.REFERRAL_STATUSES:
        raise Unprocessable(f"Unknown referral status {status!r}; expected one of: "
                            f"{', '.join(lifecycle.REFERRAL_STATUSES)}.", field="status",
                            allowed=lifecycle.REFERRAL_STATUSES)
    province = ref.resolve_province(filters["province"]) if filters.get("province") else None
    start, end = _as_date(filters.get("from"), "from"), _as_date(filters.get("to"), "to")
    if start and end and start > end:
        raise Unprocessable(f"from ({start}) is after to ({end}); swap them.", field="from")
    limit = _int_in(filters.get("limit", 50), "limit", 1, MAX_PAGE)
    offset = _int_in(filters.get("offset", 0), "offset", 0, MAX_OFFSET)
    return {"status": status, "province": province, "member": filters.get("member") or None,
            "desk": filters.get("desk"), "date_from": start.isoformat() if start else None,
            "date_before": (end + timedelta(days=1)).isoformat() if end else None, "limit": limit, "offset": offset}


def list_item(principal: dict, row: dict) -> dict:
    legs = [{"id": leg["id"], "member": leg["member_id"], "needs": leg["needs"], "status": leg["status"],
             "decline_reason": leg["decline_reason"], "value_baht": leg["value_baht"],
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
    coordinating with the members whose legs stay. Returns the proposals, or (``"created": True``) the new
    legs, each linked to the declined one by ``replaces_leg_id``.
    """
    view = _referral_view(db, referral_id)
    principal = access.check_can_rematch(principal, view)
    if not isinstance(body, dict):
        raise Unprocessable("The request body must be a JSON object with \"leg_id\".", field="body")
    leg = _declined_leg(db, view, body.get("leg_id"))
    declined = sorted({x["member"] for x in view["legs"] if x["status"] == "declined"})
    stay = sorted({x["member"] for x in view["legs"] if x["status"] != "declined"})
    if body.get("assignment") is not None:
        return _send_replacements(db, snapshot, principal, view, leg, body["assignment"], declined)
    request = {"needs": leg["needs"], "province": view["case"]["province"] or view["enterprise"]["province"],
               "sector": view["enterprise"]["sector"], "top_k": body.get("top_k", 3),
               "exclude": [m for m in declined if m in snapshot.member_index]}
    coordinated = supports_coordination()
    if coordinated:
        request["coordinate_with"] = [m for m in stay if m in snapshot.member_index]
    return {"referral": view["id"], "leg": leg["id"], "needs": leg["needs"], "exclude": declined, "stay": stay,
            "coordinated_with_stay": coordinated, "proposals": matching.match(snapshot, request), "created": False}


def supports_coordination() -> bool:
    """True when the matcher scores coordination against members who stay (``coordinate_with``)."""
    return any(f.name == "coordinate_with" for f in dataclasses.fields(matching.MatchRequest))


def _declined_leg(db, view: dict, leg_id) -> dict:
    leg_id = _positive_int(leg_id, "leg_id")
    leg = next((x for x in view["legs"] if x["id"] == leg_id), None)
    if leg is None:
        raise NotFound(f"Referral {view['id']} has no leg {leg_id}.", field="leg_id")
    if leg["status"] != "declined":
        raise Conflict(f"Leg {leg_id} is '{leg['status']}'; only a declined leg can be re-matched.",
                       field="leg_id", allowed=[x["id"] for x in view["legs"] if x["status"] == "declined"])
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
    access.require_role(principal, ("admin",), "ดูบันทึกการเข้าถึงข้อมูลส่วนบุคคล / read the personal-data log")
    referral_id = filters.get("referral_id")
    limit = _int_in(filters.get("limit", 50), "limit", 1, MAX_PAGE)
    offset = _int_in(filters.get("offset", 0), "offset", 0, MAX_OFFSET)
    rows, total = store.personal_reads(db, referral_id=_positive_int(referral_id, "referral_id")
                                       if referral_id is not None else None, limit=limit, offset=offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


# -- small checks --------------------------------------------------------------------------------------

def _positive_int(value, field: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2 ** 63:
        raise Unprocessable(f"{field} must be a positive whole number; got {value!r}.", field=field)
    return value


def _int_in(value, field: str, low: int, high: int | None) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise Unprocessable(f"{field} must be a whole number {bound}; got {value!r}.", field=field)
    return value


def _optional_text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or not _is_utf8(value):
        raise Unprocessable(f"{field} must be text (valid UTF-8) of at most {limit} characters.", field=field)
    return value.strip() or None


def _is_utf8(value: str) -> bool:
    """False for strings holding lone surrogates (possible from JSON escapes; SQLite cannot store them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked(value, field: str, pattern: re.Pattern, example: str) -> str | None:
    text = _optional_text(value, field, 200)
    if text is not None and not pattern.match(text):
        raise Unprocessable(f"{field} {text!r} does not look like {example}.", field=field)
    return text


def _as_date(value, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Unprocessable(f"{field} must be a date YYYY-MM-DD (Christian era), e.g. 2025-03-01; got {value!r}.",
                            field=field) from None
