"""Evaluation of the intake classifier (training side only: imports scikit-learn): multi-label figures,
the confusion summary, (grouped) cross-validation, near-duplicate groups, overlap with the training texts
and the reliability of the shown confidence."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import GroupKFold, KFold

from matcher.intake.estimator import DEFAULT_PARAMS, IntakeClassifier


def multilabel_report(Y, P, categories, *, langs=None, ids=None, max_confusions=15, max_mistakes=40) -> dict:
    """Micro and macro precision/recall/F1, per-category figures, the confusion summary (see
    :func:`confusions`), per-language macro F1 and false needs on texts that need nothing."""
    Y, P = np.asarray(Y), np.asarray(P)
    present = Y.sum(axis=0) > 0
    p, r, f, s = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(Y, P, average="micro", zero_division=0)
    report = {"rows": int(len(Y)), "micro": {"precision": _r(mp), "recall": _r(mr), "f1": _r(mf)},
              "macro": {"precision": _r(p[present].mean()), "recall": _r(r[present].mean()),
                        "f1": _r(f[present].mean()), "categories": int(present.sum())},
              "exact_match": _r(float(np.mean((Y == P).all(axis=1)))),
              "per_category": {c: {"precision": _r(p[k]), "recall": _r(r[k]), "f1": _r(f[k]), "support": int(s[k]),
                                   "tp": int(((Y[:, k] == 1) & (P[:, k] == 1)).sum()),
                                   "fp": int(((Y[:, k] == 0) & (P[:, k] == 1)).sum()),
                                   "fn": int(((Y[:, k] == 1) & (P[:, k] == 0)).sum())}
                               for k, c in enumerate(categories)},
              "confusions": confusions(Y, P, categories, max_confusions)}
    none = Y.sum(axis=1) == 0
    report["no_need_texts"] = {"rows": int(none.sum()), "with_a_false_need": int((P[none].sum(axis=1) > 0).sum())}
    if langs is not None:
        report["by_language"] = {}
        for lang in sorted(set(langs)):
            mask = np.array([x == lang for x in langs])
            sub_present = Y[mask].sum(axis=0) > 0
            _, _, lf, _ = precision_recall_fscore_support(Y[mask], P[mask], average=None, zero_division=0)
            _, _, lmf, _ = precision_recall_fscore_support(Y[mask], P[mask], average="micro", zero_division=0)
            report["by_language"][lang] = {"rows": int(mask.sum()), "micro_f1": _r(lmf),
                                           "macro_f1": _r(lf[sub_present].mean() if sub_present.any() else 0)}
    if ids is not None:
        wrong = [i for i in range(len(Y)) if (Y[i] != P[i]).any()]
        report["mistakes"] = [{"id": ids[i], "true": [c for k, c in enumerate(categories) if Y[i, k]],
                               "predicted": [c for k, c in enumerate(categories) if P[i, k]]}
                              for i in wrong[:max_mistakes]]
    return report


def confusions(Y, P, categories, top: int) -> dict:
    """How the errors are made: ``swaps``, the most frequent (true category missed, other category predicted
    instead in the same text) pairs; ``extra`` false needs in texts where nothing was missed; ``missed``
    needs missed in texts where nothing extra was predicted."""
    swaps, extra, missed = Counter(), Counter(), Counter()
    for y, pr in zip(Y, P):
        lost = [categories[k] for k in np.flatnonzero((y == 1) & (pr == 0))]
        added = [categories[k] for k in np.flatnonzero((y == 0) & (pr == 1))]
        swaps.update((a, b) for a in lost for b in added)
        if not lost:
            extra.update(added)
        if not added:
            missed.update(lost)
    return {"swaps": [{"true": a, "predicted": b, "count": n} for (a, b), n in swaps.most_common(top)],
            "extra": dict(extra.most_common()), "missed": dict(missed.most_common())}


def cross_validate(texts, Y, categories, lexicon, *, folds=5, seed=0, params=None, grouped=True, groups=None) -> dict:
    """``folds``-fold cross-validation of the whole training procedure (dictionary, vocabularies,
    regressions and thresholds refitted on each fold's training part) on the given texts. ``grouped``
    keeps near-duplicate texts (see :func:`near_duplicate_groups`) in one fold so that they cannot leak;
    ``groups`` (the rounds of writing) are passed on to each fold's fit for its thresholds."""
    Y = np.asarray(Y)
    P = np.zeros_like(Y)
    per_fold = []
    for train, test in fold_splits(texts, folds, seed, grouped):
        est = IntakeClassifier(categories=categories, lexicon=lexicon, random_state=seed,
                               **(params or DEFAULT_PARAMS))
        est.fit([texts[i] for i in train], Y[train],
                groups=None if groups is None else [groups[i] for i in train])
        P[test] = est.predict([texts[i] for i in test])
        present = Y[test].sum(axis=0) > 0
        _, _, f, _ = precision_recall_fscore_support(Y[test], P[test], average=None, zero_division=0)
        per_fold.append(float(f[present].mean()))
    p, r, f, _ = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    present = Y.sum(axis=0) > 0
    _, _, mf, _ = precision_recall_fscore_support(Y, P, average="micro", zero_division=0)
    return {"folds": folds, "grouped": bool(grouped), "rows": int(len(Y)), "micro_f1": _r(mf),
            "macro_f1": _r(f[present].mean()), "macro_f1_per_fold": [_r(v) for v in per_fold],
            "macro_f1_std": _r(float(np.std(per_fold)))}


def fold_splits(texts, folds: int, seed: int, grouped: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays: shuffled K-fold, or group K-fold over near-duplicate groups taken in a
    shuffled order."""
    if not grouped:
        return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(texts))
    groups = near_duplicate_groups(texts)
    order = np.random.RandomState(seed).permutation(len(texts))
    return [(order[a], order[b]) for a, b in GroupKFold(n_splits=folds).split(order, groups=groups[order])]


def near_duplicate_groups(texts, overlap: float = 0.5, block: int = 512) -> np.ndarray:
    """(n,) group ids (the smallest index in each group): texts whose sets of character trigrams (spaces
    removed, lower case) have a Jaccard overlap above ``overlap`` are in one group, transitively. The
    intersections are a sparse 0/1 text-by-trigram matrix times its transpose, ``block`` rows at a time
    (O(block * n) memory); the groups are the connected components of the pairs that are close."""
    n = len(texts)
    try:
        X = CountVectorizer(analyzer=_trigrams, binary=True, dtype=np.int32).fit_transform(texts).tocsr()
    except ValueError:                         # no trigram at all: every text is its own group
        return np.arange(n)
    sizes = np.asarray(X.sum(axis=1)).ravel()
    XT = X.T.tocsc()
    pairs = []
    for start in range(0, n, block):
        inter = (X[start:start + block] @ XT).toarray()
        union = sizes[start:start + block, None] + sizes[None, :] - inter
        close = (inter > overlap * union) & (sizes[start:start + block, None] > 0) & (sizes[None, :] > 0)
        i, j = np.nonzero(close)
        pairs.append((i + start, j))
    rows, cols = (np.concatenate(parts) for parts in zip(*pairs))
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first = np.full(labels.max() + 1, n)
    np.minimum.at(first, labels, np.arange(n))
    return first[labels]


def nearest_overlap(texts, reference) -> dict:
    """How close ``texts`` come to ``reference`` texts: for each text the highest Jaccard overlap of its
    character trigrams with any reference text; the median, the 95th percentile and how many are above
    0.5 (near-copies)."""
    trigrams = CountVectorizer(analyzer=_trigrams, binary=True, dtype=np.int32)
    X = trigrams.fit_transform(list(texts) + list(reference))
    A, B = X[:len(texts)], X[len(texts):]
    sa, sb = np.asarray(A.sum(axis=1)).ravel(), np.asarray(B.sum(axis=1)).ravel()
    inter = (A @ B.T).toarray()
    best = (inter / np.maximum(sa[:, None] + sb[None, :] - inter, 1)).max(axis=1)
    return {"median": _r(np.median(best)), "p95": _r(np.percentile(best, 95)), "above_0_5": int((best > 0.5).sum())}


def _trigrams(text: str) -> set:
    t = re.sub(r"\s+", "", text.lower())
    return {t[i:i + 3] for i in range(len(t) - 2)}


def _r(x) -> float:
    return round(float(x), 4)


__all__ = ["cross_validate", "fold_splits", "multilabel_report", "near_duplicate_groups", "nearest_overlap",
           "reliability"]


def reliability(Y, P, C, *, floor: float = 0.2, bins: int = 10) -> dict:
    """How well the shown confidence says how often a shown category is right: every predicted need and
    every other category shown as a candidate (confidence >= ``floor``), grouped by confidence in
    ``bins`` equal bins. ``ece`` is the expected calibration error: the mean over shown items of
    |confidence - share right| per bin, weighted by the bin's items."""
    Y, P, C = np.asarray(Y), np.asarray(P), np.asarray(C, dtype=float)
    shown = (P == 1) | (C >= floor)
    conf, right = C[shown], Y[shown] == 1
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        mean_conf, share = float(conf[mask].mean()), float(right[mask].mean())
        ece += mask.sum() / max(len(conf), 1) * abs(mean_conf - share)
        table.append({"from": _r(edges[b]), "to": _r(edges[b + 1]), "shown": int(mask.sum()),
                      "mean_confidence": _r(mean_conf), "share_right": _r(share)})
    needs = P == 1
    return {"shown": int(len(conf)), "ece": _r(ece), "bins": table,
            "needs_shown": int(needs.sum()), "needs_right": _r(float(Y[needs].mean()) if needs.any() else 0.0),
            "mean_need_confidence": _r(float(C[needs].mean()) if needs.any() else 0.0)}
