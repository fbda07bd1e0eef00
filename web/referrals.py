"""Referrals over HTTP: create, read, list, move legs, events, re-match, and the personal-data read log.

Every operation needs an API key (``Authorization: Bearer <key>``); the roles allowed are named on each
view, and the engine (``matcher.referrals.service``) narrows what each principal sees within them.
"""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Date, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp
from flask import request

from matcher import lifecycle, render
from matcher.referrals import followup, parsing, service
from matcher.vocabulary import CONSENT_SCOPES, MAX_NEEDS, MAX_NOTE, MAX_VALUE_BAHT, SATISFACTION

from . import auth
from .context import get_db, get_reference, get_snapshot
from .schemas import EMAIL, FILLED_LINE, LINE, MEMBER_ID, MEMBER_ID_ERROR, PHONE, TEXT, Page, StrictBoolean

bp = APIBlueprint("referrals", __name__, tag="Referrals")
bp.record_once(lambda state: auth.init_app(state.app))

MAX_ID = 2 ** 63 - 1
ERRORS = {401: "No API key, or an unknown or revoked one", 403: "Outside the role's scope",
          404: "No such referral or leg", 422: "Invalid input; the error names the field and the fix"}


class ContactIn(Schema):
    name = String(allow_none=True, validate=Length(0, 200),
                  metadata={"description": "contact person (personal data)", "pattern": LINE})
    phone = String(allow_none=True, validate=Length(0, 40), metadata={"example": "081-234-5678", "pattern": PHONE})
    email = String(allow_none=True, validate=Length(0, 200), metadata={"example": "owner@example.com", "pattern": EMAIL})


class EnterpriseIn(Schema):
    name = String(required=True, validate=Length(1, 200),
                  metadata={"example": "วิสาหกิจชุมชนน้ำพริกแม่ดี", "pattern": FILLED_LINE})
    province = String(required=True, validate=Length(1, 100), metadata={"example": "เชียงใหม่", "x-reference": "province"})
    sector = String(allow_none=True, validate=Length(0, 64), metadata={"example": "food", "pattern": LINE})
    size = String(allow_none=True, validate=OneOf(parsing.SIZES))
    contact = Nested(ContactIn, allow_none=True)
    tax_id = String(allow_none=True, validate=Length(13, 13),
                    metadata={"description": "13-digit national or tax id (personal data): 13 digits, the last "
                                             "of which is the check digit of the Thai id algorithm",
                              "format": "thai-id", "example": "1234567890121"})


class ConsentIn(Schema):
    given = StrictBoolean(required=True, metadata={"description": "the enterprise agreed to share its contact data"})
    by = String(allow_none=True, validate=Length(0, 200),
                metadata={"description": "who gave consent (required when given)", "pattern": LINE})
    at = String(allow_none=True, validate=Length(0, 64),
                metadata={"format": "past-date-time", "example": "2025-03-01T10:30:00+07:00",
                          "description": "when consent was given (required when given): ISO 8601 date and time "
                                         "since 2000, not in the future; stored in Thailand time"})
    scope = String(allow_none=True, validate=OneOf(list(CONSENT_SCOPES)),
                   metadata={"example": "share_contact_with_bundle_members",
                             "description": "what the members may see (required when given)"})


class ReferralIn(Schema):
    enterprise = Nested(EnterpriseIn, allow_none=True, metadata={"description": "a new enterprise, or"})
    enterprise_id = Integer(allow_none=True, validate=Range(1, MAX_ID),
                            metadata={"description": "an enterprise already on file (404 when there is none; 409 "
                                                     "when it holds contact data and consent is not given)"})
    needs = List(String(validate=Length(1, 64), metadata={"x-reference": "category"}), allow_none=True,
                 validate=Length(1, MAX_NEEDS),
                 metadata={"example": ["gmp_haccp", "loan"],
                           "description": "the case's needs besides those in the assignment (default: the "
                                          f"assignment's); needs and assignment together name at most {MAX_NEEDS}"})
    text = String(allow_none=True, validate=Length(0, 5000),
                  metadata={"description": "what the enterprise said", "pattern": TEXT})
    assignment = Dict(keys=String(validate=Length(1, 64)), values=String(validate=Length(1, 32)), required=True,
                      validate=Length(1, 8),
                      metadata={"description": "need -> member id (a bundle's assignment); 404 for an unknown "
                                               "member, 409 for one that does not offer the need",
                                "example": {"gmp_haccp": "A0001", "loan": "A0002"}})
    consent = Nested(ConsentIn, allow_none=True)


class IdempotencyHeader(Schema):
    idempotency_key = String(data_key="Idempotency-Key", validate=Length(1, 200),
                             metadata={"description": "retrying with the same key returns the same referral "
                                                      "(1-200 printable ASCII characters, no spaces)",
                                       "pattern": "^[!-~]{1,200}$"})


class LegIn(Schema):
    status = String(required=True, validate=OneOf(lifecycle.LEG_STATUSES), metadata={"example": "accepted"})
    reason = String(allow_none=True, validate=OneOf(lifecycle.DECLINE_REASONS),
                    metadata={"description": "for declined (required then, refused otherwise)"})
    value_baht = Float(allow_none=True, validate=Range(0, MAX_VALUE_BAHT),
                       metadata={"description": "value created, for completed (required then, refused otherwise)"})
    note = String(allow_none=True, validate=Length(0, MAX_NOTE),
                  metadata={"description": "what happened; required for completed and for reason other",
                            "pattern": TEXT})


class RematchIn(Schema):
    leg_id = Integer(required=True, validate=Range(1, MAX_ID),
                     metadata={"description": "the declined leg (404 when the referral has no such leg, 409 when "
                                              "it is not declined or was re-matched already)"})
    top_k = Integer(load_default=3, validate=Range(1, 10))
    assignment = Dict(keys=String(validate=Length(1, 64)), values=String(validate=Length(1, 32)), allow_none=True,
                      validate=Length(1, 8),
                      metadata={"description": "send these replacements (need -> member; 409 for a need that is "
                                               "not the leg's or a member that declined or does not offer it)"})


class ReferralQuery(Page):
    status = String(validate=OneOf(lifecycle.REFERRAL_STATUSES))
    province = String(validate=Length(1, 100),
                      metadata={"description": "code, English or Thai name", "x-reference": "province"})
    member = String(validate=Regexp(MEMBER_ID, error=MEMBER_ID_ERROR), metadata={"description": "referrals with a leg addressed to it"})
    date_from = Date(data_key="from", metadata={"description": "created on or after (YYYY-MM-DD)"})
    date_to = Date(data_key="to", metadata={"description": "created on or before (YYYY-MM-DD); before from: "
                                                            "nothing matches"})


class CloseNeedIn(Schema):
    reason = String(required=True, validate=OneOf(lifecycle.CLOSE_REASONS), metadata={"example": "enterprise_withdrew"})
    note = String(allow_none=True, validate=Length(0, MAX_NOTE), metadata={"description": "required for other"})


class SatisfactionIn(Schema):
    score = Integer(required=True, validate=Range(*SATISFACTION), metadata={"description": "1 (very dissatisfied) "
                                                                                          "to 5 (very satisfied)"})
    note = String(allow_none=True, validate=Length(0, MAX_NOTE), metadata={"description": "what the enterprise said"})


class ReadLogQuery(Page):
    referral_id = Integer(validate=Range(1, MAX_ID))


@bp.post("/api/v1/referrals")
@auth.require("create_referral")
@bp.input(IdempotencyHeader, location="headers", arg_name="headers")
@bp.input(ReferralIn, arg_name="body")
@bp.doc(responses={201: "The referral, one leg per member", 404: "No such enterprise or member",
                   409: "A member does not offer its need, or an enterprise on file holds contact data and "
                        "consent is not given", **ERRORS})
def create_referral(headers, body):
    """Send a referral: the case, the chosen bundle and the enterprise's consent (roles: desk, admin).

    Consent (`given`, `by`, `at`, `scope`) is required whenever the enterprise has contact data, since it is
    shared with the members. An `Idempotency-Key` header makes a retry return the same referral.
    """
    result = service.create_referral(get_db(), get_snapshot(), body, auth.current_principal(),
                                     idempotency_key=headers.get("idempotency_key"))
    replayed = result.pop("replayed")
    return result, 201, {"Idempotent-Replayed": "true" if replayed else "false",
                         "Location": f"/api/v1/referrals/{result['id']}"}


@bp.get("/api/v1/referrals")
@auth.require("list_referrals")
@bp.input(ReferralQuery, location="query", arg_name="query")
@bp.doc(responses={200: "A page of referrals in the caller's scope, with a summary", **ERRORS})
def list_referrals(query):
    """Referrals in the caller's scope, newest first; no personal fields (roles: all).

    Desks see their own, members those with a leg addressed to them (only those legs), analysts and
    admins all; analysts get no enterprise names.
    """
    filters = dict(query)
    filters["from"], filters["to"] = filters.pop("date_from", None), filters.pop("date_to", None)
    return service.list_referrals(get_db(), auth.current_principal(), filters, get_reference())


@bp.get("/api/v1/referrals/<int:referral_id>")
@auth.require("view_referral")
@bp.doc(responses={200: "The referral as the caller may see it", **ERRORS})
def get_referral(referral_id):
    """One referral with its case, enterprise, consent and legs (roles: desk, member, admin).

    Contact data shows only to the desk that sent it, admins, and members of the referral it was
    consented to; every such read is logged.
    """
    return service.get_referral(get_db(), referral_id, auth.current_principal(),
                                action=f"{request.method} {request.path}")


@bp.get("/api/v1/referrals/<int:referral_id>/events")
@auth.require("view_referral")
@bp.doc(responses={200: "Every change, oldest first", **ERRORS})
def referral_events(referral_id):
    """The append-only history: actor, time, from, to, data (roles: desk, member, admin)."""
    items = service.referral_events(get_db(), referral_id, auth.current_principal())
    return {"items": items, "total": len(items)}


@bp.post("/api/v1/referrals/<int:referral_id>/legs/<int:leg_id>")
@auth.require("move_leg")
@bp.input(LegIn, arg_name="body")
@bp.doc(responses={200: "The moved leg and the referral's status", 409: "Not allowed from the leg's state",
                   **ERRORS})
def update_leg(referral_id, leg_id, body):
    """Move a leg: sent -> accepted | declined -> in_progress -> completed | closed_unresolved.

    A decline needs a `reason`; a completion needs `value_baht` and a `note`. Members move only their own
    legs; desks the legs of their own referrals (roles: member, desk, admin).
    """
    return service.update_leg(get_db(), referral_id, leg_id, body, auth.current_principal())


@bp.post("/api/v1/referrals/<int:referral_id>/rematch")
@auth.require("rematch")
@bp.input(RematchIn, arg_name="body")
@bp.doc(responses={200: "Proposed replacements", 201: "Replacement legs sent", 409: "The leg is not declined",
                   **ERRORS})
def rematch(referral_id, body):
    """Propose replacements for a declined leg, or send them with `assignment` (roles: desk, admin).

    Members who declined any leg of the referral are excluded; past joint work with the members who stay
    counts in the proposals' chances.
    """
    snapshot = get_snapshot()
    result = service.rematch(get_db(), snapshot, referral_id, body, auth.current_principal())
    if "proposals" in result:
        result["proposals"] = render.result_json(result["proposals"], snapshot.ref)
    return result, 201 if result.pop("created") else 200


@bp.post("/api/v1/referrals/<int:referral_id>/needs/<need>/close")
@auth.require("close_need")
@bp.input(CloseNeedIn, arg_name="body")
@bp.doc(responses={200: "The referral's needs and status", 409: "The need is met or closed already", **ERRORS})
def close_need(referral_id, need, body):
    """Close a need unmet, with a reason (roles: desk, admin).

    Open legs left with only closed needs are withdrawn; `met_elsewhere` lets the steps after the need go
    ahead. The case reads "closed, partly met" (listing what was not met) once every need is met or closed.
    """
    return followup.close_need(get_db(), referral_id, need, body, auth.current_principal())


@bp.post("/api/v1/referrals/<int:referral_id>/needs/<need>/reopen")
@auth.require("close_need")
@bp.doc(responses={200: "The referral's needs and status", 409: "The need is not closed", **ERRORS})
def reopen_need(referral_id, need):
    """Re-open a need the desk closed (roles: desk, admin)."""
    return followup.reopen_need(get_db(), referral_id, need, auth.current_principal())


@bp.post("/api/v1/referrals/<int:referral_id>/satisfaction")
@auth.require("record_satisfaction")
@bp.input(SatisfactionIn, arg_name="body")
@bp.doc(responses={200: "Recorded", 409: "The case is still open", **ERRORS})
def satisfaction(referral_id, body):
    """Record the enterprise's satisfaction (1-5) and a note once the case is closed (roles: desk, admin)."""
    return followup.record_satisfaction(get_db(), referral_id, body, auth.current_principal())


@bp.get("/api/v1/needs-action")
@auth.require("view_queue")
@bp.doc(responses={200: "The needs-action queue", **ERRORS})
def needs_action():
    """The desk's needs-action queue: declined legs to re-match, legs not accepted within 3 working days, legs
    past their expected duration, needs with no member (roles: desk, admin)."""
    return followup.needs_action_queue(get_db(), get_reference(), auth.current_principal())


@bp.get("/api/v1/personal-data-reads")
@auth.require("read_personal_log")
@bp.input(ReadLogQuery, location="query", arg_name="query")
@bp.doc(responses={200: "A page of the log", **ERRORS})
def personal_data_reads(query):
    """Who read which personal fields of which referral, and when (role: admin)."""
    return service.personal_data_reads(get_db(), auth.current_principal(), query)
