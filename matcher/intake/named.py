"""Needs named outright: the deterministic rule layer under the learned model.

When a text names a service by its name or its agency (อย. / FDA number, GMP / HACCP, halal, มผช. / TISI,
a loan, a credit guarantee / บสย., selling online, a patent or trademark, export, organic certification),
that need is predicted whatever the learned model says, unless the text denies it or says it is done
("มีเลข อย. แล้ว", "we already have GMP"): the same negation scopes as the lexicon's hits apply.

Spelling slips are part of the rules, not of a list of known misspellings:

* Latin words match with one edit (Damerau-Levenshtein: a letter added, dropped, changed or two letters
  swapped) when the term's word has five letters or more ("guarentee", "trademak", "exprot", "orgainc"),
  except where the slip makes another ordinary word ("expert", "patient", "parent");
* Thai terms of four characters or more match on a *skeleton* of the text that forgets what Thai spellers
  most often get wrong: tone marks and the thanthakhat, long and short vowels (ุ/ู, ิ/ี, ึ/ื), final
  ร, น and ล (ร is often said and typed ล, and final น and ล sound alike), consonants of one sound (ผ/พ,
  ส/ศ/ษ, ...), and then one edit more for terms of five letters or more ("ส่งอออก", "สิทธิบัต");
* Thai abbreviations match with or without their dots and with a space between the letters (อย. อ.ย. อ ย).

The rule layer only adds needs; it never removes one. ``named_hits`` returns :class:`Hit` objects (kind
``named``) so that :func:`matcher.intake.negation.with_negation` marks the denied ones.
"""

from __future__ import annotations

import re
from functools import lru_cache

from matcher.intake.lexicon import Hit

# -- the rules -----------------------------------------------------------------------------------------------

# Latin phrases per category; a phrase's words must follow each other (spaces, hyphens or dots between).
LATIN_TERMS: dict[str, tuple[str, ...]] = {
    "fda_registration": ("fda", "thai fda", "fda number", "fda registration", "food serial number",
                         "cosmetic notification", "cosmetics notification", "food registration number"),
    "gmp_haccp": ("gmp", "haccp", "ghp", "primary gmp", "iso 22000", "brcgs", "food safety certificate",
                  "food safety certification", "food safety audit"),
    "halal_cert": ("halal", "cicot"),
    "product_standard": ("tisi", "tis mark", "community product standard", "industrial standard",
                         "thai industrial standard", "otop standard", "mor or kor"),
    "organic_cert": ("organic", "ifoam", "organic thailand"),
    "loan": ("loan", "loans", "working capital", "sme d bank", "smebank", "sme bank", "bank financing",
             "credit line", "financing", "borrow", "borrowing", "microloan"),
    "credit_guarantee": ("tcg", "credit guarantee", "loan guarantee", "guarantee corporation",
                         "guarantee scheme", "guarantor"),
    "online_marketing": ("online", "e-commerce", "ecommerce", "e commerce", "shopee", "lazada", "tiktok shop",
                         "line oa", "facebook", "instagram", "tiktok", "marketplace", "web shop", "webshop", "online store",
                         "live selling", "live stream", "livestream", "sell online", "selling online"),
    "ip_protection": ("patent", "patents", "trademark", "trademarks", "trade mark", "copyright",
                      "intellectual property", "petty patent", "design patent"),
    "export_market": ("export", "exports", "exporting", "exporter", "overseas buyer", "overseas buyers",
                      "overseas market", "overseas markets", "foreign buyer", "foreign buyers", "foreign market",
                      "foreign markets", "abroad"),
}

# Thai terms (matched on the skeleton when four characters or more).
THAI_TERMS: dict[str, tuple[str, ...]] = {
    "fda_registration": ("เลขสารบบ", "สารบบอาหาร", "ขึ้นทะเบียนอาหาร", "จดแจ้งเครื่องสำอาง", "เลขจดแจ้ง",
                         "ขึ้นทะเบียนยา", "ทะเบียนยาแผนโบราณ", "ทะเบียนผลิตภัณฑ์สมุนไพร", "สำนักงานคณะกรรมการอาหารและยา",
                         "เอฟดีเอ"),
    "gmp_haccp": ("จีเอ็มพี", "เอชเอซีซีพี", "แฮซเซป", "มาตรฐานโรงงานอาหาร", "มาตรฐานสถานที่ผลิตอาหาร",
                  "ใบรับรองความปลอดภัยอาหาร", "ความปลอดภัยอาหาร", "ความปลอดภัยของอาหาร", "จีเอชพี"),
    "halal_cert": ("ฮาลาล", "คณะกรรมการกลางอิสลาม", "คณะกรรมการอิสลาม"),
    "product_standard": ("มาตรฐานผลิตภัณฑ์ชุมชน", "มาตรฐานผลิตภัณฑ์อุตสาหกรรม", "สำนักงานมาตรฐานผลิตภัณฑ์",
                         "มาตรฐานอุตสาหกรรม", "ตรามอก"),
    "organic_cert": ("ออร์แกนิก", "ออแกนิก", "ออร์แกนิค", "ออแกนิค", "อินทรีย์", "โลโก้ออร์แกนิก"),
    "loan": ("เงินกู้", "กู้เงิน", "ขอกู้", "สินเชื่อ", "แหล่งเงินทุน", "เงินทุนหมุนเวียน", "ทุนหมุนเวียน",
             "ธนาคารพัฒนาวิสาหกิจ", "เอสเอ็มอีดีแบงก์", "เอสเอ็มอีแบงก์", "ยืมเงิน"),
    "credit_guarantee": ("บรรษัทประกันสินเชื่อ", "ค้ำประกันสินเชื่อ", "ประกันสินเชื่อ", "หาคนค้ำ", "คนค้ำ",
                         "ผู้ค้ำ", "ค้ำประกัน", "หลักทรัพย์ค้ำ"),
    "online_marketing": ("ขายออนไลน์", "ออนไลน์", "อีคอมเมิร์ซ", "ช้อปปี้", "ลาซาด้า", "ติ๊กต็อก", "ไลฟ์สด",
                         "เพจเฟซบุ๊ก", "เฟซบุ๊ก", "เฟสบุ๊ค", "ร้านค้าออนไลน์", "ยิงแอด", "ไลฟ์ขาย"),
    "ip_protection": ("สิทธิบัตร", "อนุสิทธิบัตร", "เครื่องหมายการค้า", "ทรัพย์สินทางปัญญา", "ลิขสิทธิ์",
                      "จดแบรนด์", "จดทะเบียนแบรนด์", "จดชื่อแบรนด์", "จดโลโก้", "จดสูตร"),
    "export_market": ("ส่งออก", "ตลาดต่างประเทศ", "ลูกค้าต่างประเทศ", "ผู้ซื้อต่างประเทศ", "ขายต่างประเทศ",
                      "ขายไปต่างประเทศ", "ส่งไปต่างประเทศ", "ตลาดต่างแดน", "ส่งขายต่างประเทศ", "ต่างประเทศ"),
}

# Thai abbreviations: the letters, each optionally followed by a dot and a space.
THAI_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "fda_registration": ("อย",),
    "product_standard": ("มผช", "มพช", "มอก", "สมอ"),
    "credit_guarantee": ("บสย",),
    "loan": ("ธพว",),
    "halal_cert": ("กอท",),
}

# Words a one-letter slip away from a term's word that are words of their own.
REAL_WORDS = frozenset(
    "expert experts expect expects report reports import imports support export's patient patients parent "
    "parents latent potent patently oriental organize organise organized organised organism organs "
    "loaned loaner loans' guaranteed halls hall local lonely online's onion".split())

# What may stand right before a Thai abbreviation that is glued to the word before it ("เลขอย.", "ขออย").
_ABBREVIATION_LEADS = ("เลข", "ขอ", "มี", "ได้", "ทำ", "จด", "ยื่น", "ใบ", "ตรา", "กับ", "และ", "ของ", "เรื่อง",
                       "ทะเบียน", "รับรอง", "ผ่าน", "ไม่มี", "ให้", "หา", "ติด", "อยากได้", "ต้องมี", "ช่วย")
# What may follow an abbreviation glued to the next word ("อย.ให้น้ำพริก", "อยครับ").
_ABBREVIATION_TAILS = ("ให้", "ครับ", "ค่ะ", "คะ", "นะ", "กับ", "และ", "แล้ว", "ด้วย", "หน่อย", "ยังไง", "ได้", "ไหม",
                       "มั้ย", "ก่อน", "ไม่", "ยัง", "สำหรับ", "ของ", "ที่", "หรือ", "อะไร", "เพื่อ", "ค้ำ", "ช่วย", "จ้า")

_THAI = "\u0e01-\u0e4e"
_LATIN_WORD = re.compile(r"[a-z][a-z0-9]*(?:'[a-z]+)?")
_SOUNDS = str.maketrans({"ู": "ุ", "ี": "ิ", "ื": "ึ", "ผ": "พ", "ฝ": "ฟ", "ศ": "ส", "ษ": "ส", "ซ": "ส",
                         "ฆ": "ค", "ข": "ค", "ฃ": "ค", "ฅ": "ค", "ธ": "ท", "ฑ": "ท", "ฒ": "ท", "ฐ": "ถ",
                         "ภ": "พ", "ฎ": "ด", "ฏ": "ต", "ญ": "ย", "ณ": "น", "ฬ": "ล"})


def skeleton(text: str) -> str:
    """The Thai letters of ``text`` with what spellers most often get wrong forgotten (see the module
    docstring); every other character kept, one for one, so that offsets stay those of ``text``.

    >>> skeleton("ฮาลาน") == skeleton("ฮาราล") == skeleton("ฮาลาล")
    True
    """
    out = []
    for ch in text:
        if ch in "\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e47\u0e4d":
            out.append("\u0e48")                       # one placeholder keeps the offsets
        else:
            out.append(ch.translate(_SOUNDS))
    plain = "".join(out)
    return plain.replace("ร", "ล").replace("น", "ล")


def _thai_key(term: str) -> str:
    """A Thai term as it is looked up in a skeleton with the placeholders removed."""
    return skeleton(term).replace("\u0e48", "")


def damerau_levenshtein_at_most_one(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by at most one insertion, deletion, substitution or swap of two
    neighbouring letters. Complexity: O(len(a) + len(b))."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1:] == b[i + 1:]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    if la > lb:
        return a[i + 1:] == b[i:]
    return a[i:] == b[i + 1:]


def _latin_word_matches(token: str, word: str, acronym: bool) -> bool:
    """Whether a token of the text is the term's word: the same, the word with a short ending
    ("exporting", "trademarks"), one edit away when the word has five letters or more and the token is not
    a word of its own, or, for a token typed in capitals, the acronym with two letters swapped or one
    dropped ("FAD", "TSI")."""
    if token == word or (token.startswith(word) and len(token) - len(word) <= 3 and len(word) >= 5):
        return True
    if acronym and 3 <= len(word) <= 4 and len(token) >= 3:
        return len(token) <= len(word) and damerau_levenshtein_at_most_one(token, word)
    if len(word) < 5 or token in REAL_WORDS or len(token) < 5:
        return False
    return damerau_levenshtein_at_most_one(token, word)


@lru_cache(maxsize=1)
def _latin_phrases() -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(_LATIN_WORD.findall(term)), code) for code, terms in LATIN_TERMS.items() for term in terms]


@lru_cache(maxsize=1)
def _thai_index() -> tuple[re.Pattern, dict, list]:
    """The Thai terms' keys cut in two halves (one edit leaves one half whole), and one pattern that finds
    every half, overlapping: the fast filter in front of the edit-distance check."""
    halves: dict[str, list] = {}
    for code, terms in THAI_TERMS.items():
        for term in terms:
            key = _thai_key(term)
            h = len(key) // 2
            halves.setdefault(key[:h], []).append((key, 0, code, term))
            halves.setdefault(key[h:], []).append((key, h, code, term))
    pattern = re.compile("(?=(" + "|".join(map(re.escape, sorted(halves, key=len, reverse=True))) + "))")
    return pattern, halves, sorted({len(h) for h in halves})


@lru_cache(maxsize=1)
def _abbreviation_patterns() -> tuple[re.Pattern, dict, tuple, tuple]:
    """One pattern for every abbreviation's letters (each optionally followed by a dot and a space), the
    abbreviation behind each match, and the skeletons of the words that may touch it before and after."""
    bodies = {}
    for code, abbreviations in THAI_ABBREVIATIONS.items():
        for abbreviation in abbreviations:
            key = skeleton(abbreviation)
            bodies[key] = (code, abbreviation)
    pattern = re.compile("|".join(r"\.? ?".join(map(re.escape, key)) + r"\.?"
                                  for key in sorted(bodies, key=len, reverse=True)))
    leads = tuple(skeleton(w) for w in _ABBREVIATION_LEADS)
    tails = tuple(skeleton(w) for w in _ABBREVIATION_TAILS)
    return pattern, bodies, leads, tails


# -- finding them --------------------------------------------------------------------------------------------

def named_hits(norm: str, text: str | None = None, origin: list[int] | None = None) -> list[Hit]:
    """Every place where the normalised text names a need outright, as lexicon-style hits of kind
    ``"named"`` (offsets into ``norm``), in the order of the text. ``text`` and ``origin`` (the text as
    typed and :func:`matcher.intake.text.normalised`'s map) tell which Latin words were typed in capitals.
    Complexity: O(len(norm) * rules)."""
    hits = _latin_hits(norm, text, origin)
    if re.search(f"[{_THAI}]", norm):
        plain = skeleton(norm)                         # one for one: offsets are those of norm
        hits += _abbreviation_hits(plain) + _thai_hits(plain)
    hits = [h for h in hits if not _foreign_fda(norm, h)]
    return sorted(set(hits), key=lambda h: (h.start, -h.end, h.category))


def _latin_hits(norm: str, text: str | None, origin: list[int] | None) -> list[Hit]:
    tokens = [(m.start(), m.end(), m.group(0)) for m in _LATIN_WORD.finditer(norm)]
    caps = [text is not None and origin is not None and text[origin[a]:origin[b]].isupper()
            for a, b, _ in tokens]
    out = []
    for i, (start, _, token) in enumerate(tokens):
        for words, code in _phrases_starting_with(token, caps[i]):
            j = i + len(words)
            if j > len(tokens) or not _joined(norm, tokens[i:j]):
                continue
            if all(_latin_word_matches(tok[2], w, cap) for tok, w, cap in zip(tokens[i + 1:j], words[1:],
                                                                                caps[i + 1:j])):
                out.append(Hit(start, tokens[j - 1][1], " ".join(words), code, "named"))
    return out


@lru_cache(maxsize=65536)
def _phrases_starting_with(token: str, acronym: bool) -> tuple:
    """The Latin phrases whose first word the token is (the same words recur: cached)."""
    return tuple((words, code) for words, code in _latin_phrases() if _latin_word_matches(token, words[0], acronym))


def _joined(norm: str, tokens) -> bool:
    """Whether consecutive tokens are one phrase (only spaces, hyphens or dots between them)."""
    return all(not norm[a[1]:b[0]].strip(" -.") for a, b in zip(tokens, tokens[1:]))


def _abbreviation_hits(plain: str) -> list[Hit]:
    """Thai abbreviations in the skeleton of the text that stand on their own: nothing Thai touches them,
    or only a word that may (เลขอย., อยครับ)."""
    pattern, bodies, leads, tails = _abbreviation_patterns()
    out = []
    for m in pattern.finditer(plain):
        a, b = m.start(), m.end()
        before_ok = a == 0 or not _is_thai_letter(plain[a - 1]) or plain.endswith(leads, 0, a)
        after_ok = b == len(plain) or not _is_thai_letter(plain[b]) or plain.startswith(tails, b)
        if before_ok and after_ok:
            code, abbreviation = bodies[re.sub(r"[. ]", "", m.group(0))]
            out.append(Hit(a, b, abbreviation, code, "named"))
    return out


def _is_thai_letter(ch: str) -> bool:
    return "\u0e01" <= ch <= "\u0e4e"


def _thai_hits(skeleton_text: str) -> list[Hit]:
    """Thai terms found in the skeleton of the text with at most one edit when the term has five letters
    or more (exactly otherwise). Complexity: O(len(text) * halves found)."""
    plain, where = _letters(skeleton_text)
    pattern, halves, lengths = _thai_index()
    found = {}
    for m in pattern.finditer(plain):
        for half in _prefixes_in(halves, lengths, plain, m.start()):
            for key, offset, code, term in halves[half]:
                for a, b in _windows(len(plain), m.start() - offset, len(key)):
                    if plain[a:b] == key or (len(key) >= 5 and plain[a:a + 2] == key[:2]
                                             and damerau_levenshtein_at_most_one(plain[a:b], key)):
                        found[(a, code)] = Hit(where[a], where[b - 1] + 1, term, code, "named")
                        break
    return list(found.values())


def _letters(plain: str) -> tuple[str, list[int]]:
    """The skeleton without its placeholders, and where each of its letters is in the text."""
    keep = [i for i, ch in enumerate(plain) if ch != "\u0e48"]
    return "".join(plain[i] for i in keep), keep


def _prefixes_in(halves: dict, lengths, text: str, i: int) -> list[str]:
    return [text[i:i + n] for n in lengths if text[i:i + n] in halves]


def _windows(n: int, start: int, length: int):
    """Candidate spans for a key of ``length`` letters expected at ``start``: as long, one shorter, one
    longer, and shifted by one (an edit before the half that was found)."""
    for a in (start, start - 1, start + 1):
        for size in (length, length - 1, length + 1):
            if 0 <= a and a + size <= n and size > 0:
                yield a, a + size


_FOREIGN_FDA = re.compile(r"\b(us|u\.s\.|usa|american|america|united states|china|chinese|gacc)\b[^.,;]{0,12}$")


def _foreign_fda(norm: str, hit: Hit) -> bool:
    """A foreign authority's registration ("US FDA") is export_market, not the Thai FDA."""
    return hit.category == "fda_registration" and bool(_FOREIGN_FDA.search(norm[max(0, hit.start - 30):hit.start]))


# A need named in a request: these words near the name ("อยากขอ อย.", "ห้างขอ GMP", "we still have no FDA
# number", "how to get a patent"). A named thing mentioned in passing ("ขายออนไลน์อยู่แล้ว", "we export
# to Japan and ...") is left to the learned model.
REQUEST_CUES = re.compile(
    r"อยาก|ขอ(?![งบ])|ต้องการ|ต้องมี|ต้องใช้|ต้องขอ|ต้องยื่น|ต้องจด|ช่วย|(?<!ปัญ)หา(?![กย])|ยังไม่มี|ไม่มี|ขาด|สนใจ|"
    r"สอบถาม|ถามหา|ยังไง|อย่างไร|ได้ไหม|ได้มั้ย|แนะนำ|ปรึกษา|วางแผน|ที่ไหน|ยื่น|รบกวน|เตรียม|"
    r"\b(need|needs|needed|want|wants|wanted|looking for|seek|seeking|how (to|do|can)|help|apply|applying|"
    r"require|required|requires|requirement|requirements|asks? for|asking for|please|pls|interested|"
    r"planning|would like|like to|lack|lacking|missing|without|no|still (have|has) no|register|"
    r"registering|set up|setup|advice|prepare|preparing|hoping to)\b|\?")
SHORT_TEXT = 80
CUE_BEFORE, CUE_AFTER = 60, 40
_SENTENCE_END = re.compile(r"[.!?\n]\s|[\n;]")


def is_short(norm: str) -> bool:
    """Whether the text is a short request (at most ``SHORT_TEXT`` characters): a need it names outright is
    always predicted."""
    return len(norm.strip()) <= SHORT_TEXT


def is_requested(norm: str, hit: Hit) -> bool:
    """Whether the named need is asked for: the text is short (a request on its own), or a request word
    stands within ``CUE_BEFORE`` characters before the name or ``CUE_AFTER`` after it, in its sentence."""
    if is_short(norm):
        return True
    before = norm[max(0, hit.start - CUE_BEFORE):hit.start]
    after = norm[hit.end:hit.end + CUE_AFTER]
    before = _SENTENCE_END.split(before)[-1]
    after = _SENTENCE_END.split(after)[0]
    return bool(REQUEST_CUES.search(before) or REQUEST_CUES.search(after))


def named_needs(hits, norm: str) -> list[str]:
    """The categories named by hits that are neither denied nor only mentioned in passing, in the order
    of the text."""
    out = []
    for h in hits:
        if h.kind == "named" and not h.negated and h.category not in out and is_requested(norm, h):
            out.append(h.category)
    return out
