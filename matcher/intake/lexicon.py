"""The curated lexicon (``data/intake/lexicon.csv``): its terms found on word boundaries."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from matcher.errors import DataError
from matcher.intake.text import _THAI_CHAR, is_latin_alnum, is_thai, normalised

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


def read_lexicon(path, categories) -> list[tuple[str, str, str]]:
    """The rows (term, category, kind) of the lexicon CSV; errors name the file, line and the fix."""
    path = Path(path)
    codes = set(categories)
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["term", "category", "kind"]:
            raise DataError(f"{path}: header must be term,category,kind; got {reader.fieldnames}.",
                                field="lexicon")
        for line, row in enumerate(reader, start=2):
            term, code, kind = (row["term"] or "").strip(), row["category"], row["kind"]
            if not term or code not in codes or kind not in LEXICON_KINDS:
                raise DataError(f"{path}:{line}: bad row {row!r}; the term must be non-empty, the category "
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
