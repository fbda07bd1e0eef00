"""Negation and already-done scopes: where a text denies a need or says it is done."""

from __future__ import annotations

import re
from dataclasses import dataclass

from matcher.intake.lexicon import Hit
from matcher.intake.text import is_thai


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


# "Nothing to help with" said outright, with no request after it: the visit needs nothing at all.
_NOTHING_AT_ALL = re.compile(
    r"(ยัง)?ไม่มี(อะไร|เรื่อง)(อื่น)?(ที่)?(ต้อง)?(ให้)?(ช่วย|ปรึกษา)|ไม่ต้องการอะไร|ยังไม่ต้องการ(อะไร|ความช่วยเหลือ)|"
    r"\b(nothing (else )?(for now|today|at the moment|right now)|no help (is )?needed(?! (there|on|with|for|in))|"
    r"(don't|do not) need anything|nothing (else )?(we|i) need)\b")
_MORE_AFTER = re.compile(r"แต่|ปัญหา|อยาก|ขอ(?![งบ])|ต้องการ|\b(but|problem|issue|need|want|however)\b")


def says_nothing_at_all_is_needed(text: str) -> bool:
    """Whether the normalised text says outright that there is nothing to help with, and asks for nothing
    after saying so ("ตอนนี้ยังไม่มีเรื่องให้ช่วยนะคะ ไว้มีอะไรจะแวะมาใหม่"): then no need is predicted."""
    found = list(_NOTHING_AT_ALL.finditer(text))
    return bool(found) and not _MORE_AFTER.search(text[found[-1].end():])


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
