"""One text as the model reads it, the same at training and at run time: normalised, segmented, lexicon
hits with their negation, the needs it names outright, and the word and character n-gram terms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from matcher.intake.lexicon import Hit, Lexicon
from matcher.intake.named import is_short, named_hits, named_needs
from matcher.intake.negation import (
    Scope,
    masked_spans,
    negation_scopes,
    says_nothing_at_all_is_needed,
    says_nothing_needed,
    with_negation,
)
from matcher.intake.text import Tokenizer, normalised


@dataclass
class Analysis:
    """One text as the model sees it. ``word_terms`` and ``char_grams`` are the n-gram features (negated
    scopes left out); ``hits`` the lexicon hits (``negated`` marked); offsets are into ``norm``."""

    text: str
    norm: str
    origin: list[int]
    tokens: list[tuple[int, int]]
    hits: list[Hit]
    scopes: list[Scope]
    masked: list[tuple[int, int]]
    word_terms: list[str] = field(default_factory=list)
    word_spans: list[tuple[int, int]] = field(default_factory=list)
    char_grams: list[str] = field(default_factory=list)
    nothing_needed: bool = False
    named: list[Hit] = field(default_factory=list)
    named_needs: list[str] = field(default_factory=list)
    short: bool = False
    nothing_at_all: bool = False
    word_tfidf: tuple | None = None      # the scorer's word weights of this text, kept for the evidence

    def original(self, start: int, end: int) -> str:
        """The substring of the original text behind normalised [start, end)."""
        return self.text[self.origin[start]:self.origin[end]].strip()


_PUNCT_ONLY = re.compile(r"^[\W_]+$")
_DIGITS = re.compile(r"\d")


def analyse(text: str, tokenizer: Tokenizer, lexicon: Lexicon, *, word_ngram_max: int = 2,
            char_ngram_range: tuple[int, int] = (2, 4)) -> Analysis:
    """Read one text (see the module docstring). Complexity: O(len(text) * longest lexicon term)."""
    norm, origin = normalised(text)
    tokens = tokenizer.spans(norm)
    boundaries = {p for span in tokens for p in span}
    hits = lexicon.hits(norm, boundaries)
    named = named_hits(norm, text, origin)
    scopes = negation_scopes(norm, sorted(hits + named, key=lambda h: h.start))
    hits = with_negation(hits, scopes)
    masked = masked_spans(hits, scopes)
    a = Analysis(text, norm, origin, tokens, hits, scopes, masked)
    a.named = with_negation(named, scopes)
    a.named_needs = named_needs(a.named, norm)
    a.short = is_short(norm)
    a.nothing_needed = says_nothing_needed(norm)
    a.nothing_at_all = says_nothing_at_all_is_needed(norm)
    a.word_terms, a.word_spans = word_terms(norm, tokens, masked, word_ngram_max)
    a.char_grams = char_wb_ngrams(masked_text(norm, masked), *char_ngram_range)
    return a


def masked_text(norm: str, masked) -> str:
    chars = list(_DIGITS.sub("0", norm))
    for a, b in masked:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _is_masked(span, masked) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in masked)


def word_terms(norm: str, tokens, masked, ngram_max: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Word n-grams (1..ngram_max, joined by a space) of the tokens outside masked spans, with the span of
    each. Digits become ``#``; punctuation-only tokens are dropped."""
    kept = [(_DIGITS.sub("#", norm[a:b]), (a, b)) for a, b in tokens
            if not _is_masked((a, b), masked) and not _PUNCT_ONLY.match(norm[a:b])]
    terms, spans = [], []
    for n in range(1, ngram_max + 1):
        for i in range(len(kept) - n + 1):
            terms.append(" ".join(w for w, _ in kept[i:i + n]))
            spans.append((kept[i][1][0], kept[i + n - 1][1][1]))
    return terms, spans


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams inside space-separated chunks padded with a space, exactly as scikit-learn's
    ``analyzer="char_wb"`` makes them (without its lower-casing, done by :func:`normalised`)."""
    grams = []
    for w in text.split():
        w = f" {w} "
        for n in range(min_n, max_n + 1):
            if len(w) < n:
                break
            grams.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return grams
