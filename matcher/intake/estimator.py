"""The learned part of intake: features from analysed texts and the multi-label estimator that learns them.

:class:`IntakeClassifier` follows scikit-learn's estimator contract (``__init__`` only stores its
parameters, ``fit`` returns ``self``, learned attributes end in ``_``). ``X`` is a sequence of texts and
``Y`` a 0/1 matrix with one column per category. Features:

* TF-IDF (sublinear, L2) of word unigrams and bigrams from PyThaiNLP's ``newmm`` tokens;
* TF-IDF of character n-grams inside space-separated chunks (``char_wb``, 2-4 by default), which carry
  Thai spelling variants and words the dictionary does not know;
* lexicon indicators ``LEX_<code>`` (a term of the category, not denied) and ``NEG_<code>`` (only denied
  terms), and ``NOTHING_NEEDED`` (the visit is a thank-you or a progress report), times ``lexicon_weight``.

Negated and already-done scopes are masked out of the n-grams (see :mod:`matcher.intake.model`). One logistic
regression per category (``class_weight="balanced"``); each category's decision threshold is the one that
maximises its F1 on out-of-fold predictions of the training data (``threshold_folds``-fold), smoothed over
neighbouring thresholds so that it does not sit on a single lucky value.

Only training and evaluation import this module (and scikit-learn); classification uses the compact
:class:`matcher.intake.model.LinearScorer` made by :meth:`IntakeClassifier.to_scorer`.
"""

from __future__ import annotations

import copy
import re
from collections import Counter

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.validation import check_is_fitted

from matcher.intake.analysis import analyse
from matcher.intake.lexicon import Lexicon
from matcher.intake.scorer import LinearScorer, lexicon_features
from matcher.intake.text import Tokenizer, normalised, pythainlp_words

# The parameters train_model uses, chosen by grouped 5-fold cross-validation on the train split only
# (docs/INTAKE.md, "What changed in 1.4").
DEFAULT_PARAMS = {"C": 8.0, "word_ngram_max": 1, "char_ngram_range": (2, 4), "char_min_df": 2,
                  "lexicon_weight": 0.5, "char_weight": 1.4, "threshold_folds": 5}
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
FREQUENT_WORDS = 3000
_THAI_WORD = re.compile(r"^[\u0e01-\u0e5b.]+$")


def _word_terms(a):
    return a.word_terms


def _char_grams(a):
    return a.char_grams


class IntakeClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label text classifier: texts -> 0/1 per category (see the module docstring).

    Parameters
    ----------
    categories : list of str or None
        Names of ``Y``'s columns (default ``"0", "1", ...``); lexicon terms of other categories are ignored.
    lexicon : list of (term, category, kind) or None
        The curated lexicon (``matcher.intake.lexicon.read_lexicon``); none by default.
    C : float
        Inverse regularisation strength of each logistic regression.
    word_ngram_max : int
        Longest word n-gram.
    char_ngram_range : (int, int)
        Character n-gram lengths.
    char_min_df : int
        Character n-grams in fewer training texts are dropped.
    lexicon_weight : float
        Value of a present lexicon indicator.
    word_weight, char_weight : float
        Scale of the word and character TF-IDF blocks (a heavier block is regularised less).
    augment : float
        Extra training texts made by joining two random training texts (labels united), as a fraction of
        the training texts: long texts with several needs, like those people type at the desk.
    threshold_folds : int
        Folds for the out-of-fold thresholds; 0 or 1 keeps 0.5 for every category.
    random_state : int
        Seed of the fold split.
    """

    def __init__(self, categories=None, lexicon=None, C=4.0, word_ngram_max=2, char_ngram_range=(2, 4),
                 char_min_df=2, lexicon_weight=1.0, threshold_folds=5, random_state=0, word_weight=1.0,
                 char_weight=1.0, augment=0.0):
        self.categories = categories
        self.lexicon = lexicon
        self.C = C
        self.word_ngram_max = word_ngram_max
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.lexicon_weight = lexicon_weight
        self.threshold_folds = threshold_folds
        self.random_state = random_state
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.augment = augment

    # -- fitting -----------------------------------------------------------------------------------------

    def fit(self, X, Y):
        """Learn the dictionary, vocabularies, coefficients and thresholds from texts ``X`` and 0/1 ``Y``."""
        X, Y = _checked_xy(X, Y)
        self.classes_ = np.array(list(self.categories) if self.categories is not None
                                 else [str(i) for i in range(Y.shape[1])])
        if len(self.classes_) != Y.shape[1]:
            raise ValueError(f"categories has {len(self.classes_)} names but Y has {Y.shape[1]} columns.")
        self.lexicon_ = Lexicon(self.lexicon or [])
        self.dictionary_ = domain_dictionary(X, self.lexicon_)
        self.tokenizer_ = Tokenizer(self.dictionary_)
        analyses = [self._analyse(x) for x in X]
        self._fit_analysed(analyses, Y)
        if self.threshold_folds and self.threshold_folds > 1:
            P = self._out_of_fold(analyses, Y)
            self.thresholds_ = np.array([best_threshold(Y[:, k], P[:, k]) for k in range(Y.shape[1])])
        else:
            self.thresholds_ = np.full(Y.shape[1], 0.5)
        return self

    def _analyse(self, text):
        return analyse(text, self.tokenizer_, self.lexicon_, word_ngram_max=self.word_ngram_max,
                       char_ngram_range=tuple(self.char_ngram_range))

    def _fit_analysed(self, analyses, Y):
        self.word_vectorizer_ = TfidfVectorizer(analyzer=_word_terms, sublinear_tf=True, dtype=np.float64)
        self.char_vectorizer_ = TfidfVectorizer(analyzer=_char_grams, sublinear_tf=True, dtype=np.float64,
                                                min_df=self.char_min_df)
        self.word_vectorizer_.fit(analyses)
        self.char_vectorizer_.fit(analyses)
        analyses, Y = joined_pairs(analyses, Y, self.augment, self.random_state)
        M = self._matrix(analyses)
        coef, intercept = [], []
        for k in range(Y.shape[1]):
            w, b = _fit_one(M, Y[:, k], self.C)
            coef.append(w)
            intercept.append(b)
        self.coef_ = np.vstack(coef)
        self.intercept_ = np.array(intercept)
        self.n_features_ = M.shape[1]

    def _matrix(self, analyses):
        index = {c: i for i, c in enumerate(self.classes_)}
        rows, cols, vals = [], [], []
        for i, a in enumerate(analyses):
            idx, val = lexicon_features(a, index, self.lexicon_weight)
            rows += [i] * len(idx)
            cols += idx.tolist()
            vals += val.tolist()
        L = sp.csr_matrix((vals, (rows, cols)), shape=(len(analyses), 2 * len(self.classes_) + 1))
        return sp.hstack([self.word_weight * self.word_vectorizer_.transform(analyses),
                          self.char_weight * self.char_vectorizer_.transform(analyses), L]).tocsr()

    def _out_of_fold(self, analyses, Y):
        """Out-of-fold probabilities of the training texts (vectorizers and regressions refitted per fold)."""
        P = np.zeros(Y.shape, dtype=float)
        folds = KFold(n_splits=min(self.threshold_folds, len(analyses)), shuffle=True,
                      random_state=self.random_state)
        for train, test in folds.split(analyses):
            inner = copy.copy(self)            # shares the dictionary and lexicon; refits the rest
            inner._fit_analysed([analyses[i] for i in train], Y[train])
            P[test] = 1.0 / (1.0 + np.exp(-(np.asarray(inner._matrix([analyses[i] for i in test]) @ inner.coef_.T)
                                           + inner.intercept_)))
        return P

    # -- prediction --------------------------------------------------------------------------------------

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        analyses = [self._analyse(x) for x in _checked_x(X)]
        return np.asarray(self._matrix(analyses) @ self.coef_.T) + self.intercept_

    def predict_proba(self, X):
        """(n, categories) probability that each text speaks of each category."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def predict(self, X):
        """(n, categories) 0/1: probability at or above the category's threshold."""
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def to_scorer(self) -> LinearScorer:
        """The fitted model as plain arrays for :class:`matcher.intake.model.LinearScorer`."""
        check_is_fitted(self, "coef_")
        return LinearScorer(
            categories=[str(c) for c in self.classes_], dictionary=list(self.dictionary_),
            lexicon_rows=list(self.lexicon_.rows),
            word_vocabulary={t: int(i) for t, i in self.word_vectorizer_.vocabulary_.items()},
            word_idf=self.word_vectorizer_.idf_.copy(),
            char_vocabulary={t: int(i) for t, i in self.char_vectorizer_.vocabulary_.items()},
            char_idf=self.char_vectorizer_.idf_.copy(), word_ngram_max=int(self.word_ngram_max),
            char_ngram_range=tuple(int(v) for v in self.char_ngram_range),
            lexicon_weight=float(self.lexicon_weight), coef=self._block_scaled_coef(),
            intercept=self.intercept_.astype(np.float64), thresholds=self.thresholds_.astype(np.float64))

    def _block_scaled_coef(self) -> np.ndarray:
        """The coefficients on unscaled TF-IDF blocks (the scorer does not weight them)."""
        coef = self.coef_.astype(np.float64).copy()
        n_word, n_char = len(self.word_vectorizer_.vocabulary_), len(self.char_vectorizer_.vocabulary_)
        coef[:, :n_word] *= self.word_weight
        coef[:, n_word:n_word + n_char] *= self.char_weight
        return coef

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        return tags


def joined_pairs(analyses, Y, fraction: float, seed: int):
    """``analyses`` and ``Y`` followed by ``round(fraction * n)`` texts made by joining two random distinct
    texts (n-grams and lexicon hits concatenated, labels united; NOTHING_NEEDED only when both need
    nothing). The vectorizers are fitted before, so document frequencies are those of real texts."""
    n = len(analyses)
    extra = int(round(fraction * n)) if n > 1 else 0
    if extra <= 0:
        return analyses, Y
    rng = np.random.RandomState(seed)
    first = rng.randint(0, n, extra)
    second = (first + rng.randint(1, n, extra)) % n
    joined = [_joined(analyses[i], analyses[j]) for i, j in zip(first, second)]
    return list(analyses) + joined, np.vstack([Y, np.maximum(Y[first], Y[second])])


def _joined(a, b):
    out = copy.copy(a)
    out.word_terms = a.word_terms + b.word_terms
    out.char_grams = a.char_grams + b.char_grams
    out.hits = a.hits + b.hits
    out.nothing_needed = a.nothing_needed and b.nothing_needed
    return out


def _fit_one(M, y, C):
    """Coefficients and intercept of one category's logistic regression (a constant when y is)."""
    if y.min() == y.max():
        return np.zeros(M.shape[1]), (10.0 if y[0] else -10.0)
    # The dual liblinear solver: many more features than texts, and 100 times faster here than the primal.
    lr = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000,
                            random_state=0)
    lr.fit(M, y)
    return lr.coef_[0].astype(float), float(lr.intercept_[0])


def _checked_x(X) -> list[str]:
    if isinstance(X, str) or not hasattr(X, "__len__"):
        raise ValueError("X must be a sequence of texts, e.g. ['ขนมขึ้นราเร็ว'], not a single string.")
    X = list(X)
    bad = [type(x).__name__ for x in X if not isinstance(x, str)]
    if bad:
        raise ValueError(f"X must hold texts (str); found {bad[0]}.")
    return X


def _checked_xy(X, Y):
    X = _checked_x(X)
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[0] != len(X):
        raise ValueError(f"Y must be a 0/1 matrix with one row per text; got shape {Y.shape} for {len(X)} texts.")
    if not np.isin(Y, (0, 1)).all():
        raise ValueError("Y must hold only 0 and 1.")
    if len(X) < 2:
        raise ValueError("fit needs at least 2 texts.")
    return X, Y.astype(int)


def best_threshold(y, p) -> float:
    """The threshold on ``p`` with the best F1 for ``y``, F1 averaged over a +-0.03 window so that a
    plateau beats a spike; ties go to the threshold nearest 0.5. 0.5 when ``y`` has no positive."""
    if y.sum() == 0:
        return 0.5
    f1 = np.array([_f1(y, p >= t) for t in THRESHOLD_GRID])
    smooth = np.convolve(np.pad(f1, 3, mode="edge"), np.ones(7) / 7, mode="valid")
    best = np.flatnonzero(smooth >= smooth.max() - 1e-9)
    return float(THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]])


def _f1(y, pred) -> float:
    tp = int(np.sum((y == 1) & pred))
    fp = int(np.sum((y == 0) & pred))
    fn = int(np.sum((y == 1) & ~pred))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def domain_dictionary(texts, lexicon: Lexicon) -> list[str]:
    """The tokenizer's word list: PyThaiNLP's words that occur in the training texts (cut with the full
    62,000-word dictionary), the most frequent Thai words, the lexicon's Thai terms, and every dictionary
    word that contains a short lexicon term (so that อย is not found inside หอย or ฝอย)."""
    full = pythainlp_words()
    terms = lexicon.thai_terms()
    cutter = Tokenizer(w for w in full | terms if _THAI_WORD.match(w))
    seen = set()
    for text in texts:
        norm = normalised(text)[0]
        seen.update(norm[a:b] for a, b in cutter.spans(norm))
    guards = words_containing(full, lexicon.short_thai_terms())
    words = (seen & full) | terms | guards | frequent_thai_words(FREQUENT_WORDS)
    return sorted(w for w in words if _THAI_WORD.match(w))   # Latin words are cut by newmm's own rule


def words_containing(words, terms) -> set:
    """The words that contain one of ``terms`` as a proper part. Complexity: O(len(terms) * total length)."""
    ordered = sorted(words)
    joined = "\n".join(ordered)
    starts = np.cumsum([0] + [len(w) + 1 for w in ordered[:-1]])
    out = set()
    for term in terms:
        i = joined.find(term)
        while i >= 0:
            k = int(np.searchsorted(starts, i, side="right") - 1)
            if ordered[k] != term:
                out.add(ordered[k])
            i = joined.find(term, i + 1)
    return out


def frequent_thai_words(n: int) -> set:
    """The ``n`` most frequent words of the Thai National Corpus list bundled with PyThaiNLP."""
    from matcher.intake.text import _offline_pythainlp
    _offline_pythainlp()
    from pythainlp.corpus import tnc
    ranked = sorted(tnc.word_freqs(), key=lambda wf: -wf[1])
    return {w for w, _ in ranked[:n] if w.strip()}


# ---------------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------------

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


def cross_validate(texts, Y, categories, lexicon, *, folds=5, seed=0, params=None, grouped=True) -> dict:
    """``folds``-fold cross-validation of the whole training procedure (dictionary, vocabularies,
    regressions and thresholds refitted on each fold's training part) on the given texts. ``grouped``
    keeps near-duplicate texts (see :func:`near_duplicate_groups`) in one fold so that they cannot leak."""
    Y = np.asarray(Y)
    P = np.zeros_like(Y)
    per_fold = []
    for train, test in fold_splits(texts, folds, seed, grouped):
        est = IntakeClassifier(categories=categories, lexicon=lexicon, random_state=seed,
                               **(params or DEFAULT_PARAMS))
        est.fit([texts[i] for i in train], Y[train])
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


__all__ = ["IntakeClassifier", "DEFAULT_PARAMS", "best_threshold", "cross_validate",
           "domain_dictionary", "multilabel_report", "near_duplicate_groups", "nearest_overlap"]
