"""Parsing and checking what callers send about referrals: the new referral (enterprise, assignment,
consent), a leg's change and list filters. Every error names the field and the fix."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from matcher import clock, hygiene, lifecycle, vocabulary
from matcher.errors import Conflict, NotFound, Unprocessable
from matcher.reference import Reference
from matcher.vocabulary import (
    MAX_NEEDS,
    MAX_NOTE,
    MAX_OFFSET,
    MAX_PAGE,
    MAX_TEXT,
    MAX_VALUE_BAHT,
)

CONSENT_SINCE = 2000
SIZES = ("micro", "small", "medium")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
PHONE = re.compile(r"^[0-9+()\-\s.]{3,40}$")


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
    listed = ref.check_categories(body["needs"], field="needs") if body.get("needs") is not None else []
    needs = listed + [n for n in assignment if n not in listed]  # an assigned need is a need of the case
    if not 1 <= len(needs) <= MAX_NEEDS:
        raise Unprocessable(f"needs and the assignment together must name 1 to {MAX_NEEDS} service categories; "
                            f"got {len(needs)}. Split the case.", field="needs")
    return {"enterprise": enterprise, "enterprise_id": enterprise_id, "needs": needs, "assignment": assignment,
            "unassigned": [n for n in needs if n not in assignment],
            "province": enterprise["province"] if enterprise else None,
            "text": _optional_text(body.get("text"), "text", MAX_TEXT, multiline=True),
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
                                      "a phone number such as 081-234-5678", limit=40),
            "contact_email": _checked(contact.get("email"), "enterprise.contact.email", EMAIL,
                                      "an email address such as name@example.com"),
            "tax_id": hygiene.thai_id(raw.get("tax_id"), "enterprise.tax_id"),
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
            raise Conflict(f"{need} is not a need of this leg; re-match only its needs.", field=field,
                           allowed=list(allowed_needs))
        if not isinstance(member, str):
            raise Unprocessable(f"{where} must be a member id such as A0001 or C0001; got {_shown(member)}.",
                                field=where)
        if member not in snapshot.member_index:
            raise NotFound(f"Unknown or inactive member {member!r} for {need}; use a member id such as A0001 "
                           f"or C0001 (GET /api/v1/agencies, GET /api/v1/consultants).", field=where)
        # The member exists, but the network's current state rules it out for this need: 409.
        if member in banned:
            raise Conflict(f"Member {member} declined this referral; choose another member for {need}.",
                           field=where)
        if not snapshot.offers[snapshot.member_index[member], snapshot.category_index[need]]:
            raise Conflict(f"Member {member} does not offer {need}; GET /api/v1/agencies/{member} (or "
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
    if scope not in vocabulary.CONSENT_SCOPES:
        raise Unprocessable(f"Unknown consent.scope {scope!r}; expected one of: {', '.join(vocabulary.CONSENT_SCOPES)}.",
                            field="consent.scope", allowed=list(vocabulary.CONSENT_SCOPES))
    return {"given": True, "by": by, "at": _consent_time(raw.get("at")), "scope": scope}


def _consent_time(value) -> str:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        raise Unprocessable(f"consent.at must be the ISO 8601 date and time consent was given, e.g. "
                            f"2025-03-01T10:30:00+07:00; got {value!r}.", field="consent.at")
    when = clock.as_bangkok(when)  # one clock: stored in Thailand time whatever offset it was sent with
    if when > clock.now() + timedelta(hours=1) or when.year < CONSENT_SINCE:
        raise Unprocessable(f"consent.at {value!r} is not a plausible time: give when consent was actually given "
                            f"(not in the future, not before {CONSENT_SINCE}).", field="consent.at")
    return when.isoformat(timespec="seconds")


def check_consent(consent: dict, personal_fields: list[str], *, on_file: bool = False) -> None:
    """Contact data may go to the members only with the enterprise's recorded consent: 422 for a request
    that sends contact data without it, 409 when the contact data is that of an enterprise on file."""
    if personal_fields and not consent["given"]:
        raise (Conflict if on_file else Unprocessable)(
            "ยังไม่ได้รับความยินยอมจากสถานประกอบการ จึงส่งข้อมูลติดต่อให้สมาชิกไม่ได้ "
            "(พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล) / "
            f"The referral would share the enterprise's personal data ({', '.join(personal_fields)}) with the "
            "members, which needs its recorded consent under the PDPA: send consent {\"given\": true, \"by\", "
            "\"at\", \"scope\"}, or refer a new enterprise entry without contact details.",
            field="consent", allowed=list(vocabulary.CONSENT_SCOPES))



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
    if lifecycle.is_system_move(current, to):
        raise Conflict(f"งานของสมาชิกเลขที่ {leg['id']} จะถูกส่งเองเมื่อขั้นก่อนหน้าเสร็จ / Leg {leg['id']} is '{current}': it "
                       f"moves to '{to}' by itself when the plan's earlier steps are done (or when the desk closes "
                       f"its needs). Allowed now: {', '.join(allowed) or 'nothing'}.", field="status", allowed=allowed)
    if allowed:
        hint = f"Allowed next: {', '.join(allowed)}."
    elif current in lifecycle.REMATCHABLE:
        hint = f"'{current}' is final; re-match its needs with POST /api/v1/referrals/<id>/rematch."
    else:
        hint = f"'{current}' is final; nothing follows it."
    raise Conflict(f"งานของสมาชิกเลขที่ {leg['id']} อยู่ในสถานะ '{current}' เปลี่ยนเป็น '{to}' ไม่ได้ / Leg {leg['id']} is "
                   f"'{current}'; it cannot move to '{to}'. {hint}", field="status", allowed=allowed)


def parse_leg_payload(to: str, body: dict) -> tuple[dict, dict]:
    """(column changes, event data) for a move to ``to``; fields that do not apply are refused."""
    reason, value = body.get("reason"), body.get("value_baht")
    note = _optional_text(body.get("note"), "note", MAX_NOTE, multiline=True)
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



def parse_list_filters(filters: dict, ref: Reference) -> dict:
    status = filters.get("status") or None
    if status is not None and status not in lifecycle.REFERRAL_STATUSES:
        raise Unprocessable(f"Unknown referral status {status!r}; expected one of: "
                            f"{', '.join(lifecycle.REFERRAL_STATUSES)}.", field="status",
                            allowed=lifecycle.REFERRAL_STATUSES)
    province = ref.resolve_province(filters["province"]) if filters.get("province") else None
    start, end = _as_date(filters.get("from"), "from"), _as_date(filters.get("to"), "to")  # to before from: none
    limit = _int_in(filters.get("limit", 50), "limit", 1, MAX_PAGE)
    offset = _int_in(filters.get("offset", 0), "offset", 0, MAX_OFFSET)
    need = filters.get("need") or None
    if need is not None and need not in ref.category_by_code:
        raise Unprocessable(f"Unknown need {need!r}; use a category code of the taxonomy (GET /api/v1/categories).",
                            field="need")
    text = str(filters.get("text") or "").strip()[:200] or None
    members = filters.get("members")  # from the desk pages only (a list of ids); the API filters by one member
    members = members if isinstance(members, (list, tuple)) else None
    return {"status": status, "province": province, "member": filters.get("member") or None,
            "desk": filters.get("desk"), "date_from": start.isoformat() if start else None,
            "date_before": _day_after(end), "limit": limit, "offset": offset, "need": need, "text": text,
            "members": list(members)[:500] if members is not None else None}



# -- small checks --------------------------------------------------------------------------------------

def _positive_int(value, field: str) -> int:
    value = _as_int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2 ** 63:
        raise Unprocessable(f"{field} must be a positive whole number; got {_shown(value)}.", field=field)
    return value


def _int_in(value, field: str, low: int, high: int | None) -> int:
    value = _as_int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise Unprocessable(f"{field} must be a whole number {bound}; got {_shown(value)}.", field=field)
    return value


DIGITS = re.compile(r"[0-9]{1,19}")


def _as_int(value):
    """Text of ASCII digits as an int (at most 19 digits); anything else unchanged, for the caller to refuse."""
    if isinstance(value, str) and DIGITS.fullmatch(value):
        return int(value)
    return value


def _shown(value) -> str:
    """A value for an error message, cut short (a huge number or text is not echoed whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return "a number of more than 30 digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional_text(value, field: str, limit: int, *, multiline: bool = False) -> str | None:
    """Text as it is stored: no control characters (line breaks only in long text), Thai normalised, trimmed;
    None when empty (``matcher.hygiene.clean_text``)."""
    return hygiene.clean_text(value, field, limit, multiline=multiline)


def _checked(value, field: str, pattern: re.Pattern, example: str, limit: int = 200) -> str | None:
    text = _optional_text(value, field, limit)
    if text is not None and not pattern.match(text):
        raise Unprocessable(f"{field} {text!r} does not look like {example}.", field=field)
    return text


def _day_after(day: date | None) -> str | None:
    """The ISO date after ``day`` (the exclusive upper bound of an inclusive filter); None for no bound,
    including the last representable day, which nothing can be created after."""
    if day is None or day >= date.max:
        return None
    return (day + timedelta(days=1)).isoformat()


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
