"""Learning the leg scorer from the store's history: the training rows, the held-out evaluation, training.

One row per finished leg (label: the leg completed; declined and closed-unresolved legs are failures), with
every history feature taken **as it stood when the leg was sent** (legs finished before it, legs received
earlier that month, referrals shared before it), so no row sees its own outcome; vectorised with sorts and
binary searches (``features.sums_before``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from matcher.engine import features as F
from matcher.engine import record
from matcher.engine.scoring import SuccessScorer, prior_logits, sigmoid

MIN_LEGS, MIN_PER_CLASS = 200, 30
FINAL = record.FINAL


def _seconds(stamps) -> np.ndarray:
    return np.array([str(s)[:19] for s in stamps], dtype="datetime64[s]").astype(np.int64)


def _months(stamps) -> np.ndarray:
    return np.array([str(s)[:7] for s in stamps], dtype="datetime64[M]").astype(np.int64)


def training_set(snapshot, legs: list[dict]) -> dict:
    """One row per finished leg with its features as they stood when it was sent.

    Returns ``{"X", "y", "leg", "time", "needs"}`` (``needs``: how many needs each leg carried).
    """
    legs, needs = record.usable(snapshot, legs)
    a = record.leg_arrays(snapshot, legs, needs)
    created, updated = _seconds([g["created_at"] for g in legs]), _seconds([g["updated_at"] for g in legs])
    cols = {**_need_history(snapshot, a, created, updated, legs),
            **_member_history(snapshot, a, created, updated, legs),
            **_case(snapshot, a), **F.leg_columns(a["count"]), **_partners(a["member"], created, a["status"], legs)}
    rows = a["final"]
    return {"X": F.stack(cols)[rows], "y": a["completed"][rows].astype(int),
            "leg": np.array([g["id"] for g in legs], dtype=np.int64)[rows], "time": created[rows],
            "needs": a["count"][rows]}


def _need_history(snapshot, a: dict, created, updated, legs) -> dict:
    """The need columns, per (leg, need) at the time the leg was sent, averaged over the leg's needs."""
    C = len(snapshot.categories)
    leg_of, cat, count = a["leg_of"], a["category"], a["count"]
    final, completed = a["final"], a["completed"]
    m_row = a["member"][leg_of]
    key = m_row * C + cat
    ev = final[leg_of]
    value = np.array([g["value_baht"] or 0.0 for g in legs], float) * completed
    when, asked = updated[leg_of][ev], created[leg_of]
    fin = F.sums_before(key[ev], when, np.ones(ev.sum()), key, asked)
    done = F.sums_before(key[ev], when, completed[leg_of][ev], key, asked)
    val = F.sums_before(key[ev], when, value[leg_of][ev], key, asked)
    per_need = F.need_columns(snapshot.specialisation[m_row, cat], done, fin, val)
    return {name: np.bincount(leg_of, weights=col, minlength=len(legs)) / count for name, col in per_need.items()}


def _member_history(snapshot, a: dict, created, updated, legs) -> dict:
    """The member columns as they stood when each leg was sent: its record over all categories (counted per
    need, as the snapshot counts it), its record against the reference, and the legs it received earlier
    in the same calendar month."""
    member, final, completed, count = a["member"], a["final"], a["completed"], a["count"]
    ev = np.repeat(final, count)
    m_row = np.repeat(member, count)
    when = np.repeat(updated, count)[ev]
    fin_all = F.sums_before(m_row[ev], when, np.ones(ev.sum()), member, created)
    done_all = F.sums_before(m_row[ev], when, np.repeat(completed, count)[ev], member, created)
    p, worked = a["reference"], a["worked"]
    excess = F.sums_before(member[worked], updated[worked], (completed - p)[worked], member, created)
    information = F.sums_before(member[worked], updated[worked], (p * (1 - p))[worked], member, created)
    month = _months([g["created_at"] for g in legs])
    ids = np.array([g["id"] for g in legs], dtype=np.int64)
    order = np.lexsort((ids, created, month, member))
    group = member[order] * 100_000 + month[order]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    earlier = np.empty(len(legs))
    earlier[order] = np.arange(len(legs)) - np.repeat(starts, np.diff(np.r_[starts, len(legs)]))
    return F.member_columns(earlier, snapshot.capacity_total[member], done_all, fin_all, excess, information)


def _case(snapshot, a: dict) -> dict:
    member, case_prov = a["member"], a["province"]
    mprov = snapshot.member_province[member]
    return F.case_columns(snapshot.province_distance[case_prov, mprov], mprov == case_prov,
                          snapshot.province_hub[mprov] == snapshot.province_hub[case_prov],
                          snapshot.province_region[mprov] == snapshot.province_region[case_prov], a["fit"])


def _partners(member, created, status, legs) -> dict:
    """The bundle columns of each leg: the other members of its referral, and the referrals (not declined
    by either) each of them had shared with the leg's member before this referral was sent."""
    by_referral: dict[int, list[int]] = defaultdict(list)
    for k, g in enumerate(legs):
        by_referral[g["referral_id"]].append(k)
    M = int(member.max()) + 1 if len(member) else 1
    done_key, done_time, ask_key, ask_time, ask_leg = [], [], [], [], []
    others = np.zeros(len(legs))
    for ks in by_referral.values():
        when = int(created[ks].min())
        distinct = sorted({int(member[k]) for k in ks})
        kept = sorted({int(member[k]) for k in ks if status[k] != "declined"})
        for a_i, a in enumerate(kept):
            for b in kept[a_i + 1:]:
                done_key.append(a * M + b)
                done_time.append(when)
        for k in ks:
            m = int(member[k])
            others[k] = len(distinct) - 1
            for o in distinct:
                if o != m:
                    ask_key.append(min(m, o) * M + max(m, o))
                    ask_time.append(when)
                    ask_leg.append(k)
    joint = np.zeros(len(legs))
    if ask_key:
        before = F.sums_before(np.array(done_key, np.int64), np.array(done_time, np.int64), np.ones(len(done_key)),
                               np.array(ask_key, np.int64), np.array(ask_time, np.int64))
        joint = np.bincount(np.array(ask_leg), weights=before, minlength=len(legs))
    return F.bundle_columns(joint, others)


def thin_history_reason(data: dict) -> str | None:
    """Why the history is too thin to learn from, or None."""
    legs, ones = len(data["y"]), int(data["y"].sum())
    if legs < MIN_LEGS:
        return f"only {legs} finished legs (need {MIN_LEGS})"
    if min(ones, legs - ones) < MIN_PER_CLASS:
        return f"{ones} completed and {legs - ones} unsuccessful legs (need {MIN_PER_CLASS} of each)"
    return None


def fit_scorer(data: dict, **params) -> SuccessScorer:
    return SuccessScorer(signs=F.signs(), **params).fit(data["X"], data["y"])


def model_params(model: SuccessScorer) -> dict:
    """What a stored model needs to predict (plain JSON)."""
    return {"features": list(F.FEATURE_NAMES), "coef": [float(c) for c in model.coef_],
            "intercept": float(model.intercept_), "platt": list(model.platt_), "C": model.C,
            "signs": list(F.signs())}


# -- evaluation -----------------------------------------------------------------------------------------


def probability_metrics(y, p) -> dict:
    """ROC AUC, Brier score, log loss and expected calibration error (10 equal-width bins)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    y, p = np.asarray(y, int), np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    both = len(np.unique(y)) == 2
    return {"roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
            "brier": round(float(brier_score_loss(y, p)), 4),
            "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 4), "ece": round(calibration_error(y, p), 4)}


def calibration_error(outcome, p, bins: int = 10) -> float:
    """Expected calibration error: the mean |outcome - p| of equal-width bins of p, weighted by their size.
    ``outcome`` may be 0/1 or a true probability."""
    outcome, p = np.asarray(outcome, float), np.asarray(p, float)
    if not len(p):
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(outcome[which == b].mean() - p[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def evaluate(data: dict, truth: dict | None = None, *, holdout: float = 0.2) -> dict:
    """Train on the earliest legs, score the latest ``holdout`` share (by time sent), per leg.

    Reports the learned scorer, the hand-set prior and (when the store holds the synthetic generator's
    hidden truth) the truth itself, each against the real outcomes of the held-out legs.
    """
    cut = np.quantile(data["time"], 1.0 - holdout)
    test_rows = data["time"] >= cut
    train = {k: v[~test_rows] for k, v in data.items()}
    test = {k: v[test_rows] for k, v in data.items()}
    reason = thin_history_reason(train)
    y = test["y"]
    out = {"train_legs": int(len(train["y"])), "test_legs": int(len(y)),
           "test_success_rate": round(float(y.mean()), 4) if len(y) else None, "split": "by time sent",
           "hand_set": probability_metrics(y, sigmoid(prior_logits(test["X"])))}
    if reason is None:
        out["learned"] = probability_metrics(y, sigmoid(fit_scorer(train).decision_function(test["X"])))
    else:
        out["learned"] = None
        out["learned_note"] = f"history too thin to learn from: {reason}"
    if truth:
        known = np.array([int(i) in truth for i in test["leg"]])
        if known.any():
            out["truth"] = probability_metrics(y[known], np.array([truth[int(i)] for i in test["leg"][known]]))
            out["truth_note"] = ("the synthetic generator's hidden success probability (declines for load or "
                                 "distance come on top of it, so it is a ceiling on ranking, not on calibration)")
    return out


def train(snapshot, legs: list[dict], truth: dict | None = None, *, force: bool = False) -> dict:
    """Fit on every finished leg; evaluate on a time split. ``{"params", "trained_on", "metrics"}`` or
    ``{"fallback": reason, "metrics"}`` when the history is too thin: too few legs or outcomes, or (unless
    ``force``) the model fitted on the earlier legs does not beat the hand-set prior on the later ones
    (Brier score)."""
    data = training_set(snapshot, legs)
    reason = thin_history_reason(data)
    metrics = evaluate(data, truth) if len(data["y"]) else {}
    learned, hand = metrics.get("learned"), metrics.get("hand_set")
    if reason is None and not force and learned and hand and learned["brier"] > hand["brier"]:
        reason = (f"on the latest {metrics['test_legs']} legs the learned scorer (Brier {learned['brier']}) does "
                  f"not beat the hand-set prior (Brier {hand['brier']})")
    if reason is not None:
        return {"fallback": f"history too thin to learn from: {reason}; the hand-set prior stays in use",
                "metrics": metrics}
    model = fit_scorer(data)
    times = data["time"]
    trained_on = {"legs": int(len(data["y"])), "completed_share": round(float(data["y"].mean()), 4),
                  "from": str(np.datetime64(int(times.min()), "s")), "to": str(np.datetime64(int(times.max()), "s")),
                  "data_version": snapshot.version, "dataset": snapshot.dataset.get("name"),
                  "synthetic": bool(snapshot.dataset.get("synthetic"))}
    return {"params": model_params(model), "trained_on": trained_on, "metrics": metrics}
