"""Intake: what a desk officer types (mostly Thai) -> the service categories behind it, with evidence.

``load_or_train().classify("มีเลข อย. แล้ว แต่ห้างขอ GMP")`` returns the predicted needs (``gmp_haccp``),
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
:class:`matcher.intake_features.IntakeClassifier`. It is trained by ``flask --app api train-intake``
and saved in a compact form (:class:`LinearScorer`: plain numpy arrays) that loads and classifies
without importing scikit-learn.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import Unprocessable
from .reference import DATA_DIR, load_reference

# Bump when the text analysis or the features change: saved models of another version are retrained.
INTAKE_VERSION = "1.5"
MAX_TEXT_CHARS = 2000
DEFAULT_CORPUS_DIR = DATA_DIR / "intake"
DEFAULT_MODEL_PATH = DATA_DIR / "models" / "intake.joblib"
MAX_CANDIDATES = 3
CANDIDATE_FLOOR = 0.2
MAX_EVIDENCE = 4

THAI = "\u0e00-\u0e7f"
_THAI_CHAR = re.compile(f"[{THAI}]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def is_thai(ch: str) -> bool:
    return "\u0e00" <= ch <= "\u0e7f"


def is_latin_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# ---------------------------------------------------------------------------------------------------------
# Validation and normalisation
# ---------------------------------------------------------------------------------------------------------

def checked_text(text) -> str:
    """The text if it is classifiable; otherwise :class:`Unprocessable` saying what is accepted."""
    accepted = (f"Send the enterprise's situation as a non-empty string of at most {MAX_TEXT_CHARS} "
                f"characters, in Thai or English (ส่งข้อความเล่าปัญหาของกิจการ ไม่เกิน {MAX_TEXT_CHARS} ตัวอักษร).")
    if not isinstance(text, str):
        raise Unprocessable(f"text must be a string; got {type(text).__name__}. {accepted}", field="text")
    if not text.strip():
        raise Unprocessable(f"text is empty. {accepted}", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise Unprocessable(f"text has {len(text)} characters; the limit is {MAX_TEXT_CHARS}. Shorten it to "
                            f"the enterprise's main problems. {accepted}", field="text")
    return text


# Typing slips that change the characters but not the word; applied before anything else.
_THAI_SLIPS = (("เเ", "แ"), ("\u0e4d\u0e32", "\u0e33"))
_SPACES = {ord(c): " " for c in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003"
           "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000" + "".join(_ZERO_WIDTH)}


def normalised(text: str) -> tuple[str, list[int]]:
    """The text in lower case with Thai typing slips fixed (เเ -> แ) and every space or zero-width character
    turned into a plain space, and for every character of the result the index of the character of
    ``text`` it came from (plus one past the end).

    Complexity: O(len(text)).
    """
    spaced = text.translate(_SPACES)
    plain = spaced.lower()
    if len(plain) != len(spaced):                      # a rare letter whose lower case is longer
        plain = "".join(_lower(c) for c in spaced)
    if not any(slip in plain for slip, _ in _THAI_SLIPS):
        return plain, list(range(len(text) + 1))
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(plain)
    while i < n:
        for slip, fix in _THAI_SLIPS:
            if plain.startswith(slip, i):
                out.append(fix)
                origin.append(i)
                i += len(slip)
                break
        else:
            out.append(plain[i])
            origin.append(i)
            i += 1
    origin.append(n)
    return "".join(out), origin


def _lower(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch


# ---------------------------------------------------------------------------------------------------------
# Thai word segmentation (PyThaiNLP newmm over a domain dictionary)
# ---------------------------------------------------------------------------------------------------------

def _offline_pythainlp() -> None:
    """Make PyThaiNLP read-only and offline before it is imported: it must never create its data
    folder or download a corpus at run time (the tokenizer only needs the dictionary we give it)."""
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
    os.environ.setdefault("PYTHAINLP_OFFLINE", "1")


def pythainlp_words() -> frozenset:
    """PyThaiNLP's bundled Thai word list (read from the installed package; used at training only)."""
    _offline_pythainlp()
    from pythainlp.corpus import thai_words
    return frozenset(thai_words())


class Tokenizer:
    """PyThaiNLP's dictionary-based ``newmm`` tokenizer over a given word list, with character offsets.

    The trie is built on first use (a few thousand domain words: milliseconds, versus about 0.6 s for
    PyThaiNLP's full 62,000-word dictionary).
    """

    def __init__(self, words):
        self.words = sorted(set(words))
        self._trie = None
        self._lock = threading.Lock()

    def _get_trie(self):
        if self._trie is None:
            with self._lock:
                if self._trie is None:
                    _offline_pythainlp()
                    from pythainlp.util import Trie
                    self._trie = Trie(self.words)
        return self._trie

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every non-space token of ``text``, in order.

        Same tokens as ``word_tokenize(text, engine="newmm", keep_whitespace=False)``; whitespace is kept
        while tokenising only to recover the offsets. Complexity: O(len(text)) for text of bounded words.
        """
        if not text.strip():
            return []
        _offline_pythainlp()
        from pythainlp.tokenize import word_tokenize
        out, pos = [], 0
        for token in word_tokenize(text, custom_dict=self._get_trie(), engine="newmm", keep_whitespace=True):
            start = text.find(token, pos)
            if start < 0:
                continue
            pos = start + len(token)
            if token.strip():
                out.append((start, pos))
        return out

    def __getstate__(self):
        return {"words": self.words}

    def __setstate__(self, state):
        self.__init__(state["words"])


# ---------------------------------------------------------------------------------------------------------
# The lexicon
# ---------------------------------------------------------------------------------------------------------

SHORT_THAI_TERM = 4
LEXICON_KINDS = ("abbreviation", "synonym", "symptom", "channel", "agency", "standard", "phrase")
_END = "\0"


@dataclass(frozen=True)
class Hit:
    """A lexicon term found in the normalised text at [start, end)."""

    start: int
    end: int
    term: str
    category: str
    kind: str
    negated: bool = False


def read_lexicon(path=None, categories=None) -> list[tuple[str, str, str]]:
    """The rows (term, category, kind) of the lexicon CSV; errors name the file, line and the fix."""
    path = Path(path) if path else DEFAULT_CORPUS_DIR / "lexicon.csv"
    codes = set(categories or load_reference().category_codes)
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["term", "category", "kind"]:
            raise Unprocessable(f"{path}: header must be term,category,kind; got {reader.fieldnames}.",
                                field="lexicon")
        for line, row in enumerate(reader, start=2):
            term, code, kind = (row["term"] or "").strip(), row["category"], row["kind"]
            if not term or code not in codes or kind not in LEXICON_KINDS:
                raise Unprocessable(f"{path}:{line}: bad row {row!r}; the term must be non-empty, the category "
                                    f"a taxonomy code and the kind one of {', '.join(LEXICON_KINDS)}.",
                                    field="lexicon", allowed=sorted(codes))
            rows.append((term, code, kind))
    return rows


class Lexicon:
    """The curated terms in a character trie; :meth:`hits` finds them on word boundaries.

    Latin terms are matched case-insensitively between non-alphanumeric characters; short Thai terms (up
    to four characters) must start and end on a token boundary (so อย does not match inside อย่าง, จีน
    not inside ขนมจีน), longer ones match inside words too (อินทรีย์ in ข้าวอินทรีย์). A space in a term
    matches any run of spaces, including none ("เลข อย." matches "เลขอย.").
    """

    def __init__(self, rows):
        self.rows = [tuple(r) for r in rows]
        self._trie: dict = {}
        for term, code, kind in self.rows:
            key = re.sub(r"\s+", " ", normalised(term)[0].strip())
            node = self._trie
            for ch in key:
                node = node.setdefault(ch, {})
            node.setdefault(_END, []).append((term, code, kind))

    def short_thai_terms(self) -> set[str]:
        """The Thai terms that must stand on word boundaries."""
        return {t for t in self.thai_terms() if len(t) <= SHORT_THAI_TERM}

    def thai_terms(self) -> set[str]:
        """The lexicon's Thai terms without spaces (added to the tokenizer's dictionary)."""
        return {normalised(t)[0].replace(" ", "") for t, _, _ in self.rows if _THAI_CHAR.search(t)}

    def hits(self, text: str, boundaries: set[int]) -> list[Hit]:
        """Every lexicon hit in the normalised ``text`` (the longest at each start; hits inside a longer
        hit are dropped). Complexity: O(len(text) * longest term)."""
        found = []
        first = self._trie
        for start in range(len(text)):
            if text[start] not in first:
                continue
            best = None
            for end, entries in self._walk(text, start):
                long_thai = end - start > SHORT_THAI_TERM and is_thai(text[start])
                if end > start and (best is None or end > best[0]) and (long_thai or (
                        _may_start(text, start, boundaries) and _may_end(text, end, boundaries))):
                    best = (end, entries)
            if best:
                found.extend(Hit(start, best[0], term, code, kind) for term, code, kind in best[1])
        return [h for h in found if not any(o.start <= h.start and h.end <= o.end and
                                            (o.end - o.start) > (h.end - h.start) for o in found)]

    def _walk(self, text: str, start: int):
        n = len(text)
        stack = [(self._trie, start)]
        while stack:
            node, i = stack.pop()
            if _END in node:
                yield i, node[_END]
            if " " in node:
                j = i
                while j < n and text[j] == " ":
                    j += 1
                stack.append((node[" "], j))
            if i < n and text[i] in node:
                stack.append((node[text[i]], i + 1))


def _may_start(text: str, i: int, boundaries: set[int]) -> bool:
    ch = text[i]
    if ch == " ":
        return False
    if is_latin_alnum(ch):
        return i == 0 or not is_latin_alnum(text[i - 1])
    if is_thai(ch):
        return i == 0 or not is_thai(text[i - 1]) or i in boundaries
    return True


def _may_end(text: str, i: int, boundaries: set[int]) -> bool:
    last = text[i - 1]
    if i == len(text):
        return True
    if is_latin_alnum(last):
        return not is_latin_alnum(text[i])
    if is_thai(last):
        return not is_thai(text[i]) or i in boundaries
    return True


# ---------------------------------------------------------------------------------------------------------
# Negation and already-done scopes
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """[start, end) of the normalised text where needs are denied.

    ``kind`` is ``"done"`` (something the enterprise already has: negates certifications, channels and
    the like but not symptoms, since "มีราขึ้นแล้ว" is a problem, not an achievement) or ``"not_needed"``
    (explicitly not wanted: negates every hit).
    """

    start: int
    end: int
    kind: str


def _alternation(words) -> re.Pattern:
    """One pattern matching any of the words, the longest first where several start at the same place."""
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))


_STRONG_BREAK = re.compile(r"[\n,;:!?()\[\]\"“”]|(?<=[a-z0-9)])\.(?=\s|$)|…|\s-\s")
_THAI_CONNECTIVES = ("แต่", "เพราะ", "ส่วน", "ตอนนี้", "ปัญหาคือ", "ที่อยาก", "ที่ยัง", "เหลือแค่", "แค่อยาก",
                     "อยากได้", "อยากให้", "ขอแค่", "วันนี้")
_ENGLISH_BREAK = re.compile(r"\b(but|however|so|because|although|though|while|instead|now we|what we need|"
                            r"we need|we want|the problem|our problem|the issue is)\b")

# Thai triggers that deny what follows them in the clause (or, when nothing follows, what precedes).
_THAI_DENY = ("ไม่ได้ต้องการ", "ไม่ต้องการ", "ไม่ต้องช่วย", "ไม่ต้องห่วง", "ไม่ต้องทำ", "ไม่ต้อง", "ไม่ได้อยากได้",
              "ไม่ได้อยาก", "ไม่อยากได้", "ไม่ได้สนใจ", "ไม่สนใจ", "ไม่จำเป็น", "ไม่ได้ขอ", "ไม่ขอ", "ไม่เอา",
              "ไม่ได้มีปัญหา", "ไม่มีปัญหา", "ไม่ได้ติด", "ไม่ติด", "ไม่ห่วง", "ไม่ได้มาเรื่อง", "ไม่ได้มาขอ",
              "ไม่ได้มาปรึกษา", "ไม่ได้ขาด", "ไม่ขาด", "ไม่ใช่ปัญหา", "ไม่เป็นปัญหา", "ไม่ได้เป็นปัญหา",
              "ไม่เกี่ยวกับ", "ไม่ใช่เรื่อง", "ไม่อยาก")
# Thai words that close a clause as settled: deny what precedes them in the clause.
_THAI_SETTLED = ("โอเคหมด", "โอเคแล้ว", "โอเค", "เรียบร้อยแล้ว", "เรียบร้อยดี", "เรียบร้อย", "ดีอยู่แล้ว",
                 "ดีอยู่", "ดีแล้ว", "จบแล้ว", "ครบแล้ว", "ลงตัวแล้ว", "ผ่านแล้ว", "อยู่แล้ว", "มีแล้ว")
_TOPIC = ("", "เรื่อง", "ด้าน", "ในเรื่อง", "เกี่ยวกับ", "เรื่องของ", "ทาง", "กับ")
_THAI_DENY_RE = _alternation(_THAI_DENY)
_THAI_SETTLED_RE = _alternation(_THAI_SETTLED)
_THAI_CONNECTIVES_RE = _alternation(_THAI_CONNECTIVES)
_THAI_DONE = "แล้ว"
_THAI_ACHIEVED = ("ได้", "มี", "ผ่าน", "จด", "ทำ")
# A clause containing one of these before แล้ว is not an achievement ("ยังไม่มี อย. แล้ว...").
_THAI_DONE_VETO = ("ยังไม่", "ไม่มี", "ไม่ได้", "ไม่รู้", "ไม่เป็น", "ไม่ผ่าน", "ไม่ทัน", "ไม่ไหว", "ไม่พอ", "อยาก",
                   "ต้องการ", "ปัญหา", "ช่วย", "กลัว", "หมดอายุ", "เสีย", "พัง", "ขอ", "หา", "ลอง", "เคย", "กำลัง",
                   "จะ", "ถ้า")
_ENGLISH_DENY = re.compile(
    r"\b(no need (for|to)|(do not|don't|dont|does not|doesn't|did not|didn't) (really )?(need|want|require)|"
    r"not (looking|asking|interested|here) (for|in|about)|not asking|no interest in|nothing to do with|"
    r"not about|not after|without needing)\b")
_ENGLISH_HAVE = re.compile(
    r"\b(already (have|has|hold|holds|got|use|run|sell|sells|list|do)|already|we('ve| have)? (already )?"
    r"(got|have|hold)|we've)\b")
_ENGLISH_HAVE_VETO = re.compile(r"^\s*(no|not|nothing|a problem|problems|trouble|an issue|issues|difficulty|"
                                r"to|only|just|never|little|few|limited|too)\b")
_ENGLISH_SETTLED = re.compile(
    r"\b((is|are|was|were)( all| already)? (fine|ok|okay|done|sorted|good|settled|covered|in place|"
    r"taken care of|not (the|an|a|our) (issue|problem|concern))|(is|are) no (problem|issue)|"
    r"(is|are|was|were|has been|have been|got) (already )?(done|sorted|certified|registered|approved|"
    r"granted|renewed)|came through|went through|already)\b")


def clause_spans(text: str) -> list[tuple[int, int]]:
    """The clauses of the normalised text: split at punctuation, at a space between two Thai characters
    (Thai writes sentences without spaces and puts one between clauses), before Thai and English
    connectives such as แต่ / but. Complexity: O(len(text))."""
    cuts = {0, len(text)}
    for m in _STRONG_BREAK.finditer(text):
        cuts.update((m.start(), m.end()))
    for i in _thai_spaces(text):
        before, after = text[:i].rsplit(" ", 1)[-1], text[i + 1:].split(" ", 1)[0]
        if len(before) >= 4 and len(after) >= 5:        # not around a short word: "มีเลข อย. แล้ว"
            cuts.add(i)
    for m in _THAI_CONNECTIVES_RE.finditer(text):
        cuts.add(m.start())
    for m in _ENGLISH_BREAK.finditer(text):
        cuts.add(m.start())
    for m in _THAI_DENY_RE.finditer(text):                # "ไม่ได้อยากได้" is one trigger, not two clauses
        cuts -= set(range(m.start() + 1, m.end()))
    ordered = sorted(cuts)
    return [(a, b) for a, b in zip(ordered, ordered[1:]) if text[a:b].strip()]


def _thai_spaces(text: str) -> list[int]:
    """Positions of the spaces between two Thai characters."""
    return [i for i, ch in enumerate(text) if ch == " " and 0 < i < len(text) - 1 and is_thai(text[i - 1])
            and is_thai(text[i + 1])]


def _clause_at(clauses, i: int) -> tuple[int, int]:
    for a, b in clauses:
        if a <= i < b:
            return a, b
    return i, i


def negation_scopes(text: str, hits: list[Hit]) -> list[Scope]:
    """Where the normalised text denies needs: "ไม่ต้องการกู้เงิน", "มีเลข อย. แล้ว", "เรื่องพลังงานไม่มีปัญหา",
    "we already have GMP", "we don't need a loan", "the boxes are fine". Complexity: O(len(text) * triggers).
    """
    clauses = clause_spans(text)
    scopes = []
    scopes += _thai_deny_scopes(text, clauses, hits)
    scopes += _thai_settled_scopes(text, clauses)
    scopes += _thai_done_scopes(text, clauses)
    scopes += _english_scopes(text, clauses)
    return scopes


def _has_hit(hits, a: int, b: int) -> bool:
    return any(a <= h.start < b for h in hits)


def _thai_deny_scopes(text, clauses, hits) -> list[Scope]:
    out = []
    for m in _THAI_DENY_RE.finditer(text):
        if any(h.start <= m.start() and m.end() <= h.end for h in hits):
            continue                           # part of a term: "ซีลไม่ติด" is a symptom, not a denial
        a, b = _clause_at(clauses, m.start())
        end = b
        if not _has_hit(hits, m.end(), end):   # "ไม่มีปัญหาเรื่อง อย.": the object is in the next clause
            nxt = [c for c in clauses if c[0] >= b]
            if nxt and _has_hit(hits, nxt[0][0], nxt[0][1]) and text[m.end():nxt[0][0]].strip() in _TOPIC:
                end = nxt[0][1]
        if _has_hit(hits, m.end(), end):
            out.append(Scope(m.start(), end, "not_needed"))
        else:                                  # "เรื่องมาตรฐานไม่ต้องแล้ว": the object came first
            out.append(Scope(a, m.end(), "not_needed"))
    return out


def _thai_settled_scopes(text, clauses) -> list[Scope]:
    out = []
    for m in _THAI_SETTLED_RE.finditer(text):
        word = m.group(0)
        a, b = _clause_at(clauses, m.start())
        if word.startswith("โอเค") and not text[m.end():b].strip(" ครับค่ะคะนะจ้า"):
            out.append(Scope(a, m.end(), "not_needed"))
        elif word.startswith("โอเค"):            # "โอเคหมดครับเรื่องสิ่งแวดล้อม": what follows is settled
            out.append(Scope(m.start(), b, "not_needed"))
        else:
            out.append(Scope(a, m.end(), "done"))
    return out


def _thai_done_scopes(text, clauses) -> list[Scope]:
    """"ได้ฮาลาลแล้ว", "ติดโซลาร์เซลล์ไปแล้ว": the clause up to แล้ว, unless it speaks of a lack or a wish."""
    out = []
    for m in re.finditer(_THAI_DONE, text):
        if text[max(0, m.start() - 3):m.start()].endswith("ที่"):       # เดือนที่แล้ว = last month
            continue
        after = text[m.end():m.end() + 16].lstrip()
        if re.match(r"(ก็)?(ยัง)?ไม่", after) and not _THAI_DENY_RE.match(after):   # "มาแล้วไม่ผ่าน"
            continue
        a, _ = _clause_at(clauses, m.start())
        before = text[a:m.start()]
        if not before.strip() or any(v in before for v in _THAI_DONE_VETO):
            continue
        out.append(Scope(_enumeration_start(text, clauses, a), m.end(), "done"))
    return out


def _enumeration_start(text, clauses, a: int) -> int:
    """Where a list of achievements ending at clause ``a`` begins: "ได้ อย. ได้ฮาลาล มีห้างรับแล้ว"."""
    previous = [c for c in clauses if c[1] <= a]
    while previous:
        b0, b1 = previous.pop()
        item = re.sub(r"^(ของเรา|ทางเรา|เรา|ตอนนี้|ก็)", "", text[b0:b1].strip())
        if not item.startswith(_THAI_ACHIEVED) or any(v in item for v in _THAI_DONE_VETO):
            break
        a = b0
    return a


def _english_scopes(text, clauses) -> list[Scope]:
    out = []
    for m in _ENGLISH_DENY.finditer(text):
        _, b = _clause_at(clauses, m.start())
        out.append(Scope(m.start(), max(b, m.end()), "not_needed"))
    for m in _ENGLISH_HAVE.finditer(text):
        if _ENGLISH_HAVE_VETO.match(text[m.end():]):
            continue
        _, b = _clause_at(clauses, m.start())
        out.append(Scope(m.start(), max(b, m.end()), "done"))
    for m in _ENGLISH_SETTLED.finditer(text):
        a, b = _clause_at(clauses, m.start())
        rest = text[m.end():b].strip(" .")
        if m.group(0) == "already" and rest:           # "already" followed by its object: handled above
            continue
        out.append(Scope(a, m.end(), "done" if "already" in m.group(0) else "not_needed"))
    return out


_NOTHING_NEEDED = re.compile(
    r"ไม่มีอะไร(ให้|ต้อง)?(ช่วย|ปรึกษา|ติด)?|ไม่มีเรื่องอื่น|แค่แวะ|แวะมา|มาแจ้งให้ทราบ|เฉยๆ|ขอบคุณ|มาเล่า|ความคืบหน้า|"
    r"ติดต่อกลับ|ถามทาง|ไม่ต้องการอะไร|ยังไม่มีอะไร|\b(nothing (else|urgent|more|for now)|just (wanted|came|dropped|"
    r"stopped)|thank(s| you)|no help needed|follow(ing)?[- ]up|an update|progress)\b")


def says_nothing_needed(text: str) -> bool:
    """Whether the normalised text says the visit needs nothing ("แค่แวะมาขอบคุณ", "nothing else for now")."""
    return bool(_NOTHING_NEEDED.search(text))


def with_negation(hits: list[Hit], scopes: list[Scope]) -> list[Hit]:
    """The hits, those inside a scope that applies to them marked ``negated``."""
    out = []
    for h in hits:
        denied = any(s.start <= h.start < s.end and (s.kind == "not_needed" or h.kind != "symptom")
                     for s in scopes)
        out.append(Hit(h.start, h.end, h.term, h.category, h.kind, denied) if denied else h)
    return out


def masked_spans(hits: list[Hit], scopes: list[Scope]) -> list[tuple[int, int]]:
    """The parts of the text left out of the n-gram features: scopes that deny something (a "done"
    scope only when it holds a non-symptom hit), minus the symptoms a "done" scope does not deny."""
    spans = []
    for s in scopes:
        inside = [h for h in hits if s.start <= h.start < s.end]
        if s.kind == "done" and not any(h.kind != "symptom" for h in inside):
            continue
        cuts = [(h.start, h.end) for h in inside if s.kind == "done" and h.kind == "symptom"]
        pos = s.start
        for a, b in sorted(cuts):
            if a > pos:
                spans.append((pos, a))
            pos = max(pos, b)
        if pos < s.end:
            spans.append((pos, s.end))
    return spans


# ---------------------------------------------------------------------------------------------------------
# Analysis of one text: what both training and classification see
# ---------------------------------------------------------------------------------------------------------

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
    scopes = negation_scopes(norm, hits)
    hits = with_negation(hits, scopes)
    masked = masked_spans(hits, scopes)
    a = Analysis(text, norm, origin, tokens, hits, scopes, masked)
    a.nothing_needed = says_nothing_needed(norm)
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


# ---------------------------------------------------------------------------------------------------------
# Language and province
# ---------------------------------------------------------------------------------------------------------

def language_of(text: str) -> str:
    """ "th", "en" or "mixed", from the share of Thai and Latin letters. Latin acronyms inside Thai text
    (GMP, OTOP, อย. with SME D Bank) count for little: "มีเลข อย. แล้ว แต่ห้างขอ GMP" is Thai."""
    thai = sum(1 for ch in text if "\u0e01" <= ch <= "\u0e5b")
    latin = 0.0
    for word in _LATIN_WORD.findall(text):
        latin += len(word) * (0.3 if word.isupper() or len(word) <= 2 else 1.0)
    if thai == 0:
        return "en" if latin else "th"
    if latin == 0:
        return "th"
    share = latin / (latin + thai)
    if share < 0.2:
        return "th"
    if share > 0.85:
        return "en"
    return "mixed"


_PROVINCE_PREFIX = re.compile(r"(จังหวัด|จ\.\s*|จ\s)$")
# Province names that are also everyday words (เลย "at all", ตาก "to dry", แพร่ "to spread"): only with จังหวัด/จ.
_PROVINCE_WORDS = {"เลย", "ตาก", "แพร่"}


class ProvinceFinder:
    """Finds the province a text names: Thai names (with or without จังหวัด/จ.), English names, and the
    everyday aliases of :mod:`matcher.reference` (กทม, โคราช). Short Thai names (4 characters or fewer)
    count only after จังหวัด/จ. or standing alone; short English names only capitalised."""

    def __init__(self, ref=None):
        ref = ref or load_reference()
        from .reference import PROVINCE_ALIASES
        names = []
        for p in ref.provinces:
            names.append((p["name_th"], p["code"]))
            names.append((p["name_en"], p["code"]))
            names.append((p["name_en"].replace(" ", ""), p["code"]))
        self.aliases = {alias.lower() for alias in PROVINCE_ALIASES}
        names += list(PROVINCE_ALIASES.items())
        self.code_of = {name.lower(): code for name, code in names}
        self.name_of = {name.lower(): name for name, _ in names}
        ordered = sorted(self.code_of, key=len, reverse=True)
        self._pattern = re.compile("(?=(" + "|".join(map(re.escape, ordered)) + "))")

    def find(self, text: str) -> str | None:
        """The ISO code of the province named first (one after จังหวัด/จ. wins), or None.
        Complexity: O(len(text)) regular-expression scan."""
        found = []
        low = text.lower() if len(text.lower()) == len(text) else text
        for m in self._pattern.finditer(low):
            key = m.group(1)
            start, end = m.start(1), m.start(1) + len(key)
            ok, strong = self._accept(text, self.name_of[key], start, end)
            if ok:
                found.append((not strong, start, self.code_of[key]))
        return min(found)[2] if found else None

    def _accept(self, text: str, name: str, start: int, end: int) -> tuple[bool, bool]:
        prefixed = bool(_PROVINCE_PREFIX.search(text[max(0, start - 8):start]))
        if _THAI_CHAR.search(name) and name.lower() in self.aliases:     # กทม, โคราช: nothing else is spelt so
            return True, prefixed
        if _THAI_CHAR.search(name):
            if prefixed:
                return True, True
            if name in _PROVINCE_WORDS:
                return False, False
            alone = (start == 0 or not is_thai(text[start - 1])) and (end == len(text) or not is_thai(text[end]))
            if len(name) <= 4 and not alone:
                return False, False
            if text.startswith("ต่าง", max(0, start - 4)) and name.startswith("จังหวัด"):
                return False, False
            return True, False
        if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
            return False, False
        if len(name) <= 5 and not text[start].isupper() and name.lower() not in self.aliases:
            return False, False
        return True, bool(re.search(r"province\s*$|^\s*province", text[max(0, start - 10):start].lower()))


# ---------------------------------------------------------------------------------------------------------
# The compact run-time scorer
# ---------------------------------------------------------------------------------------------------------

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
        return self.coef.shape == (k, width) and len(self.intercept) == len(self.thresholds) == k

    def analyse(self, text: str) -> Analysis:
        return analyse(text, self.tokenizer, self.lexicon, word_ngram_max=self.word_ngram_max,
                       char_ngram_range=tuple(self.char_ngram_range))

    def features(self, a: Analysis) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the sparse feature vector of one analysed text."""
        wi, wv = tfidf(a.word_terms, self.word_vocabulary, self.word_idf)
        ci, cv = tfidf(a.char_grams, self.char_vocabulary, self.char_idf)
        li, lv = lexicon_features(a, self.category_index, self.lexicon_weight)
        return (np.concatenate([wi, ci + self._offsets[0], li + self._offsets[1]]),
                np.concatenate([wv, cv, lv]))

    def probabilities(self, a: Analysis) -> np.ndarray:
        idx, val = self.features(a)
        return _sigmoid(self.coef[:, idx] @ val + self.intercept)

    def word_contributions(self, a: Analysis, k: int) -> np.ndarray:
        """(len(word_terms),) how much each word n-gram pushes category ``k`` up."""
        idx, val = tfidf(a.word_terms, self.word_vocabulary, self.word_idf)
        weight = dict(zip(idx.tolist(), (self.coef[k, idx] * val).tolist()))
        return np.array([weight.get(self.word_vocabulary.get(t, -1), 0.0) for t in a.word_terms])


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




# ---------------------------------------------------------------------------------------------------------
# The model: classify, save, load
# ---------------------------------------------------------------------------------------------------------

def rescaled(p: float, threshold: float) -> float:
    """A probability mapped so that the category's threshold reads 0.5: needs (at or above their
    threshold) have confidence >= 0.5 and candidates below it < 0.5, on one scale for all categories."""
    t = min(max(threshold, 1e-6), 1 - 1e-6)
    return 0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / (1 - t)


# Words too common to show as evidence on their own.
_FUNCTION_WORDS = frozenset(
    "ได้ ไม่ มี แล้ว ที่ และ แต่ ก็ จะ ให้ ไป มา ว่า เป็น ของ คือ กับ ใน การ ความ อยาก ต้อง ทำ เรา ค่ะ ครับ คะ นะ "
    "แล้วก็ ดู เลย ด้วย อีก ตอนนี้ เขา เค้า มัน บ้าง ยัง หน่อย ช่วย แบบ อะไร ยังไง "
    "the a an we to of and is are not no our in for it be have has do with on at this that my i #".split())


_ENGLISH_COMMON = frozenset(
    "want wants need needs please help can could how what who where when get got us they them you your "
    "their would will so but or from by as was were very more some any also just".split())


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
                 trained_at: str | None = None, info: dict | None = None, ref=None):
        self.scorer = scorer
        self.data_hash = data_hash
        self.version = version
        self.trained_at = trained_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.info = dict(info or {})
        self._ref = ref
        self._provinces = None

    @property
    def categories(self) -> list[str]:
        return list(self.scorer.categories)

    def _reference(self):
        if self._ref is None:
            self._ref = load_reference()
        return self._ref

    def probabilities(self, text: str) -> dict:
        """{category: probability} for a text (no thresholds, no validation beyond the type)."""
        p = self.scorer.probabilities(self.scorer.analyse(checked_text(text)))
        return dict(zip(self.scorer.categories, p.tolist()))

    def predict(self, texts) -> np.ndarray:
        """(len(texts), categories) 0/1 matrix of predicted needs, for evaluation."""
        out = np.zeros((len(texts), len(self.scorer.categories)), dtype=int)
        for i, text in enumerate(texts):
            p = self.scorer.probabilities(self.scorer.analyse(text))
            out[i] = p >= self.scorer.thresholds
        return out

    def classify(self, text) -> dict:
        """The needs a text speaks of, with evidence; see the module docstring for the response shape.

        Raises :class:`Unprocessable` (field ``text``) for empty, whitespace-only, non-string or over-long
        text. Complexity: O(len(text)).
        """
        text = checked_text(text)
        a = self.scorer.analyse(text)
        p = self.scorer.probabilities(a)
        conf = np.array([rescaled(float(pi), float(t)) for pi, t in zip(p, self.scorer.thresholds)])
        order = sorted(range(len(p)), key=lambda k: (-conf[k], self.scorer.categories[k]))
        needs = [self._need(a, k, conf[k]) for k in order if conf[k] >= 0.5]
        candidates = [self._need(a, k, conf[k]) for k in order if CANDIDATE_FLOOR <= conf[k] < 0.5]
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
        """Phrases of the original text behind category k: its lexicon hits, then the words that push it up
        most. Every phrase is a substring of the text."""
        code = self.scorer.categories[k]
        spans = [(h.start, h.end) for h in sorted(a.hits, key=lambda h: h.start)
                 if h.category == code and not h.negated]
        if a.word_terms:
            contrib = self.scorer.word_contributions(a, k)
            for i in np.argsort(-contrib)[:MAX_EVIDENCE]:
                if contrib[i] > 0.05 and is_telling(a.word_terms[i]):
                    spans.append(a.word_spans[i])
        out = []
        for s, e in spans:
            if any(s >= s2 and e <= e2 for s2, e2 in spans if (s2, e2) != (s, e) and (e2 - s2) > (e - s)):
                continue
            phrase = a.original(s, e)
            if phrase and phrase not in out and phrase in a.text:
                out.append(phrase)
        return out[:MAX_EVIDENCE]

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


def load_model(path) -> IntakeModel:
    """The model saved at ``path`` (no scikit-learn needed). Raises :class:`Unprocessable` if the file is
    not an intake model."""
    import joblib
    path = Path(path)
    if not path.exists():
        raise Unprocessable(f"No intake model at {path}; train one with: flask --app api train-intake",
                            field="model")
    data = joblib.load(path)
    if not isinstance(data, dict) or data.get("format") != "rismep-intake":
        raise Unprocessable(f"{path} is not an intake model; retrain with: flask --app api train-intake",
                            field="model")
    return IntakeModel(data["scorer"], data_hash=data["data_hash"], version=data["version"],
                       trained_at=data["trained_at"], info=data.get("info"))


# ---------------------------------------------------------------------------------------------------------
# The corpus, training and evaluation
# ---------------------------------------------------------------------------------------------------------

CORPUS_COLUMNS = ["id", "text", "labels", "lang", "split"]
# train: learned from. dev: written in another style, used to choose settings, then learned from too.
# test: written independently of the rest; only ever scored (data/intake/README.md, "The splits").
SPLITS = ("train", "dev", "test")
TRAINING_SPLITS = ("train", "dev")


def corpus_files(corpus_dir=None) -> list[Path]:
    """The corpus files ``corpus_*.csv`` of ``corpus_dir`` (default ``data/intake``), sorted by name."""
    base = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    return sorted(base.glob("corpus_*.csv"), key=lambda p: p.name)


def corpus_hash(corpus_dir=None) -> str:
    """SHA-256 of the training data: the bytes of every corpus file in name order, then lexicon.csv."""
    base = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    digest = hashlib.sha256()
    for path in corpus_files(base) + [base / "lexicon.csv"]:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def read_corpus(corpus_dir=None, categories=None) -> list[dict]:
    """Every row of every corpus file: {id, text, labels (list), lang, split, file}. Errors name the file,
    the row and the fix."""
    codes = set(categories or load_reference().category_codes)
    rows, seen = [], set()
    files = corpus_files(corpus_dir)
    if not files:
        raise Unprocessable(f"No corpus_*.csv files in {corpus_dir or DEFAULT_CORPUS_DIR}.", field="corpus")
    for path in files:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != CORPUS_COLUMNS:
                raise Unprocessable(f"{path.name}: header must be {','.join(CORPUS_COLUMNS)}; got "
                                    f"{reader.fieldnames}.", field="corpus")
            for row in reader:
                rows.append(_corpus_row(path, row, codes, seen))
    return rows


def _corpus_row(path: Path, row: dict, codes: set, seen: set) -> dict:
    labels = (row.get("labels") or "").split()
    bad = [c for c in labels if c not in codes]
    where = f"{path.name} row {row.get('id')!r}"
    if bad:
        raise Unprocessable(f"{where}: unknown label(s) {', '.join(bad)}; use taxonomy codes.", field="corpus",
                            allowed=sorted(codes))
    if row.get("split") not in SPLITS:
        raise Unprocessable(f"{where}: split must be one of {', '.join(SPLITS)}; got {row.get('split')!r}.",
                            field="corpus")
    if not (row.get("text") or "").strip():
        raise Unprocessable(f"{where}: empty text.", field="corpus")
    if row["id"] in seen:
        raise Unprocessable(f"{where}: duplicate id.", field="corpus")
    seen.add(row["id"])
    return {"id": row["id"], "text": row["text"], "labels": labels, "lang": row.get("lang") or "",
            "split": row["split"], "file": path.name}


def label_matrix(rows: list[dict], categories: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(categories)}
    Y = np.zeros((len(rows), len(categories)), dtype=int)
    for i, row in enumerate(rows):
        for code in row["labels"]:
            Y[i, index[code]] = 1
    return Y


def train_model(corpus_dir=None, *, seed: int = 0, ref=None, splits=TRAINING_SPLITS) -> IntakeModel:
    """Fit the classifier on the corpus's train and dev splits (the test split is never seen) and wrap it
    with the training data's hash. Takes about a minute. ``splits=("train",)`` leaves the dev split out,
    to score it (``evaluate_model(..., dev=True)``)."""
    if "test" in splits:
        raise ValueError("the test split is never trained on")
    from .intake_features import IntakeClassifier, DEFAULT_PARAMS
    base = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS_DIR
    ref = ref or load_reference()
    categories = list(ref.category_codes)
    data_hash = corpus_hash(base)
    rows = [r for r in read_corpus(base, categories) if r["split"] in splits]
    lexicon = read_lexicon(base / "lexicon.csv", categories)
    start = time.perf_counter()
    est = IntakeClassifier(categories=categories, lexicon=lexicon, random_state=seed, **DEFAULT_PARAMS)
    est.fit([r["text"] for r in rows], label_matrix(rows, categories))
    info = {"train_rows": len(rows), "splits": list(splits), "seconds": round(time.perf_counter() - start, 2),
            "seed": seed,
            "params": est.get_params(deep=False) | {"lexicon": f"{len(lexicon)} rows"},
            "corpus_files": [p.name for p in corpus_files(base)],
            "thresholds": dict(zip(categories, np.round(est.thresholds_, 3).tolist()))}
    return IntakeModel(est.to_scorer(), data_hash=data_hash, info=info, ref=ref)


_TRAIN_LOCK = threading.Lock()


def load_or_train(model_path=None, corpus_dir=None) -> IntakeModel:
    """The saved model if it exists, is of this version and was trained on the current corpus (same
    ``data_hash``); otherwise train one and save it (atomically) at ``model_path``
    (default ``data/models/intake.joblib``)."""
    path = Path(model_path) if model_path else DEFAULT_MODEL_PATH
    with _TRAIN_LOCK:
        model = current_saved_model(path, corpus_dir)
        if model is None:
            model = train_model(corpus_dir)
            model.save(path)
        return model


def current_saved_model(model_path=None, corpus_dir=None) -> IntakeModel | None:
    """The model saved at ``model_path`` if it is of this version and was trained on the current corpus;
    None if it is missing, unreadable, of another version or stale."""
    path = Path(model_path) if model_path else DEFAULT_MODEL_PATH
    if not path.exists():
        return None
    try:
        model = load_model(path)
    except Exception:  # noqa: BLE001 - an unreadable or foreign file counts as missing
        return None
    if (model.data_hash == corpus_hash(corpus_dir) and model.version == INTAKE_VERSION
            and model.scorer.is_consistent()):
        return model
    return None


def evaluate_model(model: IntakeModel, corpus_dir=None, *, cv_folds: int = 5, seed: int = 0,
                   dev: bool = False) -> dict:
    """How well the model does on the held-out test split (micro and macro F1, per-category precision,
    recall, F1 and support, the most frequent confusions, per-language macro F1, false needs on texts
    with no need), plus ``cv_folds``-fold cross-validation of the same training on the training splits.
    ``dev=True`` adds the dev split scored by a model trained on the train split alone."""
    from .intake_features import cross_validate, multilabel_report, nearest_overlap
    categories = model.categories
    rows = read_corpus(corpus_dir, categories)
    test = [r for r in rows if r["split"] == "test"]
    train = [r for r in rows if r["split"] in TRAINING_SPLITS]
    Y, P = label_matrix(test, categories), model.predict([r["text"] for r in test])
    report = {"model": {"version": model.version, "data_hash": model.data_hash, "trained_at": model.trained_at},
              "test": multilabel_report(Y, P, categories, langs=[r["lang"] for r in test],
                                        ids=[r["id"] for r in test])}
    report["test"]["nearest_training_overlap"] = nearest_overlap([r["text"] for r in test],
                                                                 [r["text"] for r in train])
    if cv_folds and cv_folds > 1:
        lexicon = read_lexicon(Path(corpus_dir or DEFAULT_CORPUS_DIR) / "lexicon.csv", categories)
        report["cross_validation"] = cross_validate([r["text"] for r in train], label_matrix(train, categories),
                                                    categories, lexicon, folds=cv_folds, seed=seed)
    if dev:
        rows_dev = [r for r in rows if r["split"] == "dev"]
        without_dev = train_model(corpus_dir, seed=seed, splits=("train",))
        report["dev"] = multilabel_report(label_matrix(rows_dev, categories),
                                          without_dev.predict([r["text"] for r in rows_dev]), categories,
                                          langs=[r["lang"] for r in rows_dev], ids=[r["id"] for r in rows_dev])
    return report
