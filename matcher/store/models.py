"""Trained models of the engine: versioned rows of plain JSON (no pickles), and the data they learn from.

A model row holds ``params`` (what is needed to predict: for the success scorer, feature names,
coefficients and intercept), ``trained_on`` (the data: legs, period, data version, dataset) and
``metrics`` (its held-out evaluation). Storing a model bumps the data version, so that running services
pick the new model up on their next request without a restart.
"""

from __future__ import annotations

import json

from matcher.clock import now_text

from . import bump_data_version, transaction


def save_model(db, name: str, *, params: dict, trained_on: dict, metrics: dict | None = None) -> dict:
    """Store a new version of model ``name`` (all or nothing) and return its row."""
    with transaction(db):
        version = (db.execute("SELECT max(version) FROM models WHERE name = ?", [name]).fetchone()[0] or 0) + 1
        row = {"name": name, "version": version,
               "created_at": now_text(),
               "params": _dumps(params), "trained_on": _dumps(trained_on),
               "metrics": _dumps(metrics) if metrics is not None else None}
        db["models"].insert(row)
        bump_data_version(db)
    return _parse(row)


def latest_model(db, name: str) -> dict | None:
    """The newest version of model ``name``, or None (also when the store predates the models table)."""
    if not db["models"].exists():
        return None
    rows = list(db.query("SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1", [name]))
    return _parse(rows[0]) if rows else None


def list_models(db, name: str | None = None) -> list[dict]:
    """Every stored model (optionally of one name), newest first, without their params."""
    if not db["models"].exists():
        return []
    where, args = ("WHERE name = ?", [name]) if name else ("", [])
    return [dict(_parse(r), params=None) for r in
            db.query(f"SELECT * FROM models {where} ORDER BY name, version DESC", args)]


def training_legs(db) -> list[dict]:
    """Every referral leg with what the scorer learns from: its referral, member, needs, status, value, when
    it was sent and last changed, and the case's province, sector and cluster (the cluster's sector too)."""
    return list(db.query(
        "SELECT l.id, l.referral_id, l.member_id, l.needs, l.status, l.value_baht, l.created_at, l.updated_at, "
        "c.province AS case_province, e.sector, e.cluster_id, k.sector AS cluster_sector "
        "FROM referral_legs l JOIN referrals r ON r.id = l.referral_id "
        "LEFT JOIN cases c ON c.id = r.case_id LEFT JOIN enterprises e ON e.id = r.enterprise_id "
        "LEFT JOIN clusters k ON k.id = e.cluster_id ORDER BY l.created_at, l.id"))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _parse(row: dict) -> dict:
    out = dict(row)
    for key in ("params", "trained_on", "metrics"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out
