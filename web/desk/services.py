"""The engine services the desk pages call, in one place: intake, matching, referrals, analysis.

Each function takes and returns plain data; the engine's errors (``matcher.errors``) pass through to the
pages, which show them in Thai and English. When an engine part is not installed the call raises
``Unavailable`` (503) with a clear message instead of failing the page.
"""

from __future__ import annotations

import importlib
import threading

from flask import current_app

from matcher.errors import Unavailable
from web.context import engine, get_db, get_reference, get_snapshot

_intake_lock = threading.Lock()


def _module(name: str, what: str):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        if error.name != name:
            raise
        raise Unavailable(f"{what} ไม่พร้อมใช้งาน / {what} is not installed on this server ({name}).") from None


# -- intake --------------------------------------------------------------------------------------------

def intake_model():
    """The app's intake model: the engine's own when it holds one, else loaded once per app."""
    model = getattr(engine(), "intake", None)
    if model is not None:
        return model
    cache = current_app.extensions.setdefault("desk", {})
    with _intake_lock:
        if cache.get("intake") is None:
            intake = _module("matcher.intake", "Intake / การวิเคราะห์คำบรรยาย")
            path = current_app.config.get("INTAKE_MODEL")
            cache["intake"] = intake.load_or_train(path) if path else intake.load_or_train()
    return cache["intake"]


def classify(text: str) -> dict:
    """``{"needs": [{code, label_th, label_en, confidence, evidence}], "province": code|None, ...}``."""
    return intake_model().classify(text)


# -- matching ------------------------------------------------------------------------------------------

def match(body: dict) -> dict:
    from matcher.matching import match as match_bundles
    return match_bundles(get_snapshot(), body)


# -- referrals -----------------------------------------------------------------------------------------

def _referrals():
    return _module("matcher.referrals", "Referrals / ระบบส่งต่อ")


def create_referral(body: dict, principal: dict, idempotency_key: str | None = None) -> dict:
    return _referrals().create_referral(get_db(), get_snapshot(), body, principal,
                                        idempotency_key=idempotency_key)


def get_referral(referral_id: int, principal: dict) -> dict:
    return _referrals().get_referral(get_db(), referral_id, principal)


def referral_events(referral_id: int, principal: dict) -> list[dict]:
    events = _referrals().referral_events(get_db(), referral_id, principal)
    return events.get("items", events) if isinstance(events, dict) else events


def update_leg(referral_id: int, leg_id: int, change: dict, principal: dict) -> dict:
    return _referrals().update_leg(get_db(), referral_id, leg_id, change, principal)


def list_referrals(principal: dict, filters: dict) -> dict:
    result = _referrals().list_referrals(get_db(), principal, filters)
    if isinstance(result, tuple):
        items, total = result
        return {"items": items, "total": total}
    return result


def rematch(referral_id: int, body: dict, principal: dict) -> dict:
    return _referrals().rematch(get_db(), get_snapshot(), referral_id, body, principal)


# -- analysis ------------------------------------------------------------------------------------------

def _analysis():
    return _module("matcher.analysis", "Analysis / การวิเคราะห์เครือข่าย")


def kpis() -> dict:
    return _analysis().kpis(get_db(), get_reference())


def network_metrics() -> dict:
    return _analysis().network_metrics(get_db(), get_reference())


def gaps() -> dict | list:
    return _analysis().gaps(get_db(), get_reference())


def rollout_plan(target: int | None = None):
    analysis = _analysis()
    return analysis.rollout_plan(get_db(), get_reference(), target) if target else \
        analysis.rollout_plan(get_db(), get_reference())


def coverage_heatmap_png() -> bytes:
    return _analysis().coverage_heatmap_png(get_db(), get_reference())
