"""Who may do what with referrals, and which personal fields each principal may see (pure functions).

A principal is a plain dict ``{"role", "member_id", "desk", "key_id", "name"}`` built by the web layer from
an API key (``web/auth.py``) or a desk session; nothing here reads Flask globals.

Roles:

- ``desk``: a one-stop-service desk. Creates referrals; sees, follows and re-matches only its own desk's
  referrals; may move their legs on a member's behalf (the event names the desk as the actor).
- ``member``: an agency or consultant. Sees only referrals it has a leg in; within them its own legs in
  full and the other members' legs as the plan (organisation, needs, step, status); moves only its own legs.
- ``analyst``: de-identified lists and aggregates only; never personal data, never a single referral.
- ``admin``: everything.

Personal data (Thailand's PDPA): the enterprise's contact person, phone, email, national or tax id, and the
name of whoever gave consent. Desks see them on their own referrals, admins on all; a member sees the
contact fields the enterprise consented to share, and only on a referral it is part of; analysts never.
"""

from __future__ import annotations

import re

from matcher.errors import Forbidden, Unauthorized
from matcher.vocabulary import (
    CONSENT_SCOPES,
    CONTACT_FIELDS,
    PERMISSIONS,
    PERSONAL_PARTS,
    ROLE_TH,
    ROLES,
)


def check_principal(principal) -> dict:
    """The principal itself, or Unauthorized when there is none or it is malformed."""
    if not isinstance(principal, dict) or principal.get("role") not in ROLES:
        raise Unauthorized("กรุณาระบุกุญแจ API / An API key is required: send Authorization: Bearer <key> "
                           "(an administrator creates one with flask --app api create-key --role ROLE).",
                           field="Authorization")
    return principal


def require(principal, action: str) -> dict:
    """The principal when its role may do ``action`` (a key of ``matcher.vocabulary.PERMISSIONS``);
    otherwise Unauthorized (no principal) or Forbidden naming the allowed roles."""
    roles, wording = PERMISSIONS[action]
    return require_role(principal, roles, wording)


def require_role(principal, roles, action: str) -> dict:
    """The principal when its role is one of ``roles``; otherwise Forbidden naming the allowed roles."""
    principal = check_principal(principal)
    if principal["role"] not in roles:
        thai, _, english = action.partition(" / ")
        english = english or thai
        raise Forbidden(f"บทบาท{ROLE_TH[principal['role']]}ไม่มีสิทธิ์{thai} / The {principal['role']} role may "
                        f"not {english}; allowed roles: {', '.join(roles)}.", field="role", allowed=roles)
    return principal


def actor_of(principal: dict) -> str:
    """The name recorded in events: the member id, the desk, or ``role:name`` for analysts and admins."""
    if principal["role"] == "member":
        return principal["member_id"]
    if principal["role"] == "desk":
        return principal["desk"]
    return f"{principal['role']}:{principal.get('name') or principal.get('key_id') or 'unknown'}"



def is_party(principal: dict, referral: dict) -> bool:
    """True when the principal may see this referral (``referral`` has ``desk`` and ``legs``)."""
    role = principal["role"]
    if role == "admin":
        return True
    if role == "desk":
        return bool(principal.get("desk")) and referral.get("desk") == principal["desk"]
    if role == "member":
        return any(leg["member"] == principal.get("member_id") for leg in referral["legs"])
    return False


def check_can_view(principal, referral: dict) -> dict:
    principal = require(principal, "view_referral")
    if not is_party(principal, referral):
        raise Forbidden(f"ไม่มีสิทธิ์ดูการส่งต่อ {referral['id']} / Referral {referral['id']} is outside your scope: "
                        f"{_scope_text(principal)}.", field="referral_id")
    return principal


def check_can_move(principal, referral: dict, leg: dict) -> dict:
    principal = require(principal, "move_leg")
    check_can_view(principal, referral)
    if principal["role"] == "member" and leg["member"] != principal.get("member_id"):
        raise Forbidden(f"งานของสมาชิกเลขที่ {leg['id']} ส่งถึง {leg['member']} ไม่ใช่ถึงท่าน / Leg {leg['id']} is addressed to "
                        f"{leg['member']}, not to {principal.get('member_id')}; members move only their own legs.",
                        field="leg_id")
    return principal


def check_can_rematch(principal, referral: dict) -> dict:
    principal = require(principal, "rematch")
    return check_can_view(principal, referral)


def check_can_use_enterprise(principal: dict, enterprise_desks) -> None:
    """A desk may refer an existing enterprise only if it has handled one of its cases before."""
    if principal["role"] == "desk" and principal.get("desk") not in set(enterprise_desks):
        raise Forbidden("สถานประกอบการนี้ไม่เคยติดต่อจุดบริการของท่าน / This desk has no earlier case of this "
                        "enterprise, so it may not refer it by id (its contact data would be shared); send "
                        "\"enterprise\" with the details the enterprise gave you instead.", field="enterprise_id")


def _scope_text(principal: dict) -> str:
    if principal["role"] == "desk":
        return f"desk {principal.get('desk')!r} sees only the referrals it created"
    if principal["role"] == "member":
        return f"member {principal.get('member_id')!r} sees only referrals with a leg addressed to it"
    return f"the {principal['role']} role sees aggregates only"


def list_scope(principal: dict, filters: dict) -> dict:
    """The filters narrowed to the principal's scope (a desk's own referrals, a member's own legs)."""
    principal = require(principal, "list_referrals")
    scoped = dict(filters)
    if principal["role"] == "desk":
        scoped["desk"] = principal.get("desk") or ""
    if principal["role"] == "member":
        own = principal.get("member_id")
        if scoped.get("member") not in (None, own):
            raise Forbidden(f"สมาชิกดูได้เฉพาะเรื่องของตนเอง / A member lists only its own legs; drop member= or "
                            f"set it to {own}.", field="member", allowed=[own])
        scoped["member"] = own
    return scoped


PURPOSES = ("read", "export")


def visible_personal_parts(principal: dict, referral: dict, purpose: str = "read") -> tuple[str, ...]:
    """THE consent policy: which personal parts (``contact``, ``tax_id``, ``consent_by``) of a referral may
    reach this principal. Every read and every export asks here.

    - ``read`` (a referral in the API or on the desk pages): the desk that sent it and admins see every
      part; a member of the referral sees the parts its consent scope covers, and only when consent was
      given; anyone else nothing.
    - ``export`` (the monitoring CSV: the data leave the referral): whoever exports (admins only) gets the
      parts the consent scope covers and who consented, and only where consent was given.

    ``referral`` needs ``consent`` (``given``, ``scope``) and, for reads, ``desk`` and ``legs``.
    """
    consent = referral.get("consent") or {}
    scoped = CONSENT_SCOPES.get(consent.get("scope"), ()) if consent.get("given") else ()
    if purpose == "export":
        return (*scoped, "consent_by") if scoped else ()
    if purpose != "read":
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {PURPOSES}")
    role = principal["role"]
    if role == "admin" or (role == "desk" and is_party(principal, referral)):
        return PERSONAL_PARTS
    if role == "member" and is_party(principal, referral):
        return scoped
    return ()


# What a description may hold that belongs to a personal part: phone numbers and e-mail addresses (contact),
# 13-digit national or tax ids (tax_id). Ids first, so their digits are not taken for a phone number.
_TEXT_PATTERNS = (
    ("tax_id", re.compile(r"(?<![0-9])[0-9](?:[\s-]?[0-9]){12}(?![0-9])"), "[เลขประจำตัว / ID number]"),
    ("contact", re.compile(r"[^\s@<>()\[\],;:]+@[^\s@<>()\[\],;:]+\.[^\s@<>()\[\],;:]+"), "[อีเมล / e-mail]"),
    ("contact", re.compile(r"(?<![0-9])(?:\+?66[\s-]?|0)[0-9](?:[\s.-]?[0-9]){7,8}(?![0-9])"),
     "[เบอร์โทรศัพท์ / phone]"),
)


def masked_text(text: str | None, parts: tuple[str, ...]) -> str | None:
    """A free-text description with the phone numbers, e-mail addresses and id numbers of the parts not in
    ``parts`` replaced by a label, so that a description cannot leak what consent did not cover."""
    if not text:
        return text
    for part, pattern, label in _TEXT_PATTERNS:
        if part not in parts:
            text = pattern.sub(label, text)
    return text


def redact(principal: dict, referral: dict) -> dict:
    """The referral view as this principal may see it (members: own legs only; personal fields by role)."""
    parts = visible_personal_parts(principal, referral)
    out = dict(referral)
    enterprise = dict(out.get("enterprise") or {})
    if "contact" not in parts:
        enterprise.pop("contact", None)
    if "tax_id" not in parts:
        enterprise.pop("tax_id", None)
    out["enterprise"] = enterprise
    if "consent" in out:
        out["consent"] = {k: v for k, v in out["consent"].items() if k != "by" or "consent_by" in parts}
    if isinstance(out.get("case"), dict) and out["case"].get("text"):
        out["case"] = dict(out["case"], text=masked_text(out["case"]["text"], parts))
    if principal["role"] == "member":
        own = principal.get("member_id")
        out["legs"] = [leg if leg["member"] == own else plan_leg(leg) for leg in out["legs"]]
        for private in ("tracking_code", "satisfaction"):
            out.pop(private, None)
    if principal["role"] == "analyst":
        return deidentify(out)
    return out


PLAN_LEG_FIELDS = ("id", "member", "needs", "step", "status")


def plan_leg(leg: dict) -> dict:
    """Another member's leg as a member on the same case sees it: the organisation, its needs, its plan step
    and status (no notes, values or reasons)."""
    return {k: leg[k] for k in PLAN_LEG_FIELDS if k in leg}


def deidentify(item: dict) -> dict:
    """A referral without the enterprise's identity, free text or personal fields (the analyst's view)."""
    out = {k: v for k, v in item.items() if k not in ("enterprise", "consent", "created_by")}
    enterprise = item.get("enterprise") or {}
    out["enterprise"] = {k: enterprise[k] for k in ("province", "sector", "size", "cluster_id", "synthetic")
                         if k in enterprise}
    if "case" in out:
        out["case"] = {k: v for k, v in out["case"].items() if k != "text"}
    out["legs"] = [{k: v for k, v in leg.items() if k != "note"} for leg in item.get("legs", [])]
    return out


def personal_fields_in(referral: dict) -> list[str]:
    """Dotted names of the personal fields present (non-empty) in a referral view, for the read log."""
    enterprise = referral.get("enterprise") or {}
    found = [f"enterprise.contact.{k}" for k in CONTACT_FIELDS if (enterprise.get("contact") or {}).get(k)]
    if enterprise.get("tax_id"):
        found.append("enterprise.tax_id")
    if (referral.get("consent") or {}).get("by"):
        found.append("consent.by")
    return found
