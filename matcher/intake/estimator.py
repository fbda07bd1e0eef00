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

import re

import numpy as np
from joblib import Parallel, delayed
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from matcher.intake.analysis import analyse
from matcher.intake.lexicon import Lexicon
from matcher.intake.features import TfidfBlock, counts, lexicon_matrix
from matcher.intake.scorer import LinearScorer
from matcher.intake.text import Tokenizer, normalised, pythainlp_words

# The parameters train_model uses, chosen by grouped 5-fold cross-validation on the train split only
# (docs/INTAKE.md, "What changed in 1.4").
DEFAULT_PARAMS = {"C": 8.0, "word_ngram_max": 1, "char_ngram_range": (2, 4), "char_min_df": 2,
                  "lexicon_weight": 0.5, "char_weight": 1.4, "threshold_folds": 5, "word_min_df": 1, "n_jobs": 2}
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
FREQUENT_WORDS = 3000
MIN_CALIBRATION = 30
_THAI_WORD = re.compile(r"^[\u0e01-\u0e5b.]+$")


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
    named_rule : bool
        Give the needs a text names outright (:mod:`matcher.intake.named`) a threshold of their own, chosen
        like the others (at most the category's threshold; zero means always predicted).
    word_min_df : int
        Words in fewer training texts are dropped (a name or a number typed once never enters the model).
    n_jobs : int
        Processes for the fits (the model and the out-of-fold models run side by side).
    threshold_folds : int
        Folds for the out-of-fold thresholds; 0 or 1 keeps 0.5 for every category.
    random_state : int
        Seed of the fold split.
    """

    def __init__(self, categories=None, lexicon=None, C=4.0, word_ngram_max=2, char_ngram_range=(2, 4),
                 char_min_df=2, lexicon_weight=1.0, threshold_folds=5, random_state=0, word_weight=1.0,
                 char_weight=1.0, named_rule=True, word_min_df=1, n_jobs=1):
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
        self.named_rule = named_rule
        self.word_min_df = word_min_df
        self.n_jobs = n_jobs

    # -- fitting -----------------------------------------------------------------------------------------

    def fit(self, X, Y, groups=None, progress=None, sample_weight=None, tune_rows=None):
        """Learn the dictionary, vocabularies, coefficients, thresholds and calibration from texts ``X`` and
        0/1 ``Y``. ``groups`` (one label per text, e.g. the round of writing it comes from) keeps each group
        in one fold of the out-of-fold predictions, so that thresholds and calibration are set on texts of
        writers the fold's model has not read. ``progress`` (a callable taking a message) hears each step.
        ``sample_weight`` (one per text) weighs texts in the regressions; ``tune_rows`` (bool per text) marks
        the texts whose out-of-fold predictions set the thresholds and calibration (all texts by default):
        the texts most like what the model will be given."""
        X, Y = _checked_xy(X, Y)
        say = progress or (lambda message: None)
        self.classes_ = np.array(list(self.categories) if self.categories is not None
                                 else [str(i) for i in range(Y.shape[1])])
        if len(self.classes_) != Y.shape[1]:
            raise ValueError(f"categories has {len(self.classes_)} names but Y has {Y.shape[1]} columns.")
        self.lexicon_ = Lexicon(self.lexicon or [])
        say(f"reading {len(X)} texts: the tokenizer's dictionary")
        self.dictionary_ = domain_dictionary(X, self.lexicon_)
        self.tokenizer_ = Tokenizer(self.dictionary_)
        say(f"reading {len(X)} texts: words, lexicon, negation, named needs")
        analyses = [self._analyse(x) for x in X]
        data = _Features(analyses, self.classes_)
        named = self._named_matrix(analyses)
        forced = named & np.array([a.short for a in analyses])[:, None]
        folds = self._folds(len(X), groups) if self.threshold_folds and self.threshold_folds > 1 else []
        say(f"fitting {len(self.classes_)} regressions, then {len(folds)} out-of-fold models for the thresholds")
        all_rows = np.arange(len(X))
        jobs = [(all_rows, None)] + folds
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        fitted = Parallel(n_jobs=min(self.n_jobs, len(jobs)))(
            delayed(_fit_rows)(data, Y, train, test, self._fit_params(), weights) for train, test in jobs)
        (self.word_block_, self.char_block_, self.coef_, self.intercept_), _ = fitted[0]
        self.word_vocabulary_ = self.word_block_.vocabulary(data.word_terms)
        self.char_vocabulary_ = self.char_block_.vocabulary(data.char_terms)
        self.n_features_ = self.coef_.shape[1]
        if folds:
            P = np.zeros(Y.shape, dtype=float)
            for (_, test), (_, p) in zip(folds, fitted[1:]):
                P[test] = p
            masks = [tuning_rows(Y[:, k], tune_rows) for k in range(Y.shape[1])]
            self.thresholds_ = np.array([best_threshold(Y[m, k], P[m, k], forced[m, k]) for k, m in enumerate(masks)])
            self.named_thresholds_ = np.array([
                best_named_threshold(Y[m, k], P[m, k], named[m, k], forced[m, k], self.thresholds_[k])
                for k, m in enumerate(masks)])
            maps = [calibration_maps(P[m][:, [k]], Y[m][:, [k]], named[m][:, [k]]) for k, m in enumerate(masks)]
            self.calibration_ = {part: [one[part][0] for one in maps] for part in ("plain", "named")}
        else:
            self.thresholds_ = np.full(Y.shape[1], 0.5)
            self.named_thresholds_ = np.zeros(Y.shape[1])
            self.calibration_ = identity_calibration(Y.shape[1])
        return self

    def _fit_params(self) -> dict:
        return {"C": self.C, "word_min_df": self.word_min_df, "char_min_df": self.char_min_df,
                "word_weight": self.word_weight, "char_weight": self.char_weight,
                "lexicon_weight": self.lexicon_weight}

    def _folds(self, n: int, groups) -> list[tuple[np.ndarray, np.ndarray]]:
        """(train, test) rows of the out-of-fold models: whole groups per fold when ``groups`` are given."""
        k = min(self.threshold_folds, n)
        if groups is not None and len(set(groups)) >= k:
            return list(GroupKFold(n_splits=k).split(np.zeros(n), groups=np.asarray(groups)))
        return list(KFold(n_splits=k, shuffle=True, random_state=self.random_state).split(np.zeros(n)))

    def _named_matrix(self, analyses) -> np.ndarray:
        """(texts, categories) True where the text names the need outright (the rule layer)."""
        index = {c: i for i, c in enumerate(self.classes_)}
        out = np.zeros((len(analyses), len(self.classes_)), dtype=bool)
        if self.named_rule:
            for i, a in enumerate(analyses):
                out[i, [index[c] for c in a.named_needs if c in index]] = True
        return out

    def _analyse(self, text):
        return analyse(text, self.tokenizer_, self.lexicon_, word_ngram_max=self.word_ngram_max,
                       char_ngram_range=tuple(self.char_ngram_range))

    # -- prediction --------------------------------------------------------------------------------------

    def _matrix(self, analyses):
        data = _Features(analyses, self.classes_, vocabularies=(self.word_vocabulary_, self.char_vocabulary_))
        return data.matrix(self.word_block_, self.char_block_, self._fit_params())

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        analyses = [self._analyse(x) for x in _checked_x(X)]
        return np.asarray(self._matrix(analyses) @ self.coef_.T) + self.intercept_

    def predict_proba(self, X):
        """(n, categories) probability that each text speaks of each category."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    def predict(self, X):
        """(n, categories) 0/1: probability at or above the category's threshold (the named threshold for
        needs named outright), and every need a short text names outright; nothing for a text that says
        outright that it needs nothing."""
        check_is_fitted(self, "coef_")
        analyses = [self._analyse(x) for x in _checked_x(X)]
        P = 1.0 / (1.0 + np.exp(-(np.asarray(self._matrix(analyses) @ self.coef_.T) + self.intercept_)))
        named = self._named_matrix(analyses)
        forced = named & np.array([a.short for a in analyses])[:, None]
        chosen = (P >= np.where(named, self.named_thresholds_, self.thresholds_)) | forced
        return (chosen & ~np.array([a.nothing_at_all for a in analyses])[:, None]).astype(int)

    def to_scorer(self) -> LinearScorer:
        """The fitted model as plain arrays for :class:`matcher.intake.model.LinearScorer`."""
        check_is_fitted(self, "coef_")
        return LinearScorer(
            categories=[str(c) for c in self.classes_], dictionary=list(self.dictionary_),
            lexicon_rows=list(self.lexicon_.rows),
            word_vocabulary=dict(self.word_vocabulary_), word_idf=self.word_block_.idf.copy(),
            char_vocabulary=dict(self.char_vocabulary_), char_idf=self.char_block_.idf.copy(),
            word_ngram_max=int(self.word_ngram_max),
            char_ngram_range=tuple(int(v) for v in self.char_ngram_range),
            lexicon_weight=float(self.lexicon_weight), coef=self._block_scaled_coef(),
            intercept=self.intercept_.astype(np.float64), thresholds=self.thresholds_.astype(np.float64),
            named_thresholds=self.named_thresholds_.astype(np.float64), calibration=self.calibration_,
            named_rule=bool(self.named_rule))

    def _block_scaled_coef(self) -> np.ndarray:
        """The coefficients on unscaled TF-IDF blocks (the scorer does not weight them)."""
        coef = self.coef_.astype(np.float64).copy()
        n_word, n_char = len(self.word_vocabulary_), len(self.char_vocabulary_)
        coef[:, :n_word] *= self.word_weight
        coef[:, n_word:n_word + n_char] *= self.char_weight
        return coef

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        return tags


class _Features:
    """The analysed texts as count matrices (counted once) and lexicon features; ``matrix`` weighs them
    with given TF-IDF blocks. With ``vocabularies``, the counts are over those terms (for prediction)."""

    def __init__(self, analyses, categories, vocabularies=None):
        if vocabularies is None:
            self.W, self.word_terms, self.C, self.char_terms = counts(analyses)
        else:
            self.W = _counts_over(analyses, "word_terms", vocabularies[0])
            self.C = _counts_over(analyses, "char_grams", vocabularies[1])
            self.word_terms = self.char_terms = None
        self.L = lexicon_matrix(analyses, categories)

    def matrix(self, word_block, char_block, params, rows=None):
        L = self.L if rows is None else self.L[rows]
        if self.word_terms is None:                    # counts already over the fitted vocabularies
            W, C = _weighted(self.W, word_block.idf, rows), _weighted(self.C, char_block.idf, rows)
        else:
            W, C = word_block.transform(self.W, rows), char_block.transform(self.C, rows)
        return sp.hstack([params["word_weight"] * W, params["char_weight"] * C,
                          params["lexicon_weight"] * L]).tocsr()


def _counts_over(analyses, attribute: str, vocabulary: dict) -> sp.csr_matrix:
    rows, cols = [], []
    for i, a in enumerate(analyses):
        for term in getattr(a, attribute):
            j = vocabulary.get(term)
            if j is not None:
                rows.append(i)
                cols.append(j)
    M = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(analyses), len(vocabulary)))
    M.sum_duplicates()
    return M


def _weighted(counts, idf, rows=None) -> sp.csr_matrix:
    part = (counts if rows is None else counts[rows]).tocsr(copy=True)
    part.data = 1.0 + np.log(part.data)
    return normalize(part @ sp.diags(idf), norm="l2", copy=False).tocsr()


MIN_TUNING_POSITIVES = 15


def tuning_rows(y, tune_rows) -> np.ndarray:
    """The rows that set one category's threshold and calibration (``y``: its 0/1 column): ``tune_rows``
    when they hold at least ``MIN_TUNING_POSITIVES`` texts that need it, otherwise all rows."""
    if tune_rows is None:
        return np.ones(len(y), dtype=bool)
    tune = np.asarray(tune_rows, dtype=bool)
    return tune if y[tune].sum() >= MIN_TUNING_POSITIVES else np.ones(len(y), dtype=bool)


def _fit_rows(data: _Features, Y, train, test, params, weights=None):
    """One fit on the ``train`` rows: (word block, char block, coef, intercept), and the probabilities of
    the ``test`` rows (None without them). Run in a worker process."""
    word_block = TfidfBlock(data.W, train, params["word_min_df"])
    char_block = TfidfBlock(data.C, train, params["char_min_df"])
    M = data.matrix(word_block, char_block, params, rows=train)
    coef, intercept = [], []
    for k in range(Y.shape[1]):
        w, b = _fit_one(M, Y[train, k], params["C"], None if weights is None else weights[train])
        coef.append(w)
        intercept.append(b)
    coef, intercept = np.vstack(coef), np.array(intercept)
    p = None
    if test is not None:
        Mt = data.matrix(word_block, char_block, params, rows=test)
        p = 1.0 / (1.0 + np.exp(-(np.asarray(Mt @ coef.T) + intercept)))
    return (word_block, char_block, coef, intercept), p


def _fit_one(M, y, C, weights=None):
    """Coefficients and intercept of one category's logistic regression (a constant when y is)."""
    if y.min() == y.max():
        return np.zeros(M.shape[1]), (10.0 if y[0] else -10.0)
    # The dual liblinear solver: many more features than texts, and 100 times faster here than the primal.
    lr = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000,
                            random_state=0)
    lr.fit(M, y, sample_weight=weights)
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


def best_threshold(y, p, forced=None) -> float:
    """The threshold on ``p`` with the best F1 for ``y``, F1 averaged over a +-0.03 window so that a
    plateau beats a spike; ties go to the threshold nearest 0.5. 0.5 when ``y`` has no positive.
    ``forced`` (bool, like ``y``) marks texts predicted positive whatever ``p`` (needs named outright)."""
    if y.sum() == 0:
        return 0.5
    forced = np.zeros(len(y), dtype=bool) if forced is None else np.asarray(forced, dtype=bool)
    f1 = np.array([_f1(y, (p >= t) | forced) for t in THRESHOLD_GRID])
    smooth = np.convolve(np.pad(f1, 3, mode="edge"), np.ones(7) / 7, mode="valid")
    best = np.flatnonzero(smooth >= smooth.max() - 1e-9)
    return float(THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]])


NAMED_GRID = np.round(np.arange(0.0, 0.951, 0.01), 2)


def best_named_threshold(y, p, named, forced, threshold: float) -> float:
    """The threshold for texts that name the category outright (at most ``threshold``, the one for the
    others): the best F1 of the whole decision, ties to the lowest (a named need is kept when in doubt);
    ``forced`` texts (short ones that name it) are needs whatever ``p``. 0 when no text names it."""
    named, forced = np.asarray(named, dtype=bool), np.asarray(forced, dtype=bool)
    if not named.any() or y.sum() == 0:
        return 0.0
    grid = NAMED_GRID[NAMED_GRID <= threshold]
    plain = ((p >= threshold) & ~named) | forced
    f1 = np.array([_f1(y, plain | (named & (p >= t))) for t in grid])
    return float(grid[np.flatnonzero(f1 >= f1.max() - 1e-9)[0]])


def calibration_maps(P, Y, named) -> dict:
    """Per category, isotonic maps from the out-of-fold probability to the observed share of texts that
    need the category: ``plain`` for texts that do not name it, ``named`` for texts that do (their own
    map, since the rule makes them needs whatever the probability). Each map is ``(xs, ys)`` for
    ``numpy.interp``; a group with fewer than ``MIN_CALIBRATION`` texts falls back to the other map."""
    out = {"plain": [], "named": []}
    for k in range(Y.shape[1]):
        for part, mask in (("plain", ~named[:, k]), ("named", named[:, k])):
            out[part].append(_isotonic(P[mask, k], Y[mask, k]) if mask.sum() >= MIN_CALIBRATION else None)
        if out["plain"][k] is None:
            out["plain"][k] = _isotonic(P[:, k], Y[:, k])
        if out["named"][k] is None:
            out["named"][k] = out["plain"][k]
    return out


def identity_calibration(k: int) -> dict:
    same = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    return {"plain": [same] * k, "named": [same] * k}


def _isotonic(p, y) -> tuple[np.ndarray, np.ndarray]:
    if len(p) == 0 or y.min() == y.max():
        share = float(y.mean()) if len(y) else 0.0
        return np.array([0.0, 1.0]), np.array([share, share])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    return iso.X_thresholds_.astype(np.float64), iso.y_thresholds_.astype(np.float64)


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


__all__ = ["IntakeClassifier", "DEFAULT_PARAMS", "best_threshold", "best_named_threshold", "domain_dictionary"]
