"""The chance that a member's leg succeeds: a learned, calibrated scorer, or hand-set prior weights.

Both are linear in the leg features of :mod:`matcher.engine.features`:
``p(leg) = sigmoid(b + w . x(member, needs of the leg, case, bundle))``.

- ``SuccessScorer`` (scikit-learn estimator contract) learns ``w`` and ``b`` from the finished referral legs
  of the store (:mod:`matcher.engine.training`): a logistic regression on standardised features whose
  coefficients may be held to a sign (``signs``: load, distance and hand-offs never help, past joint work
  never hurts), then Platt-calibrated on out-of-fold decision values and folded back into one linear form
  (``coef_``, ``intercept_``).
- ``PRIOR_WEIGHTS`` are set by hand from public facts and reasoning (docs/ENGINE.md says which); they are
  used while the history is too thin to learn from, and the match response says which scorer it used.

Because the model is linear, a match computes the logit of every member for every group of the case's
needs with a few numpy operations on arrays cached per snapshot (``LegScorer.leg_logits``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from matcher.engine import features as F
from matcher.engine.derived import declare
from matcher.engine.objective import popcounts, subset_sums

MODEL_NAME = "success_scorer"
# What the scorer computes once per snapshot, and the data each depends on (``matcher.engine.derived``).
SCORER_MEMBER = declare("scorer_member", "model", "outcomes", "load")  # this month's load, the track record
SCORER_NEED = declare("scorer_need", "model", "outcomes")  # per-category history
SECTOR_FIT = declare("sector_fit")  # the members' sectors (directory only)

# The hand-set prior (docs/ENGINE.md, "The prior"), on the leg features. A typical leg (one need,
# specialisation 0.7, a record at the 60 % prior, in the enterprise's province, no load, no partners)
# succeeds as often as the completion rates are assumed to before any history: 60 %.
PRIOR_WEIGHTS = {"specialisation": 1.5, "category_completion_rate": 2.0, "load_over_80": -5.0,
                 "distance_100km": -0.25, "same_province": 0.3, "sector_fit": 0.3, "extra_needs": -0.3,
                 "joint_partners": 0.3, "other_members": -0.1}
PRIOR_TYPICAL_LOGIT = float(np.log(F.PRIOR_RATE / (1 - F.PRIOR_RATE)))
PRIOR_INTERCEPT = PRIOR_TYPICAL_LOGIT - 1.5 * 0.7 - 2.0 * F.PRIOR_RATE - 0.3


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _logistic_loss(params, Z, y, w, C):
    """C * sum of weighted log losses + 0.5 |coef|^2 and its gradient (the intercept is not penalised)."""
    coef, b = params[:-1], params[-1]
    z = Z @ coef + b
    loss = C * float(np.sum(w * (np.logaddexp(0.0, z) - y * z))) + 0.5 * float(coef @ coef)
    r = C * w * (sigmoid(z) - y)
    return loss, np.concatenate([Z.T @ r + coef, [r.sum()]])


def fit_logistic(Z, y, w, C, signs=None) -> tuple[np.ndarray, float]:
    """(coef, intercept) of an L2 logistic regression, coefficients held to ``signs`` (-1, 0 free, +1) by
    L-BFGS-B bounds."""
    k = Z.shape[1]
    signs = np.zeros(k, int) if signs is None else np.asarray(signs, int)
    bounds = [(None, 0.0) if s < 0 else (0.0, None) if s > 0 else (None, None) for s in signs] + [(None, None)]
    res = minimize(_logistic_loss, np.zeros(k + 1), args=(Z, y, w, C), jac=True, method="L-BFGS-B",
                   bounds=bounds, options={"maxiter": 2000, "gtol": 1e-8})
    return res.x[:-1], float(res.x[-1])


class SuccessScorer(ClassifierMixin, BaseEstimator):
    """Calibrated logistic regression whose probabilities are ``sigmoid(X @ coef_ + intercept_)``.

    Parameters: ``C`` the inverse L2 strength on standardised features; ``calibration_folds`` the folds of
    the out-of-fold decision values Platt scaling is fitted on (0 or 1: no calibration step); ``signs`` one
    of -1, 0, +1 per feature (None: all free): the sign a coefficient is held to.
    Learned: ``classes_``, ``n_features_in_``, ``mean_``, ``scale_``, ``platt_`` (a, b) and the folded
    ``coef_`` (n_features,) and ``intercept_`` (float). Binary targets only.
    """

    def __init__(self, C: float = 1.0, calibration_folds: int = 5, signs=None):
        self.C = C
        self.calibration_folds = calibration_folds
        self.signs = signs

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
        if self.signs is not None and len(self.signs) != X.shape[1]:
            raise ValueError(f"signs has {len(self.signs)} entries for {X.shape[1]} features.")
        target = (y == self.classes_[1]).astype(float)
        weight = _check_sample_weight(sample_weight, X)
        self.mean_ = np.average(X, axis=0, weights=weight)
        scale = np.sqrt(np.average((X - self.mean_) ** 2, axis=0, weights=weight))
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        Z = (X - self.mean_) / self.scale_
        coef, b = fit_logistic(Z, target, weight, self.C, self.signs)
        self.platt_ = self._platt(Z, target, weight)
        a, c = self.platt_
        w = coef / self.scale_
        self.coef_ = a * w
        self.intercept_ = float(a * (b - w @ self.mean_) + c)
        return self

    def _platt(self, Z, target, weight) -> tuple[float, float]:
        """(a, b) of ``sigmoid(a * d + b)`` fitted on out-of-fold decision values ``d`` (a > 0)."""
        folds = min(int(self.calibration_folds), int(np.bincount(target.astype(int)).min()))
        if folds < 2:
            return 1.0, 0.0
        d = np.zeros(len(target))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(Z, target):
            if len(np.unique(target[train])) < 2:
                return 1.0, 0.0
            coef, b = fit_logistic(Z[train], target[train], weight[train], self.C, self.signs)
            d[test] = Z[test] @ coef + b
        (a,), c = fit_logistic(d[:, None], target, weight, 1e6, [1])
        return (float(a), c) if a > 1e-6 else (1.0, 0.0)

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
class LegScorer:
    """What a match uses: ``p(leg) = sigmoid(intercept + sum_k coef[k] x_k)``, learned or hand-set."""

    kind: str  # "learned" or "hand_set"
    coef: dict
    intercept: float
    version: int | None = None
    note: str = ""
    trained_on: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {"scorer": self.kind, "version": self.version, "note": self.note}

    def weight(self, name: str) -> float:
        return float(self.coef.get(name, 0.0))

    def member_logits(self, snapshot) -> np.ndarray:
        """(M,) intercept + the member terms (track record, this month's load), cached on the snapshot."""
        def compute():
            cols = F.member_columns(snapshot.month_load, snapshot.capacity_total, snapshot.completed.sum(axis=1),
                                    snapshot.finished.sum(axis=1), snapshot.record_excess,
                                    snapshot.record_information)
            out = np.full(snapshot.number_of_members, float(self.intercept))
            for name in F.MEMBER:
                out += self.weight(name) * cols[name]
            return out
        return snapshot.derived.get(SCORER_MEMBER, compute, key=id(self))

    def need_logits(self, snapshot) -> np.ndarray:
        """(M, C) the need terms of each member in each category, cached on the snapshot."""
        def compute():
            cols = F.need_columns(snapshot.specialisation, snapshot.completed, snapshot.finished, snapshot.value_baht)
            out = np.zeros(snapshot.offers.shape)
            for name in F.NEED:
                out += self.weight(name) * cols[name]
            return out
        return snapshot.derived.get(SCORER_NEED, compute, key=id(self))

    def case_logits(self, snapshot, province: str, fit: np.ndarray, rows=None) -> np.ndarray:
        """(M,) terms that depend on the case: distance, same province / hub / region, sector fit (or
        (len(rows),) for the members ``rows`` only)."""
        cols = case_columns_for(snapshot, province, fit, rows)
        out = np.zeros(snapshot.number_of_members if rows is None else len(rows))
        for name in F.CASE:
            out += self.weight(name) * cols[name]
        return out

    def group_logits(self, snapshot, province: str, fit: np.ndarray, need_idx) -> np.ndarray:
        """(M,) the logit of every member taking the needs ``need_idx`` (category indices) as one leg, without
        the bundle terms and before the offers and capacity rules."""
        need = self.need_logits(snapshot)[:, list(need_idx)].mean(axis=1)
        return (self.member_logits(snapshot) + self.case_logits(snapshot, province, fit) + need
                + self.weight("extra_needs") * (len(need_idx) - 1))

    def leg_logits(self, snapshot, province: str, fit: np.ndarray, need_idx, rows, allowed) -> np.ndarray:
        """(len(rows), 2^N): the logit of each member of ``rows`` taking each group of the N needs
        ``need_idx`` as one leg (bit n of the group's index is need n), without the bundle terms; -inf where
        ``allowed`` (len(rows), N) forbids a need of the group. Column 0 (no needs) is -inf."""
        rows = np.asarray(rows, dtype=np.int64)
        N = len(need_idx)
        need = np.where(allowed, self.need_logits(snapshot)[np.ix_(rows, need_idx)], -np.inf)
        base = self.member_logits(snapshot)[rows] + self.case_logits(snapshot, province, fit, rows)
        out = np.full((len(rows), 1 << N), -np.inf)
        for n in range(N):
            out[:, 1 << n] = base + need[:, n]
        several = np.flatnonzero(allowed.sum(axis=1) >= 2)
        if len(several):  # whole rows at once: a single need's column comes out as above (x + 0.0 == x)
            count = popcounts(N)
            mean = subset_sums(need[several])
            mean /= np.maximum(count, 1)
            block = base[several, None] + mean
            block += self.weight("extra_needs") * (count - 1)
            block[:, 0] = -np.inf
            out[several] = block
        return out


def case_columns_for(snapshot, province: str, fit: np.ndarray, rows=None) -> dict:
    """The case columns of :mod:`matcher.engine.features` for every member of the snapshot (or the members
    ``rows`` only)."""
    p = snapshot.province_index[province]
    prov = snapshot.member_province if rows is None else snapshot.member_province[rows]
    fit = fit if rows is None else fit[rows]
    return F.case_columns(snapshot.province_distance[p, prov], prov == p,
                          snapshot.province_hub[prov] == snapshot.province_hub[p],
                          snapshot.province_region[prov] == snapshot.province_region[p], fit)


def prior_scorer(note: str = "") -> LegScorer:
    return LegScorer("hand_set", dict(PRIOR_WEIGHTS), PRIOR_INTERCEPT, note=note or
                     "hand-set prior weights (no trained model stored; run `flask --app api train-scorer`)")


def scorer_from_model(row: dict | None) -> LegScorer:
    """The scorer a stored model row describes, or the hand-set one (saying why) when it cannot be used."""
    if row is None:
        return prior_scorer()
    params = row["params"]
    if tuple(params.get("features", ())) != F.FEATURE_NAMES:
        return prior_scorer(f"stored model v{row['version']} was trained on other features; retrain it with "
                            f"`flask --app api train-scorer`")
    return LegScorer("learned", dict(zip(params["features"], params["coef"])), float(params["intercept"]),
                     version=int(row["version"]), note=f"learned from {row['trained_on'].get('legs')} legs",
                     trained_on=row["trained_on"])


def prior_logits(X: np.ndarray) -> np.ndarray:
    """The hand-set prior's logits for rows of leg features."""
    coef = np.array([PRIOR_WEIGHTS.get(n, 0.0) for n in F.FEATURE_NAMES])
    return X @ coef + PRIOR_INTERCEPT


def sector_fit(snapshot, *sectors) -> np.ndarray:
    """(M,) bool: the member serves one of the given sectors (None entries ignored), cached per snapshot."""
    wanted = tuple(sorted({s for s in sectors if s}))
    return snapshot.derived.get(
        SECTOR_FIT, lambda: np.array([bool(set(wanted) & m["sectors"]) for m in snapshot.members], dtype=bool),
        key=wanted)


def load_effect(scorer: LegScorer, loads=(0.6, 0.9, 1.0)) -> dict:
    """The change in a leg's log-odds the scorer gives a member at each share of its monthly capacity,
    against an idle one."""
    out = {}
    for load in loads:
        cols = F.member_columns(load, 1.0, 0.0, 0.0, 0.0, 0.0)
        out[f"{round(100 * load)}%"] = round(sum(scorer.weight(n) * float(cols[n])
                                                 for n in ("load_ratio", "load_over_half", "load_over_80")), 4)
    return out


def coefficients(scorer: LegScorer) -> dict:
    """The scorer's weights by feature name (0 for unused features), for reports."""
    return {name: round(scorer.weight(name), 4) for name in F.FEATURE_NAMES} | {
        "intercept": round(float(scorer.intercept), 4)}
