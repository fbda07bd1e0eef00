"""The draft of a new case between its steps (kept in the store by ``matcher.store.drafts``), and the
notices about the case's province that steps 2 and 3 show."""

from __future__ import annotations

from flask import url_for

from matcher.store import drafts as draft_store
from web.context import get_db

from . import i18n
from .common import current_user, province_name

CASE_KEYS = ("enterprise_id", "enterprise_name", "contact_name", "contact_phone", "contact_email", "tax_id",
             "province", "sector", "cluster", "text", "province_from", "needs", "suggested", "intake_model")


def load_draft(token) -> dict | None:
    """The signed-in account's draft ``token`` (``{"token", "data", "referral_id"}``), or None."""
    user = current_user()
    if not user or not isinstance(token, str) or not token.isalnum() or len(token) > 64:
        return None
    return draft_store.get_draft(get_db(), token, user["id"])


def draft_case(draft: dict) -> dict:
    """The case a draft holds, in the shape ``cases.read_case`` returns (with its token as ``draft``)."""
    stored = (draft.get("data") or {}).get("case") or {}
    case = {k: stored.get(k) or ("" if k not in ("needs", "suggested") else []) for k in CASE_KEYS}
    case["draft"] = draft["token"]
    return case


def save_case(case: dict, **extra) -> str:
    """Save the case (and ``extra``: the chips, the chosen bundle, ...) as the account's draft; returns
    the token, which is also set as ``case["draft"]``."""
    data = {"case": {k: case.get(k) for k in CASE_KEYS}, **{k: v for k, v in extra.items() if v is not None}}
    token = draft_store.save_draft(get_db(), current_user()["id"], data, token=case.get("draft") or None)
    case["draft"] = token
    return token


def mark_draft_sent(token: str, referral_id: int) -> None:
    draft_store.mark_sent(get_db(), token, current_user()["id"], referral_id)


def province_notices(case: dict, detected: str | None) -> list[dict]:
    """What the officer must see about the case's province, each with a link back to step 1 to change it:
    the desk's own province only assumed (no distances then); the enterprise's province not the desk's;
    the description naming another province than the one chosen."""
    desk_province = (current_user() or {}).get("province") or ""
    fix = url_for("desk.new_case", draft=case["draft"]) if case.get("draft") else None
    notices = []
    if case.get("province_from") == "account":
        notices.append({"id": "province-assumed", "text": i18n.t("province_assumed", name=province_name(case["province"]))})
    elif desk_province and case.get("province") and case["province"] != desk_province:
        notices.append({"id": "province-differs", "text": i18n.t(
            "province_differs", name=province_name(case["province"]), desk=province_name(desk_province))})
    if detected and case.get("province") and detected != case["province"] and case.get("province_from") != "text":
        notices.append({"id": "province-conflict", "text": i18n.t(
            "province_conflict", named=province_name(detected), name=province_name(case["province"]))})
    for notice in notices:
        notice["fix"] = fix
    return notices
