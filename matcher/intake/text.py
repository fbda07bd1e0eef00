"""Intake text: validation, normalisation (with a map back to what was typed), Thai word segmentation
and the language of a text."""

from __future__ import annotations

import os
import re
import threading

from matcher.errors import Unprocessable

INTAKE_VERSION = "2.1"
MAX_TEXT_CHARS = 2000

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
