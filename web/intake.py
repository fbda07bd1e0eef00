"""POST /api/v1/intake/classify: the service needs behind what the enterprise says."""

from __future__ import annotations

from apiflask import APIBlueprint

from .context import engine
from .schemas import IntakeIn

bp = APIBlueprint("intake", __name__, tag="Intake")


@bp.post("/api/v1/intake/classify")
@bp.input(IntakeIn, arg_name="body")
def classify(body):
    """Classify a description (mostly Thai) into service categories, with the phrases that support each.

    ``needs`` holds the predicted categories, best first, each with a calibrated confidence (how often a
    need shown with it is right) and ``evidence`` (the phrases of the text that carry it, in the order of
    the text); ``candidates`` up to three other categories with confidence 0.2 or more. A need the text
    names outright (อย., GMP, halal, a loan, export, ...) is always among the needs; needs the text denies or
    says are done ("มีเลข อย. แล้ว", "we already have GMP") are not predicted. ``language`` is
    th, en or mixed; ``province`` the ISO code of a province the text names, or null.
    """
    model = engine().intake
    return {**model.classify(body["text"]), "model": {"version": model.version, "trained_at": model.trained_at}}
