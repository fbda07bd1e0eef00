"""The chance that a member completes a need for a case: a learned, calibrated scorer, or hand-set weights.

Both are linear in the features of :mod:`matcher.engine.features`: ``p(m, n | case) = sigmoid(b + w . x)``.

- ``SuccessScorer`` (scikit-learn estimator contract) learns ``w`` and ``b`` from the referral legs with
  outcomes in the store: a logistic regression on standardised features, then Platt-calibrated on
  out-of-fold decision values, folded back into one linear form (``coef_``, ``intercept_``).
- ``HAND_WEIGHTS`` are set by hand from what the programme reports matters (specialisation, distance,
  load, track record, sector); they are used while the history is too thin to learn from
  (fewer than ``MIN_LEGS`` finished legs or ``MIN_PER_CLASS`` of either outcome), or before a model is
  trained, and the match response says which scorer it used.

Because the model is linear, a match computes ``p`` for every member and need of a case with a few numpy
operations on arrays precomputed once per snapshot (``LinearScorer.probability``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from matcher.engine import features as F

MODEL_NAME = "success_scorer"
MIN_LEGS, MIN_PER_CLASS = 200, 30
FINAL = ("completed", "closed_unresolved", "declined")

# The hand-set weights (v1), written on the features: logit = 0.3 + 2.2 (spec - 0.5) - 0.006 km
# - 2.0 max(load - 0.6, 0) + 1.5 (category completion rate - 0.6) + 0.4 sector fit.
HAND_WEIGHTS = {"specialisation": 2.2, "distance_100km": -0.6, "overload": -2.0,
                "category_completion_rate": 1.5, "sector_fit": 0.4}
HAND_INTERCEPT = 0.3 - 2.2 * 0.5 - 1.5 * F.PRIOR_RATE


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


class SuccessScorer(ClassifierMixin, BaseEstimator):
    """Calibrated logistic regression whose probabilities are ``sigmoid(X @ coef_ + intercept_)``.

    Parameters: ``C`` the inverse L2 strength on standardised features; ``calibration_folds`` the folds of
    the out-of-fold decision values Platt scaling is fitted on (0 or 1: no calibration step).
    Learned: ``classes_``, ``n_features_in_``, ``mean_``, ``scale_``, ``platt_`` (a, b) and the folded
    ``coef_`` (n_features,) and ``intercept_`` (float). Binary targets only.
    """

    def __init__(self, C: float = 1.0, calibration_folds: int = 5):
        self.C = C
        self.calibration_folds = calibration_folds

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y", raise_unknown=True)
        if kind != "binary":
            raise ValueError(f"Only binary classification is supported (success or failure of a leg); the "
                             f"target is {kind} with classes {np.unique(y).tolist()}.")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"SuccessScorer needs both outcomes in y; got one class only: {self.classes_.tolist()}.")
        target = (y == self.classes_[1]).astype(int)
        weight = _check_sample_weight(sample_weight, X)
        self.mean_ = np.average(X, axis=0, weights=weight)
        scale = np.sqrt(np.average((X - self.mean_) ** 2, axis=0, weights=weight))
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        Z = (X - self.mean_) / self.scale_
        model = LogisticRegression(C=self.C, max_iter=1000).fit(Z, target, sample_weight=weight)
        self.platt_ = self._platt(Z, target, weight)
        a, b = self.platt_
        w = model.coef_[0] / self.scale_
        self.coef_ = a * w
        self.intercept_ = float(a * (model.intercept_[0] - w @ self.mean_) + b)
        return self

    def _platt(self, Z, target, weight) -> tuple[float, float]:
        """(a, b) of ``sigmoid(a * d + b)`` fitted on out-of-fold decision values ``d``."""
        folds = min(int(self.calibration_folds), int(np.bincount(target).min()))
        if folds < 2:
            return 1.0, 0.0
        d = np.zeros(len(target))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(Z, target):
            if len(np.unique(target[train])) < 2:
                return 1.0, 0.0
            fold = LogisticRegression(C=self.C, max_iter=1000).fit(Z[train], target[train],
                                                                   sample_weight=weight[train])
            d[test] = fold.decision_function(Z[test])
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(d[:, None], target, sample_weight=weight)
        return float(platt.coef_[0, 0]), float(platt.intercept_[0])

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X):
        p = sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


@dataclass
class LinearScorer:
    """What a match uses: ``p = sigmoid(intercept + sum_k coef[k] x_k)``, learned or hand-set."""

    kind: str  # "learned" or "hand_set"
    coef: dict
    intercept: float
    version: int | None = None
    note: str = ""
    trained_on: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {"scorer": self.kind, "version": self.version, "note": self.note}

    def base_logits(self, snapshot) -> np.ndarray:
        """(M, C) intercept + member and member-category terms, cached on the snapshot."""
        key = ("scorer_base", id(self))
        cached = snapshot.derived.get(key)
        if cached is None:
            cols = {**F.member_category_columns(snapshot.specialisation, snapshot.completed, snapshot.finished,
                                                snapshot.value_baht),
                    **F.member_columns(snapshot.load, snapshot.capacity_total, snapshot.completed.sum(axis=1),
                                       snapshot.finished.sum(axis=1))}
            cached = np.full(snapshot.offers.shape, float(self.intercept))
            for name in F.MEMBER_CATEGORY:
                cached += self.coef.get(name, 0.0) * cols[name]
            for name in F.MEMBER:
                cached += self.coef.get(name, 0.0) * cols[name][:, None]
            snapshot.derived[key] = cached
        return cached

    def case_logits(self, snapshot, province: str, fit: np.ndarray) -> np.ndarray:
        """(M,) terms that depend on the case: distance, same province / hub / region, sector fit."""
        cols = case_columns_for(snapshot, province, fit)
        out = np.zeros(snapshot.number_of_members)
        for name in F.CASE:
            out += self.coef.get(name, 0.0) * cols[name]
        return out

    def probability(self, snapshot, province: str, fit: np.ndarray, need_idx) -> np.ndarray:
        """(M, len(need_idx)) chance of success, before the offers and capacity rules are applied."""
        logits = self.base_logits(snapshot)[:, need_idx] + self.case_logits(snapshot, province, fit)[:, None]
        return sigmoid(logits)


def case_columns_for(snapshot, province: str, fit: np.ndarray) -> dict:
    """The case columns of :mod:`matcher.engine.features` for every member of the snapshot."""
    p = snapshot.province_index[province]
    prov = snapshot.member_province
    return F.case_columns(snapshot.province_distance[p, prov], prov == p,
                          snapshot.province_hub[prov] == snapshot.province_hub[p],
                          snapshot.province_region[prov] == snapshot.province_region[p], fit)


def hand_set_scorer(note: str = "") -> LinearScorer:
    return LinearScorer("hand_set", dict(HAND_WEIGHTS), HAND_INTERCEPT, note=note or
                        "hand-set weights (no trained model stored; run `flask --app api train-scorer`)")


def scorer_from_model(row: dict | None) -> LinearScorer:
    """The scorer a stored model row describes, or the hand-set one (saying why) when it cannot be used."""
    if row is None:
        return hand_set_scorer()
    params = row["params"]
    if tuple(params.get("features", ())) != F.FEATURE_NAMES:
        return hand_set_scorer(f"stored model v{row['version']} was trained on other features; retrain it with "
                               f"`flask --app api train-scorer`")
    return LinearScorer("learned", dict(zip(params["features"], params["coef"])), float(params["intercept"]),
                        version=int(row["version"]), note=f"learned from {row['trained_on'].get('legs')} legs",
                        trained_on=row["trained_on"])


def hand_probability(snapshot, province: str, sector: str | None, need_idx) -> np.ndarray:
    """(M, len(need_idx)) hand-set success probabilities; 0 where the member does not offer the need."""
    fit = sector_fit(snapshot, sector)
    p = hand_set_scorer().probability(snapshot, province, fit, need_idx)
    return np.where(snapshot.offers[:, need_idx], p, 0.0)


def sector_fit(snapshot, *sectors) -> np.ndarray:
    """(M,) bool: the member serves one of the given sectors (None entries ignored), cached per snapshot."""
    wanted = tuple(sorted({s for s in sectors if s}))
    key = ("sector_fit", wanted)
    cached = snapshot.derived.get(key)
    if cached is None:
        cached = np.array([bool(set(wanted) & m["sectors"]) for m in snapshot.members], dtype=bool)
        snapshot.derived[key] = cached
    return cached


# -- training data ------------------------------------------------------------------------------------


def _seconds(stamps) -> np.ndarray:
    return np.array([str(s)[:19] for s in stamps], dtype="datetime64[s]").astype(np.int64)


def training_set(snapshot, legs: list[dict]) -> dict:
    """One row per (finished leg, need) with the features as they stood when the leg was sent.

    Returns ``{"X", "y", "weight", "leg", "time"}``: ``weight`` is 1 / (needs of the leg) so that every leg
    counts once; ``leg`` the leg id of each row. History features (completion rates, value, experience,
    open load) count only legs finished (or sent) strictly before the row's leg was sent. Vectorised.
    """
    legs = [g for g in legs if g["member_id"] in snapshot.member_index and g.get("case_province")
            in snapshot.province_index]
    C = len(snapshot.categories)
    member = np.array([snapshot.member_index[g["member_id"]] for g in legs], dtype=np.int64)
    created, updated = _seconds([g["created_at"] for g in legs]), _seconds([g["updated_at"] for g in legs])
    status = np.array([g["status"] for g in legs])
    final, completed = np.isin(status, FINAL), status == "completed"
    value = np.array([g["value_baht"] or 0.0 for g in legs], float) * completed
    needs = [[n for n in (json.loads(g["needs"]) if isinstance(g["needs"], str) else g["needs"])
              if n in snapshot.category_index] for g in legs]
    count = np.array([len(n) for n in needs])
    leg_of = np.repeat(np.arange(len(legs)), count)
    cat = np.array([snapshot.category_index[n] for ns in needs for n in ns], dtype=np.int64)
    m_row, ev_final = member[leg_of], final[leg_of]
    # History events: finished legs per (member, category) and per member, at their finish time.
    key_mc = m_row * C + cat
    ev = ev_final
    hist = {"fin_cat": F.sums_before(key_mc[ev], updated[leg_of][ev], np.ones(ev.sum()), key_mc,
                                     created[leg_of]),
            "done_cat": F.sums_before(key_mc[ev], updated[leg_of][ev], completed[leg_of][ev], key_mc,
                                      created[leg_of]),
            "value_cat": F.sums_before(key_mc[ev], updated[leg_of][ev], value[leg_of][ev], key_mc,
                                       created[leg_of]),
            "fin_all": F.sums_before(m_row[ev], updated[leg_of][ev], np.ones(ev.sum()), m_row, created[leg_of]),
            "done_all": F.sums_before(m_row[ev], updated[leg_of][ev], completed[leg_of][ev], m_row,
                                      created[leg_of])}
    sent_before = F.sums_before(member, created, np.ones(len(legs)), m_row, created[leg_of])
    closed_before = F.sums_before(member[final], updated[final], np.ones(final.sum()), m_row, created[leg_of])
    load = np.maximum(sent_before - closed_before, 0.0)
    case_prov = np.array([snapshot.province_index[g["case_province"]] for g in legs])[leg_of]
    mprov = snapshot.member_province[m_row]
    fit = np.array([bool({g.get("sector"), g.get("cluster_sector")} & snapshot.members[m]["sectors"])
                    for g, m in zip(legs, member)])[leg_of]
    cols = {**F.member_category_columns(snapshot.specialisation[m_row, cat], hist["done_cat"], hist["fin_cat"],
                                        hist["value_cat"]),
            **F.member_columns(load, snapshot.capacity_total[m_row], hist["done_all"], hist["fin_all"]),
            **F.case_columns(snapshot.province_distance[case_prov, mprov], mprov == case_prov,
                             snapshot.province_hub[mprov] == snapshot.province_hub[case_prov],
                             snapshot.province_region[mprov] == snapshot.province_region[case_prov], fit)}
    rows = ev_final
    return {"X": F.stack(cols)[rows], "y": completed[leg_of][rows].astype(int),
            "weight": (1.0 / count[leg_of])[rows], "leg": np.array([g["id"] for g in legs])[leg_of][rows],
            "time": created[leg_of][rows]}


def thin_history_reason(data: dict) -> str | None:
    """Why the history is too thin to learn from, or None."""
    legs = len(np.unique(data["leg"]))
    y = data["y"]
    if legs < MIN_LEGS:
        return f"only {legs} finished legs (need {MIN_LEGS})"
    per_leg = _per_leg(data["leg"], y.astype(float))[1]
    ones = int(per_leg.sum())
    if min(ones, len(per_leg) - ones) < MIN_PER_CLASS:
        return f"{ones} completed and {len(per_leg) - ones} unsuccessful legs (need {MIN_PER_CLASS} of each)"
    return None


def fit_scorer(data: dict, **params) -> SuccessScorer:
    return SuccessScorer(**params).fit(data["X"], data["y"], sample_weight=data["weight"])


def model_params(model: SuccessScorer) -> dict:
    """What a stored model needs to predict (plain JSON)."""
    return {"features": list(F.FEATURE_NAMES), "coef": [float(c) for c in model.coef_],
            "intercept": float(model.intercept_), "platt": list(model.platt_), "C": model.C}


# -- evaluation -----------------------------------------------------------------------------------------


def _per_leg(leg, values):
    """(leg ids, mean of ``values`` per leg), legs in sorted order."""
    ids, inverse = np.unique(leg, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    return ids, sums / np.bincount(inverse)


def leg_probability(leg, logits) -> tuple[np.ndarray, np.ndarray]:
    """(leg ids, p per leg): the geometric mean over the leg's needs of the per-need p."""
    ids, mean_log = _per_leg(leg, np.log(np.clip(sigmoid(logits), 1e-12, 1.0)))
    return ids, np.exp(mean_log)


def hand_logits(X: np.ndarray) -> np.ndarray:
    coef = np.array([HAND_WEIGHTS.get(n, 0.0) for n in F.FEATURE_NAMES])
    return X @ coef + HAND_INTERCEPT


def probability_metrics(y, p) -> dict:
    """ROC AUC, Brier score, log loss and expected calibration error (10 equal-width bins)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    y, p = np.asarray(y, int), np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(y[bins == b].mean() - p[bins == b].mean()) * (bins == b).mean() for b in range(10)
              if (bins == b).any())
    both = len(np.unique(y)) == 2
    return {"roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
            "brier": round(float(brier_score_loss(y, p)), 4),
            "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 4), "ece": round(float(ece), 4)}


def evaluate(data: dict, truth: dict | None = None, *, holdout: float = 0.2) -> dict:
    """Train on the earliest legs, score the latest ``holdout`` share (by time sent), per leg.

    Reports the learned scorer, the hand-set fallback and (when the store holds the demo generator's
    hidden truth) the truth itself, each against the real outcomes of the held-out legs.
    """
    legs, first = np.unique(data["leg"], return_index=True)
    cut = np.quantile(data["time"][first], 1.0 - holdout)
    test_rows = data["time"] >= cut
    train = {k: v[~test_rows] for k, v in data.items()}
    test = {k: v[test_rows] for k, v in data.items()}
    reason = thin_history_reason(train)
    ids, y = _per_leg(test["leg"], test["y"].astype(float))
    y = (y > 0.5).astype(int)
    out = {"train_legs": int(len(np.unique(train["leg"]))), "test_legs": int(len(ids)),
           "test_success_rate": round(float(y.mean()), 4) if len(y) else None, "split": "by time sent",
           "hand_set": probability_metrics(y, leg_probability(test["leg"], hand_logits(test["X"]))[1])}
    if reason is None:
        model = fit_scorer(train)
        out["learned"] = probability_metrics(y, leg_probability(test["leg"], model.decision_function(test["X"]))[1])
    else:
        out["learned"] = None
        out["learned_note"] = f"history too thin to learn from: {reason}"
    if truth:
        known = np.array([i in truth for i in ids])
        if known.any():
            out["truth"] = probability_metrics(y[known], np.array([truth[i] for i in ids[known]]))
            out["truth_note"] = ("the demo generator's hidden success probability (declines for capacity or "
                                 "distance come on top of it, so it is a ceiling on ranking, not on calibration)")
    return out


def train(snapshot, legs: list[dict], truth: dict | None = None, *, force: bool = False) -> dict:
    """Fit on every finished leg; evaluate on a time split. ``{"params", "trained_on", "metrics"}`` or
    ``{"fallback": reason, "metrics"}`` when the history is too thin: too few legs or outcomes, or (unless
    ``force``) the model fitted on the earlier legs does not beat the hand-set weights on the later ones
    (Brier score)."""
    data = training_set(snapshot, legs)
    reason = thin_history_reason(data)
    metrics = evaluate(data, truth) if len(data["y"]) else {}
    learned, hand = metrics.get("learned"), metrics.get("hand_set")
    if reason is None and not force and learned and hand and learned["brier"] > hand["brier"]:
        reason = (f"on the latest {metrics['test_legs']} legs the learned scorer (Brier {learned['brier']}) does "
                  f"not beat the hand-set weights (Brier {hand['brier']})")
    if reason is not None:
        return {"fallback": f"history too thin to learn from: {reason}; the hand-set weights stay in use",
                "metrics": metrics}
    model = fit_scorer(data)
    times = data["time"]
    trained_on = {"legs": int(len(np.unique(data["leg"]))), "rows": int(len(data["y"])),
                  "completed_share": round(float(np.average(data["y"], weights=data["weight"])), 4),
                  "from": str(np.datetime64(int(times.min()), "s")), "to": str(np.datetime64(int(times.max()), "s")),
                  "data_version": snapshot.version, "dataset": snapshot.dataset.get("name"),
                  "synthetic": bool(snapshot.dataset.get("synthetic"))}
    return {"params": model_params(model), "trained_on": trained_on, "metrics": metrics}


def coefficients(scorer: LinearScorer) -> dict:
    """The scorer's weights by feature name (0 for unused features), for reports."""
    return {name: round(float(scorer.coef.get(name, 0.0)), 4) for name in F.FEATURE_NAMES} | {
        "intercept": round(float(scorer.intercept), 4)}
