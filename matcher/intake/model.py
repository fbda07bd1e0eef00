"""Intake: what a desk officer types (mostly Thai) -> the service categories behind it, with evidence.

``load_or_train(path, ref).classify("มีเลข อย. แล้ว แต่ห้างขอ GMP")`` returns the predicted needs (``gmp_haccp``),
each with a confidence and the phrases of the text that support it, lower-confidence candidates, the
language and the province named in the text.

How a text is read (the same steps at training and at run time, see :func:`analyse`):

1. normalise (lower case, common Thai typing slips such as ``เเ`` for ``แ``), keeping a map back to the
   original characters so that evidence is always a substring of what was typed;
2. cut Thai into words with PyThaiNLP's dictionary tokenizer (``newmm``) over a domain dictionary
   learned at training time (offline: nothing is ever downloaded);
3. find the curated lexicon's terms (``data/intake/lexicon.csv``: abbreviations such as อย., มผช., บสย.,
   symptoms such as ขึ้นรา, channels such as Shopee) on word boundaries;
4. find negation and already-done scopes ("มีเลข อย. แล้ว", "ไม่ต้องการกู้เงิน", "we already have GMP",
   "the boxes are fine"): lexicon hits inside them count as ``NEG_<code>`` features, not as needs, and the
   scopes are masked out of the word and character n-gram features.

The learned part (TF-IDF of words and character n-grams plus lexicon indicators, one logistic
regression per category, per-category thresholds chosen on out-of-fold predictions) is
:class:`matcher.intake.estimator.IntakeClassifier`. It is trained by ``flask --app api train-intake``
and saved in a compact form (:class:`LinearScorer`: plain numpy arrays) that loads and classifies
without importing scikit-learn.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

import numpy as np

from matcher.clock import now_text
from matcher.errors import DataError
from matcher.intake.analysis import Analysis
from matcher.intake.provinces import ProvinceFinder
from matcher.intake.scorer import LinearScorer
from matcher.intake.text import (
    INTAKE_VERSION,
    _offline_pythainlp,
    checked_text,
    language_of,
)

MAX_CANDIDATES = 3
CANDIDATE_FLOOR = 0.2
UNSUPPORTED_FLOOR = 0.5   # below this confidence a need with no word to show as evidence is only a candidate
MAX_EVIDENCE = 4
EVIDENCE_FLOOR = 0.1



# Words too common to show as evidence on their own.
_FUNCTION_WORDS = frozenset(
    "ได้ ไม่ มี แล้ว ที่ และ แต่ ก็ จะ ให้ ไป มา ว่า เป็น ของ คือ กับ ใน การ ความ อยาก ต้อง ทำ เรา ค่ะ ครับ คะ นะ "
    "แล้วก็ ดู เลย ด้วย อีก ตอนนี้ เขา เค้า มัน บ้าง ยัง หน่อย ช่วย แบบ อะไร ยังไง สัก ต้องการ อยากได้ ซื้อ ขาย ใช้ "
    "เอา หา ขอ ลอง ทาง เรื่อง ปัญหา ร้าน ลูกค้า ของเรา ตัว เยอะ มาก น้อย ดี ใหม่ เก่า จริง ๆ "
    "the a an we to of and is are not no our in for it be have has do with on at this that my i #".split())


_ENGLISH_COMMON = frozenset(
    "want wants need needs please help can could how what who where when get got us they them you your "
    "their would will so but or from by as was were very more some any also just first last still only "
    "really much many lot lots like make made buy sell sold year years month months week day days time "
    "new old good bad big small one two three our we're it's don't can't".split())


@functools.lru_cache(maxsize=1)
def function_words() -> frozenset:
    """Words that say nothing on their own as evidence: the list above, PyThaiNLP's Thai stopwords (a
    file inside the package, read once; nothing downloaded) and common English words."""
    _offline_pythainlp()
    from pythainlp.corpus import thai_stopwords
    return _FUNCTION_WORDS | frozenset(thai_stopwords()) | _ENGLISH_COMMON


def is_telling(term: str) -> bool:
    """Whether a word n-gram says something on its own (not only function words or numbers)."""
    words = term.split()
    common = function_words()
    return any(w not in common and len(w) >= 2 for w in words)


class IntakeModel:
    """A trained intake classifier with its provenance (``version``, ``data_hash``, ``trained_at``)."""

    def __init__(self, scorer: LinearScorer, *, data_hash: str, version: str = INTAKE_VERSION,
                 trained_at: str | None = None, info: dict | None = None, ref):
        self.scorer = scorer
        self.data_hash = data_hash
        self.version = version
        self.trained_at = trained_at or now_text()
        self.info = dict(info or {})
        self._ref = ref
        self._provinces = None
        self._place_words = None

    @property
    def categories(self) -> list[str]:
        return list(self.scorer.categories)

    def _reference(self):
        return self._ref

    def probabilities(self, text: str) -> dict:
        """{category: probability} for a text (no thresholds, no validation beyond the type)."""
        p = self.scorer.probabilities(self.scorer.analyse(checked_text(text)))
        return dict(zip(self.scorer.categories, p.tolist()))

    def predict(self, texts) -> np.ndarray:
        """(len(texts), categories) 0/1 matrix of predicted needs, for evaluation."""
        return self.predict_with_confidence(texts)[0]

    def predict_with_confidence(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """(len(texts), categories) 0/1 predicted needs and the calibrated confidence of every category."""
        out = np.zeros((len(texts), len(self.scorer.categories)), dtype=int)
        conf = np.zeros(out.shape)
        for i, text in enumerate(texts):
            a = self.scorer.analyse(text)
            p = self.scorer.probabilities(a)
            conf[i] = self.scorer.confidences(a, p)
            out[i] = self._shown(a, self.scorer.decisions(a, p), conf[i])
        return out, conf

    def _shown(self, a: Analysis, chosen, conf) -> np.ndarray:
        """The needs shown as needs: the model's decisions, less those below ``UNSUPPORTED_FLOOR`` confidence
        for which no word of the text can be shown as evidence (they are offered as candidates instead: a
        need the desk cannot see a reason for is a guess)."""
        shown = np.array(chosen, dtype=int)
        for k in np.flatnonzero(shown):
            if conf[k] < UNSUPPORTED_FLOOR and not self._evidence(a, k):
                shown[k] = 0
        return shown

    def classify(self, text) -> dict:
        """The needs a text speaks of, with evidence; see the module docstring for the response shape.

        Raises :class:`Unprocessable` (field ``text``) for empty, whitespace-only, non-string or over-long
        text. Complexity: O(len(text)).
        """
        text = checked_text(text)
        a = self.scorer.analyse(text)
        p = self.scorer.probabilities(a)
        conf = self.scorer.confidences(a, p)
        chosen = self._shown(a, self.scorer.decisions(a, p), conf)
        order = sorted(range(len(p)), key=lambda k: (-conf[k], self.scorer.categories[k]))
        needs = [self._need(a, k, conf[k]) for k in order if chosen[k]]
        candidates = [self._need(a, k, conf[k]) for k in order if not chosen[k] and conf[k] >= CANDIDATE_FLOOR]
        return {"needs": needs, "candidates": candidates[:MAX_CANDIDATES], "language": language_of(text),
                "province": self._province_finder().find(text)}

    def _province_finder(self) -> ProvinceFinder:
        if self._provinces is None:
            self._provinces = ProvinceFinder(self._reference())
        return self._provinces

    def _need(self, a: Analysis, k: int, confidence: float) -> dict:
        code = self.scorer.categories[k]
        row = self._reference().category_by_code.get(code, {})
        return {"code": code, "label_th": row.get("label_th", code), "label_en": row.get("label_en", code),
                "confidence": round(float(confidence), 3), "evidence": self._evidence(a, k)}

    def _evidence(self, a: Analysis, k: int) -> list[str]:
        """Phrases of the original text that carry category k, in the order of the text: the need named
        outright, the lexicon's terms of k (not denied), and the words that push k up most and speak for
        k rather than for every need (never a function word or a place name). Every phrase is a
        substring of the text."""
        code = self.scorer.categories[k]
        spans = [(h.start, h.end) for h in a.named + a.hits if h.category == code and not h.negated]
        if a.word_terms:
            contrib = self.scorer.word_contributions(a, k)
            for i in np.argsort(-contrib)[:MAX_EVIDENCE]:
                term = a.word_terms[i]
                if (contrib[i] > EVIDENCE_FLOOR and is_telling(term) and not self._is_place(term)
                        and self.scorer.is_specific(term, k)):
                    spans.append(a.word_spans[i])
        spans = sorted(set(spans))
        out = []
        for s, e in spans:
            if any(s >= s2 and e <= e2 for s2, e2 in spans if (s2, e2) != (s, e) and (e2 - s2) > (e - s)):
                continue
            phrase = a.original(s, e)
            if phrase and phrase not in out and phrase in a.text:
                out.append(phrase)
        return out[:MAX_EVIDENCE]

    def _is_place(self, term: str) -> bool:
        """Whether the word is (part of) a province's name: "Chiang", "เชียงใหม่"."""
        if self._place_words is None:
            words = set()
            for p in self._reference().provinces:
                words.update(w.lower() for w in p["name_en"].split())
                words.add(p["name_th"])
            self._place_words = frozenset(words)
        return term in self._place_words

    def save(self, path) -> Path:
        """Write the model to ``path`` atomically (a temporary file, then a rename)."""
        import joblib
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        joblib.dump({"format": "rismep-intake", "version": self.version, "data_hash": self.data_hash,
                     "trained_at": self.trained_at, "info": self.info, "scorer": self.scorer}, tmp)
        os.replace(tmp, path)
        return path


def load_model(path, ref) -> IntakeModel:
    """The model saved at ``path`` (no scikit-learn needed), labelled with the categories of ``ref``. Raises :class:`Unprocessable` if the file is
    not an intake model."""
    import joblib
    path = Path(path)
    if not path.exists():
        raise DataError(f"No intake model at {path}; train one with: flask --app api train-intake",
                            field="model")
    data = joblib.load(path)
    if not isinstance(data, dict) or data.get("format") != "rismep-intake":
        raise DataError(f"{path} is not an intake model; retrain with: flask --app api train-intake",
                            field="model")
    return IntakeModel(data["scorer"], data_hash=data["data_hash"], version=data["version"],
                       trained_at=data["trained_at"], info=data.get("info"), ref=ref)
