"""A new case in four steps: details -> needs (chips) -> recommended bundles -> consent and send.

Every step is POST-redirect-GET: a step's form is checked, the draft is saved server-side (``drafts``,
short-lived, only for this account) and the browser is sent to the next step's own page, so reload and
Back never resend a form. The forms still carry the whole draft in hidden fields, and every step re-reads
and re-validates all of it: a refused step re-renders with everything the officer typed. Nothing but the
draft is written until the referral is sent with consent.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import datetime, timedelta

from flask import flash, redirect, request, url_for

from matcher import clock, hygiene
from matcher.vocabulary import CONSENT_SCOPES
from matcher.clock import now_text
from matcher.errors import RismepError, Unavailable
from matcher.store import directory
from matcher.vocabulary import MAX_NEEDS
from web.context import get_db, get_reference, get_snapshot

from . import bp, i18n, services
from .common import current_principal, current_user, page, requires, whole_number
from .drafts import draft_case, load_draft, mark_draft_sent, province_notices, save_case
from .views import bundle_views, chosen_members, comparison, members_map, order_note

TEXT_MAX = 2000
NAME_MAX = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CASE_FIELDS = ("enterprise_id", "enterprise_name", "contact_name", "contact_phone", "contact_email", "tax_id",
               "province", "sector", "cluster", "text", "province_from")
# Where the case's province came from: the picked enterprise, the description, or (when neither gives one)
# the desk account's own province, which is then only an assumption: distances are not offered as reasons.
PROVINCE_SOURCES = ("enterprise", "text", "account")
CONSENT_SCOPE = "share_contact_with_bundle_members"  # the default choice; the desk may record either scope
TYPED_FIELDS = ("enterprise_name", "contact_name", "contact_phone", "contact_email", "text")


# -- reading and checking the draft --------------------------------------------------------------------

def read_case(form) -> tuple[dict, dict]:
    """The draft from a form and the errors by field (messages in the page's language)."""
    case = {k: (form.get(k) or "").strip() for k in CASE_FIELDS}
    errors = {}
    for name in TYPED_FIELDS:  # control characters refused, Thai normalised (matcher.hygiene); lengths below
        try:
            case[name] = hygiene.clean_text(form.get(name) or "", name, 10 ** 6, multiline=name == "text") or ""
        except RismepError:
            errors[name] = i18n.t("err_control")
    if case["tax_id"]:
        try:
            case["tax_id"] = hygiene.thai_id(case["tax_id"], "tax_id")
        except RismepError:
            errors["tax_id"] = i18n.t("err_tax_id")
    if "text" not in errors and (not case["text"] or len(case["text"]) > TEXT_MAX):
        errors["text"] = i18n.t("err_text", max=TEXT_MAX)
    if case["enterprise_id"]:
        if not whole_number(case["enterprise_id"]):
            errors["enterprise_id"] = i18n.t("err_enterprise", value=case["enterprise_id"])
    elif "enterprise_name" not in errors and (not case["enterprise_name"] or len(case["enterprise_name"]) > NAME_MAX):
        errors["enterprise_name"] = i18n.t("err_name")
    if case["contact_email"] and "contact_email" not in errors and not EMAIL.match(case["contact_email"]):
        errors["contact_email"] = i18n.t("err_email", value=case["contact_email"])
    if case["province"]:
        try:
            case["province"] = get_reference().resolve_province(case["province"])
        except RismepError:
            errors["province"] = i18n.t("err_province", value=case["province"])
    case["province_from"] = province_source(case)
    if case["sector"] and case["sector"] not in get_reference().sector_by_code:
        errors["sector"] = i18n.t("err_choice", value=case["sector"])
    if case["cluster"] and case["cluster"] not in {c["id"] for c in directory.clusters(get_db())}:
        errors["cluster"] = i18n.t("err_choice", value=case["cluster"])
    case["needs"] = _unique(form.getlist("needs"))
    known = get_reference().category_by_code
    case["suggested"] = [n for n in _unique(form.getlist("suggested")) if n in known][:MAX_NEEDS * 2]
    case["intake_model"] = (form.get("intake_model") or "").strip()[:64]
    case["draft"] = re.sub(r"[^0-9a-f]", "", form.get("draft") or "")[:32]
    return case, errors


def _unique(values) -> list[str]:
    out = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def province_source(case: dict) -> str:
    """The case's ``province_from`` when it still holds (an assumed province stays assumed only while it is
    the account's own); "" when the officer chose the province."""
    source = case.get("province_from") or ""
    if source not in PROVINCE_SOURCES or not case.get("province"):
        return ""
    if source == "account" and case["province"] != (current_user().get("province") or ""):
        return ""
    return source


def check_needs(needs: list[str]) -> str | None:
    ref = get_reference()
    if not needs or len(needs) > MAX_NEEDS or any(n not in ref.category_by_code for n in needs):
        return i18n.t("err_needs", max=MAX_NEEDS)
    return None


def read_assignment(form, needs: list[str]) -> dict:
    return {n: form.get(f"assign.{n}", "").strip() for n in needs if form.get(f"assign.{n}")}


def form_choices() -> dict:
    """Provinces, sectors and clusters for the selects, labelled in the page's language."""
    ref = get_reference()
    lang = i18n.current_language()
    provinces = sorted(ref.provinces, key=lambda p: i18n.thai_sort_key(p["name_th"]) if lang == "th" else p["name_en"])
    sectors = [{"code": s["code"], "label": s["name_th"] if lang == "th" else s["name_en"]} for s in get_reference().sectors]
    clusters = [dict(c, label=i18n.localized(c)) for c in directory.clusters(get_db())]
    return {"provinces": provinces, "sectors": sectors, "clusters": clusters}


def sector_of(case: dict) -> str | None:
    if case.get("sector"):
        return case["sector"]
    if case.get("cluster"):
        return next((c["sector"] for c in directory.clusters(get_db()) if c["id"] == case["cluster"]), None)
    return None


# -- step 1: details -----------------------------------------------------------------------------------

@bp.get("/desk/cases/new")
@requires("desk")
def new_case():
    """Step 1: the enterprise (new, or picked from this desk's earlier referrals) and the description. The
    province is left to the officer or the description; the desk's own is only a last resort (step 2).
    With ``?draft=`` the step opens again with the draft filled in (step 2's "change the details")."""
    case = {k: "" for k in CASE_FIELDS}
    picked = None
    draft = load_draft(request.args.get("draft"))
    if draft:
        case.update(draft_case(draft))
        if case.get("province_from") in ("text", "account"):  # derived, not chosen: derived again
            case["province"] = case["province_from"] = ""
        if whole_number(case.get("enterprise_id")):
            picked = _own_enterprise(whole_number(case["enterprise_id"]))
    elif whole_number(request.args.get("enterprise_id")):
        picked = _own_enterprise(whole_number(request.args["enterprise_id"]))
        if picked:
            case.update(enterprise_id=str(picked["id"]), enterprise_name=picked["name"],
                        province=picked.get("province") or "", sector=picked.get("sector") or "",
                        province_from="enterprise" if picked.get("province") else "")
    query = request.args.get("q", "").strip()
    found = _own_enterprises(query) if query else None
    return page("desk/case_new.html", case=case, errors={}, picked=picked, query=query, found=found,
                **form_choices())


def _own_enterprises(query: str = "", limit: int = 20) -> list[dict]:
    """Enterprises of this desk's earlier referrals whose name contains ``query`` (newest first)."""
    try:
        items = services.list_referrals(current_principal(), {"limit": 200})["items"]
    except Unavailable:
        return []
    seen, out = set(), []
    for item in items:
        eid = item.get("enterprise_id") or (item.get("enterprise") or {}).get("id")
        name = item.get("enterprise_name") or (item.get("enterprise") or {}).get("name") or ""
        if eid and eid not in seen and query.lower() in name.lower():
            seen.add(eid)
            out.append({"id": eid, "name": name, "province": item.get("province") or
                        (item.get("enterprise") or {}).get("province"), "sector": item.get("sector") or
                        (item.get("enterprise") or {}).get("sector")})
    return out[:limit]


def _own_enterprise(enterprise_id: int) -> dict | None:
    return next((e for e in _own_enterprises() if e["id"] == enterprise_id), None)


def _render_new(case, errors, status=422):
    picked = _own_enterprise(whole_number(case["enterprise_id"])) if whole_number(case.get("enterprise_id")) else None
    return page("desk/case_new.html", status, case=case, errors=errors, picked=picked, query="", found=None,
                **form_choices())


def _next_step(endpoint: str, token: str):
    """303 to a step's own page: the browser then GETs it, so reload and Back never resend the form."""
    return redirect(url_for(endpoint, token=token), 303)


# -- step 2: needs -------------------------------------------------------------------------------------

@bp.post("/desk/cases/needs")
@requires("desk")
def case_needs():
    """Step 1 sent: the description is classified once, the province settled (the officer's choice, else
    the one the description names, else the desk's own), the draft saved; then step 2's page."""
    case, errors = read_case(request.form)
    if errors:
        return _render_new(case, errors)
    chips = _chips(case)
    if not case["province"]:
        return _render_new(case, {"province": i18n.t("err_province_missing")})
    if request.form.get("needs_chosen") != "1":
        case["needs"] = [n["code"] for n in chips["suggested"]][:MAX_NEEDS]
    return _next_step("desk.case_needs_page", save_case(case, chips=chips))


def draft_step(view):
    """A step page of a draft: ``view(draft)`` for the draft named by the address's token; a draft that was
    sent, or is gone, leads on instead (``_gone``)."""
    @functools.wraps(view)
    def open_draft(token):
        draft = load_draft(token)
        if draft is None or draft.get("referral_id"):
            return _gone(draft)
        return view(draft)
    return open_draft


@bp.get("/desk/cases/<token>/needs")
@requires("desk")
@draft_step
def case_needs_page(draft):
    """Step 2: the needs suggested from the description as chips, with their evidence."""
    case = draft_case(draft)
    return _render_needs(case, draft.get("chips") or _chips(case))


def _chips(case: dict) -> dict:
    """What intake suggests for the case's description (chips, candidates, the province it names); fills
    an empty province from the description, else from the desk account (then only an assumption)."""
    classified, note = _classify(case["text"])
    detected = classified.get("province")
    if not case["province"] and detected:
        case["province"], case["province_from"] = detected, "text"
    if not case["province"] and current_user().get("province"):
        case["province"], case["province_from"] = current_user()["province"], "account"
    known = get_reference().category_by_code
    suggested = [n for n in classified.get("needs", []) if n.get("code") in known]
    maybe = [n for n in classified.get("candidates", []) if n.get("code") in known
             and n["code"] not in {s["code"] for s in suggested}]
    case["suggested"] = [n["code"] for n in suggested]              # what the desk confirms or corrects
    case["intake_model"] = classified.get("model") or ""
    return {"suggested": suggested, "maybe": maybe, "detected": detected, "note": note}


def _render_needs(case, chips, *, error: str | None = None, status: int = 200):
    shown = {n["code"] for n in chips["suggested"] + chips["maybe"]}
    others = [c for c in get_reference().categories if c["code"] not in shown]
    return page("desk/case_needs.html", status, case=case, suggested=chips["suggested"], maybe=chips["maybe"],
                others=others, note=chips.get("note"), detected=chips.get("detected"), error=error,
                notices=province_notices(case, chips.get("detected")))


def _classify(text: str) -> tuple[dict, str | None]:
    try:
        return services.classify(text), None
    except Unavailable:
        return {"needs": [], "province": None}, i18n.t("intake_unavailable")


def _gone(draft):
    """A step of a draft that was sent (its referral) or that is gone (a new case, saying so)."""
    if draft and draft.get("referral_id"):
        flash(i18n.t("draft_sent", id=draft["referral_id"]), "info")
        return redirect(url_for("desk.referral", referral_id=draft["referral_id"]), 303)
    flash(i18n.t("draft_gone"), "info")
    return redirect(url_for("desk.new_case"), 303)


# -- step 3: bundles -----------------------------------------------------------------------------------

@bp.post("/desk/cases/bundles")
@requires("desk")
def case_bundles():
    """Step 2 sent: the chosen needs checked and saved with the draft; then step 3's page."""
    case, errors = read_case(request.form)
    if errors or not case["province"]:
        return _render_new(case, errors or {"province": i18n.t("err_province_missing")})
    draft = load_draft(case["draft"])
    chips = (draft or {}).get("chips")
    problem = check_needs(case["needs"])
    if problem:
        return _render_needs(case, chips or _chips(dict(case)), error=problem, status=422)
    return _next_step("desk.case_bundles_page", save_case(case, chips=chips))


@bp.get("/desk/cases/<token>/bundles")
@requires("desk")
@draft_step
def case_bundles_page(draft):
    """Step 3: the bundles compared at a glance, then each with its members, the plan and a map."""
    case = draft_case(draft)
    body = {"needs": case["needs"], "province": case["province"], "sector": sector_of(case), "top_k": 3,
            "explain": False, "province_assumed": case["province_from"] == "account"}
    if case["cluster"]:
        body["cluster"] = case["cluster"]
    try:
        result = services.match(body)
    except RismepError as error:
        return _render_needs(case, draft.get("chips") or _chips(dict(case)), error=i18n.message(error),
                             status=error.status)
    bundles = bundle_views(result, get_snapshot())
    return page("desk/case_bundles.html", case=case, result=result, bundles=bundles, order_note=order_note(),
                compare=comparison(bundles, case["needs"]), map=members_map(case["province"], bundles),
                notices=province_notices(case, None))


# -- step 4: consent and send --------------------------------------------------------------------------

@bp.post("/desk/cases/consent")
@requires("desk")
def case_consent():
    """Step 3 sent: the chosen bundle saved with the draft (and the moment the notice is first shown, and
    the key that makes a resent form the same referral); then step 4's page."""
    case, errors = read_case(request.form)
    if errors or check_needs(case["needs"]) or not case["province"]:
        return _render_new(case, errors or {"province": i18n.t("err_province_missing")})
    draft = load_draft(case["draft"]) or {}
    assignment = read_assignment(request.form, case["needs"])
    token = save_case(case, chips=draft.get("chips"), assignment=assignment, rank=request.form.get("rank", "")[:4],
                      key=uuid.uuid4().hex, shown_at=now_text())
    return _next_step("desk.case_consent_page", token)


@bp.get("/desk/cases/<token>/consent")
@requires("desk")
@draft_step
def case_consent_page(draft):
    """Step 4: the PDPA notice and the consent of the enterprise, then send."""
    data = draft["data"]
    return _render_consent(draft_case(draft), data.get("assignment") or {}, key=data.get("key") or uuid.uuid4().hex,
                           rank=data.get("rank") or "", shown_at=data.get("shown_at"))


def _render_consent(case, assignment, *, key, rank, error=None, status=200, consent_by=None, given=False,
                    shown_at=None, scope=CONSENT_SCOPE):
    return page("desk/case_consent.html", status, case=case, assignment=assignment, key=key, rank=rank,
                shown_at=shown_at or now_text(), scope=scope,
                scopes=[(code, i18n.t(f"scope_{code}")) for code in CONSENT_SCOPES],
                members=chosen_members(assignment, get_snapshot()), error=error, given=given,
                consent_by=case["contact_name"] if consent_by is None else consent_by)


@bp.post("/desk/cases/send")
@requires("desk")
def case_send():
    """Send the referral; without consent nothing is written and the page says so."""
    form = request.form
    case, errors = read_case(form)
    if errors or check_needs(case["needs"]) or not case["province"]:
        return _render_new(case, errors or {"province": i18n.t("err_province_missing")})
    assignment = read_assignment(form, case["needs"])
    key = re.sub(r"[^0-9a-f]", "", form.get("idempotency_key", ""))[:32] or uuid.uuid4().hex
    consent_by = form.get("consent_by", "").strip()
    given = form.get("consent") == "yes"
    shown_at = notice_time(form.get("shown_at"))
    scope = form.get("consent_scope") or CONSENT_SCOPE
    again = dict(key=key, rank=form.get("rank", ""), consent_by=consent_by, given=given, shown_at=shown_at,
                 scope=scope if scope in CONSENT_SCOPES else CONSENT_SCOPE)
    if not given:
        return _render_consent(case, assignment, error=i18n.t("consent_refused"), status=422, **again)
    if scope not in CONSENT_SCOPES:
        return _render_consent(case, assignment, error=i18n.t("err_scope"), status=422, **again)
    try:
        consent_by = hygiene.clean_text(consent_by, "consent_by", NAME_MAX)
    except RismepError:
        return _render_consent(case, assignment, error=i18n.t("err_control"), status=422, **again)
    if not consent_by:
        return _render_consent(case, assignment, error=i18n.t("err_consent_by"), status=422, **again)
    body = referral_body(case, assignment, consent_by, shown_at, scope)
    correction = {"suggested": case["suggested"], "chosen": case["needs"], "model": case["intake_model"] or None}
    try:
        referral = services.create_referral(body, current_principal(), idempotency_key=f"desk-page-{key}",
                                            correction=correction)
    except RismepError as error:
        return _render_consent(case, assignment, error=i18n.message(error), status=error.status, **again)
    if case["draft"]:
        mark_draft_sent(case["draft"], referral["id"])
    flash(i18n.t("referral_sent", id=referral["id"]), "success")
    return redirect(url_for("desk.referral", referral_id=referral["id"]))


def notice_time(value) -> str:
    """When the consent page (the PDPA notice) was first shown: the form's stamp when it is a plausible time
    (within the last day, not in the future), else now. Sent as consent ``at``, it is the same on a resent
    form, so a retried send replays the same referral instead of looking like a different request."""
    try:
        shown = datetime.fromisoformat(str(value))
    except ValueError:
        return now_text()
    if shown.tzinfo is None or not timedelta(0) <= clock.now() - shown <= timedelta(days=1):
        return now_text()
    return shown.astimezone(clock.BANGKOK).isoformat(timespec="seconds")


def referral_body(case: dict, assignment: dict, consent_by: str, consent_at: str, scope: str = CONSENT_SCOPE) -> dict:
    """The create_referral body from the draft (a new enterprise, or an existing one by id)."""
    body = {"needs": case["needs"], "text": case["text"], "assignment": assignment,
            "consent": {"given": True, "by": consent_by, "scope": scope, "at": consent_at}}
    if case["enterprise_id"]:
        body["enterprise_id"] = whole_number(case["enterprise_id"])
    else:
        contact = {k: case[f"contact_{k}"] for k in ("name", "phone", "email") if case[f"contact_{k}"]}
        body["enterprise"] = {"name": case["enterprise_name"], "province": case["province"],
                              "sector": sector_of(case), "contact": contact, "tax_id": case.get("tax_id") or None}
        if case["cluster"]:
            body["enterprise"]["cluster_id"] = case["cluster"]
    return body


@bp.get("/desk/cases/needs")
@bp.get("/desk/cases/bundles")
@bp.get("/desk/cases/consent")
@bp.get("/desk/cases/send")
@requires("desk")
def case_step_without_form():
    """A step's form address opened directly (an old bookmark): start the case again."""
    return redirect(url_for("desk.new_case"))
