"""The province a text names (Thai or English names and everyday aliases)."""

from __future__ import annotations

import re

from matcher.intake.text import _THAI_CHAR, is_thai

_PROVINCE_PREFIX = re.compile(r"(จังหวัด|จ\.\s*|จ\s)$")
# Province names that are also everyday words (เลย "at all", ตาก "to dry", แพร่ "to spread"): only with จังหวัด/จ.
_PROVINCE_WORDS = {"เลย", "ตาก", "แพร่"}


class ProvinceFinder:
    """Finds the province a text names: Thai names (with or without จังหวัด/จ.), English names, and the
    everyday aliases of :mod:`matcher.reference` (กทม, โคราช). Short Thai names (4 characters or fewer)
    count only after จังหวัด/จ. or standing alone; short English names only capitalised."""

    def __init__(self, ref):
        from matcher.reference import PROVINCE_ALIASES
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
