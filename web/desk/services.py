"""The engine services the desk pages call, in one place: intake, matching, referrals, analysis.

Each function takes and returns plain data; the engine's errors (``matcher.errors``) pass through to the
pages, which show them in Thai and English.
"""

from __future__ import annotations

from matcher.access import actor_of
from matcher.analysis import kpis as kpi
from matcher.analysis import network, report
from matcher.clock import now_text
from matcher.engine import matching
from matcher.notifications import inbox
from matcher.engine.request import MatchRequest
from matcher.engine.results import MatchResult
from matcher.referrals import service as referrals
from matcher.store import referrals as referral_store
from matcher.store import intake as intake_store
from matcher.store import transaction
from web.context import engine, get_db, get_reference, get_snapshot

# -- intake --------------------------------------------------------------------------------------------

def classify(text: str) -> dict:
    """``{"needs": [{code, label_th, label_en, confidence, evidence}], "province": code|None, ...,
    "model": "<version> <trained at>"}`` (the model is recorded with the desk's correction)."""
    model = engine().intake
    return {**model.classify(text), "model": f"{model.version} {model.trained_at}"}


# -- matching ------------------------------------------------------------------------------------------

def match(body: dict) -> MatchResult:
    """Bundles for a request body (checked by ``MatchRequest.parse``), as the engine's typed result."""
    snapshot = get_snapshot()
    return matching.match(snapshot, MatchRequest.parse(snapshot, body))


# -- referrals -----------------------------------------------------------------------------------------

def create_referral(body: dict, principal: dict, idempotency_key: str | None = None,
                    correction: dict | None = None) -> dict:
    """Create the referral; with ``correction`` (``{"suggested", "chosen", "model"}``: the needs intake
    suggested and those the desk sent), store it with the case in the same transaction, so that both are
    written, under the case's consent, or neither."""
    db = get_db()
    with transaction(db):
        referral = referrals.create_referral(db, get_snapshot(), body, principal, idempotency_key=idempotency_key)
        if correction is not None and not referral.get("replayed"):
            intake_store.record_correction(db, referral_id=referral["id"], suggested=correction["suggested"],
                                           chosen=correction["chosen"], model=correction.get("model"),
                                           desk=actor_of(principal), at=now_text())
    return referral


def get_referral(referral_id: int, principal: dict) -> dict:
    return referrals.get_referral(get_db(), referral_id, principal)


def referral_events(referral_id: int, principal: dict) -> list[dict]:
    return referrals.referral_events(get_db(), referral_id, principal)


def update_leg(referral_id: int, leg_id: int, change: dict, principal: dict) -> dict:
    return referrals.update_leg(get_db(), referral_id, leg_id, change, principal)


def list_referrals(principal: dict, filters: dict) -> dict:
    return referrals.list_referrals(get_db(), principal, filters, get_reference())


def rematch(referral_id: int, body: dict, principal: dict) -> dict:
    return referrals.rematch(get_db(), get_snapshot(), referral_id, body, principal)


def organisations(member_ids) -> dict:
    """Public facts of the members on a case (name, type, address and phone of agencies)."""
    return referral_store.organisations(get_db(), member_ids)


def mark_read(principal: dict, referral_id: int) -> None:
    if principal["role"] in ("desk", "member"):
        inbox.mark_read(get_db(), principal, referral_id)


def unread(principal: dict) -> int:
    return inbox.unread(get_db(), principal)


# -- analysis ------------------------------------------------------------------------------------------

def kpis() -> dict:
    return kpi.kpis(get_db(), get_reference())


def network_metrics() -> dict:
    return network.network_metrics(get_db(), get_reference())


def gaps() -> dict:
    return network.gaps(get_db(), get_reference())


def rollout_plan(target: int | None = None) -> dict:
    return network.rollout_plan(get_db(), get_reference(), target)


def coverage_heatmap_png() -> bytes:
    return report.coverage_heatmap_png(get_db(), get_reference())
