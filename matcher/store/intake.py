"""The desk's corrections of the intake classifier's suggestions, in SQL.

A correction is stored with its case: the case's text (``cases.text``) and what the desk finally chose,
next to what the classifier suggested. It exists only for a case that was sent with the enterprise's
consent (the desk writes it in the referral's transaction) and is deleted with the case. Plain dicts in
and out; needs are JSON lists in the table.
"""

from __future__ import annotations

import json

from . import transaction


def record_correction(db, *, referral_id: int, suggested: list[str], chosen: list[str], model: str | None,
                      desk: str | None, at: str) -> int | None:
    """Store what the classifier suggested and what the desk chose for the case of ``referral_id``; the
    id of the row, or None when the case already has one (a replayed send). Runs inside the caller's
    transaction when there is one, so the correction is written with the referral or not at all."""
    with transaction(db):
        row = db.execute("SELECT case_id FROM referrals WHERE id = ?", [referral_id]).fetchone()
        if row is None or row[0] is None:
            return None
        cursor = db.execute(
            "INSERT OR IGNORE INTO intake_corrections (case_id, suggested, chosen, model, desk, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [row[0], json.dumps(list(suggested)), json.dumps(list(chosen)), model, desk, at])
        return cursor.lastrowid if cursor.rowcount else None


def corrections(db) -> list[dict]:
    """Every correction with its case's text, oldest first, for training: ``{"id", "case_id", "text",
    "suggested", "chosen", "confirmed", "removed", "added", "model", "desk", "created_at"}``. Only cases
    sent with consent and with a text are returned."""
    rows = db.execute(
        "SELECT c.id, c.case_id, k.text, c.suggested, c.chosen, c.model, c.desk, c.created_at "
        "FROM intake_corrections c JOIN cases k ON k.id = c.case_id "
        "WHERE k.text IS NOT NULL AND trim(k.text) != '' AND EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = k.id AND r.consent_given = 1) ORDER BY c.created_at, c.id").fetchall()
    out = []
    for cid, case_id, text, suggested, chosen, model, desk, at in rows:
        s, c = json.loads(suggested), json.loads(chosen)
        out.append({"id": cid, "case_id": case_id, "text": text, "suggested": s, "chosen": c,
                    "confirmed": [n for n in s if n in c], "removed": [n for n in s if n not in c],
                    "added": [n for n in c if n not in s], "model": model, "desk": desk, "created_at": at})
    return out


def correction_counts(db) -> dict:
    """How many corrections there are, and how many confirmed, removed or added at least one need."""
    rows = corrections(db)
    return {"corrections": len(rows), "with_removed": sum(bool(r["removed"]) for r in rows),
            "with_added": sum(bool(r["added"]) for r in rows),
            "unchanged": sum(not r["removed"] and not r["added"] for r in rows)}
