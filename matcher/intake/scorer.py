"""The compact run-time scorer: the trained model as plain numpy arrays (no scikit-learn at run time)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.intake.analysis import Analysis, analyse
from matcher.intake.lexicon import Lexicon
from matcher.intake.text import Tokenizer


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class LinearScorer:
    """The trained model as plain data: the two TF-IDF vocabularies, the lexicon-feature layout and one
    logistic regression per category. ``probabilities`` equals the estimator's ``predict_proba``."""

    categories: list[str]
    dictionary: list[str]
    lexicon_rows: list[tuple[str, str, str]]
    word_vocabulary: dict
    word_idf: np.ndarray
    char_vocabulary: dict
    char_idf: np.ndarray
    word_ngram_max: int
    char_ngram_range: tuple[int, int]
    lexicon_weight: float
    coef: np.ndarray          # (categories, features): words, then chars, then lexicon (LEX_c, NEG_c)
    intercept: np.ndarray
    thresholds: np.ndarray
    named_thresholds: np.ndarray   # the thresholds for texts that name the need outright (at most ``thresholds``)
    calibration: dict         # {"plain": [(xs, ys)] per category, "named": [(xs, ys)]}: isotonic maps
    named_rule: bool = True   # use ``named_thresholds`` for the needs a text names outright

    def __post_init__(self):
        self.tokenizer = Tokenizer(self.dictionary)
        self.lexicon = Lexicon(self.lexicon_rows)
        self.category_index = {c: i for i, c in enumerate(self.categories)}
        self._offsets = (len(self.word_vocabulary), len(self.word_vocabulary) + len(self.char_vocabulary))

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("tokenizer", "lexicon", "category_index",
                                                                        "_offsets")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__post_init__()

    def is_consistent(self) -> bool:
        """Whether the arrays fit together (a model saved by other code of the same version may not)."""
        k = len(self.categories)
        width = len(self.word_vocabulary) + len(self.char_vocabulary) + 2 * k + 1
        return (self.coef.shape == (k, width) and len(self.intercept) == len(self.thresholds) == k
                and len(self.named_thresholds) == k
                and all(len(self.calibration.get(part, ())) == k for part in ("plain", "named")))

    def analyse(self, text: str) -> Analysis:
        return analyse(text, self.tokenizer, self.lexicon, word_ngram_max=self.word_ngram_max,
                       char_ngram_range=tuple(self.char_ngram_range))

    def features(self, a: Analysis) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the sparse feature vector of one analysed text."""
        wi, wv = a.word_tfidf = tfidf(a.word_terms, self.word_vocabulary, self.word_idf)
        ci, cv = tfidf(a.char_grams, self.char_vocabulary, self.char_idf)
        li, lv = lexicon_features(a, self.category_index, self.lexicon_weight)
        return (np.concatenate([wi, ci + self._offsets[0], li + self._offsets[1]]),
                np.concatenate([wv, cv, lv]))

    def probabilities(self, a: Analysis) -> np.ndarray:
        idx, val = self.features(a)
        return _sigmoid(self.coef[:, idx] @ val + self.intercept)

    def named_mask(self, a: Analysis) -> np.ndarray:
        """(categories,) True where the text names the need outright (when the rule layer is on)."""
        mask = np.zeros(len(self.categories), dtype=bool)
        if self.named_rule:
            mask[[self.category_index[c] for c in a.named_needs if c in self.category_index]] = True
        return mask

    def decisions(self, a: Analysis, p: np.ndarray) -> np.ndarray:
        """(categories,) True for the predicted needs: at or above the threshold (the named threshold for
        the needs the text names outright), and every need a short text names outright; none at all when
        the text says outright that it needs nothing."""
        named = self.named_mask(a)
        chosen = (p >= np.where(named, self.named_thresholds, self.thresholds)) | (named & a.short)
        return chosen & (not a.nothing_at_all)

    def confidences(self, a: Analysis, p: np.ndarray) -> np.ndarray:
        """(categories,) the calibrated chance that the text needs each category: the isotonic map of the
        out-of-fold probabilities (the texts naming the need have a map of their own)."""
        named = self.named_mask(a)
        out = np.empty(len(p))
        for k, pk in enumerate(p):
            xs, ys = self.calibration["named" if named[k] else "plain"][k]
            out[k] = np.interp(pk, xs, ys)
        return out

    def word_contributions(self, a: Analysis, k: int) -> np.ndarray:
        """(len(word_terms),) how much each word n-gram pushes category ``k`` up."""
        if a.word_tfidf is None:
            a.word_tfidf = tfidf(a.word_terms, self.word_vocabulary, self.word_idf)
        idx, val = a.word_tfidf
        weight = dict(zip(idx.tolist(), (self.coef[k, idx] * val).tolist()))
        return np.array([weight.get(self.word_vocabulary.get(t, -1), 0.0) for t in a.word_terms])

    def is_specific(self, term: str, k: int, share: float = 0.5) -> bool:
        """Whether the word pushes category ``k`` up at least ``share`` of as much as it pushes the
        category it pushes most (a word that speaks for every need, such as อยากได้, is evidence of none)."""
        j = self.word_vocabulary.get(term)
        if j is None:
            return False
        column = self.coef[:, j]
        return column[k] > 0 and column[k] >= share * column.max()


def tfidf(terms: list[str], vocabulary: dict, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sublinear TF-IDF, L2-normalised, of the terms in the vocabulary (as ``TfidfVectorizer``)."""
    counts: dict[int, int] = {}
    for t in terms:
        j = vocabulary.get(t)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
    val = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[idx]
    norm = np.sqrt(val @ val)
    return idx, (val / norm if norm > 0 else val)


def lexicon_features(a: Analysis, category_index: dict, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """LEX_c at index c: ``weight * log2(1 + n)`` for n distinct terms of category c that are not denied;
    NEG_c at len(categories) + c: ``weight`` when c's terms are all denied; NOTHING_NEEDED at
    2 * len(categories): ``weight`` when the visit needs nothing."""
    k = len(category_index)
    terms: dict[int, set] = {}
    for h in a.hits:
        if not h.negated and h.category in category_index:
            terms.setdefault(category_index[h.category], set()).add(h.term.lower())
    neg = {category_index[h.category] for h in a.hits if h.negated and h.category in category_index} - set(terms)
    pos = sorted(terms)
    idx = pos + sorted(k + c for c in neg) + ([2 * k] if a.nothing_needed else [])
    val = [weight * np.log2(1 + len(terms[c])) for c in pos] + [weight] * (len(idx) - len(pos))
    return np.array(idx, dtype=np.int64), np.array(val, dtype=float)
