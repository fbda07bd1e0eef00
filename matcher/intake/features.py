"""The feature matrix of analysed texts, for training (imports scikit-learn and scipy).

The texts' word and character n-grams are counted once (:func:`counts`); each fit (the model, and each
out-of-fold model) keeps the terms found in enough of *its* training texts and weighs them by *their*
document frequencies (:class:`TfidfBlock`), exactly as refitting scikit-learn's ``TfidfVectorizer``
(sublinear tf, smooth idf, L2 norm) on those texts would, without counting the texts again.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from matcher.intake.scorer import lexicon_features


def _word_terms(a):
    return a.word_terms


def _char_grams(a):
    return a.char_grams


def counts(analyses) -> tuple[sp.csr_matrix, list[str], sp.csr_matrix, list[str]]:
    """(word counts, word terms, character n-gram counts, n-grams) of the analysed texts."""
    words = CountVectorizer(analyzer=_word_terms, dtype=np.float64)
    chars = CountVectorizer(analyzer=_char_grams, dtype=np.float64)
    W = words.fit_transform(analyses).tocsr()
    C = chars.fit_transform(analyses).tocsr()
    return W, list(words.get_feature_names_out()), C, list(chars.get_feature_names_out())


def lexicon_matrix(analyses, categories) -> sp.csr_matrix:
    """(texts, 2 * categories + 1): LEX_c, NEG_c and NOTHING_NEEDED (see :func:`lexicon_features`)."""
    index = {c: i for i, c in enumerate(categories)}
    rows, cols, vals = [], [], []
    for i, a in enumerate(analyses):
        idx, val = lexicon_features(a, index, 1.0)
        rows += [i] * len(idx)
        cols += idx.tolist()
        vals += val.tolist()
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(analyses), 2 * len(categories) + 1))


class TfidfBlock:
    """The TF-IDF weighting of one count matrix learned from some of its rows.

    ``keep`` are the columns in at least ``min_df`` of those rows, ``idf`` their smoothed inverse document
    frequencies: ``ln((1 + n) / (1 + df)) + 1``.
    """

    def __init__(self, counts: sp.csr_matrix, rows, min_df: int):
        part = counts[rows]
        df = np.bincount(part.indices, minlength=counts.shape[1])
        self.keep = np.flatnonzero(df >= max(min_df, 1))
        self.idf = np.log((1.0 + len(rows)) / (1.0 + df[self.keep])) + 1.0

    def transform(self, counts: sp.csr_matrix, rows=None) -> sp.csr_matrix:
        """Sublinear tf times idf, L2-normalised per row, of the kept columns (of ``rows`` when given)."""
        part = (counts if rows is None else counts[rows])[:, self.keep].tocsr()
        part.data = 1.0 + np.log(part.data)
        return normalize(part @ sp.diags(self.idf), norm="l2", copy=False).tocsr()

    def vocabulary(self, terms: list[str]) -> dict:
        """{term: column} of the kept terms."""
        return {terms[j]: i for i, j in enumerate(self.keep.tolist())}
