"""Text hygiene at the boundary: what callers type is checked and normalised once, where it comes in.

- Control characters (NUL, escapes, bidirectional overrides) are refused: they would end up in exports and
  pages. Long free text may keep line breaks and tabs.
- Unicode NFC, then Thai typing order (PyThaiNLP's ``reorder_vowels``): a decomposed sara am
  (``ลําปาง``, nikhahit + sara aa) becomes ``ลำปาง``, and tone marks typed after a vowel go before it, so
  the same word is stored, compared and found the same way however it was typed.
- The 13-digit Thai national or tax id must carry a valid check digit (python-stdnum's ``th.tin``).
"""

from __future__ import annotations

import os
import re
import unicodedata

from matcher.errors import Unprocessable

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ID_SEPARATORS = re.compile(r"[\s\-]")


def thai_normalised(text: str) -> str:
    """``text`` in NFC with Thai vowels and tone marks in their standard order (sara am composed)."""
    text = unicodedata.normalize("NFC", text)
    if not any("\u0e00" <= ch <= "\u0e7f" for ch in text):
        return text
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")  # PyThaiNLP must never write or download anything
    os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
    from pythainlp.util import reorder_vowels
    return reorder_vowels(text)


def control_character_in(text: str, *, multiline: bool = False) -> str | None:
    """The first control character of ``text`` (line breaks and tabs allowed when ``multiline``), or None."""
    found = (_CONTROL if multiline else _CONTROL_IN_LINE).search(text)
    return found.group(0) if found else None


def clean_text(value, field: str, limit: int, *, multiline: bool = False) -> str | None:
    """The text normalised and trimmed (None when empty), or Unprocessable naming the field: not text,
    longer than ``limit``, not valid UTF-8 (a lone surrogate) or holding a control character."""
    if value is None:
        return None
    if not isinstance(value, str) or not _is_utf8(value) or len(value) > limit:
        raise Unprocessable(f"{field} must be text (valid UTF-8) of at most {limit} characters.", field=field)
    bad = control_character_in(value, multiline=multiline)
    if bad is not None:
        raise Unprocessable(f"{field} holds the control character U+{ord(bad):04X}; remove it (type the text "
                            f"again, or paste it as plain text). / {field} มีอักขระควบคุมที่ใช้ไม่ได้ กรุณาพิมพ์ใหม่",
                            field=field)
    return thai_normalised(value).strip() or None


def _is_utf8(value: str) -> bool:
    """False for strings holding lone surrogates (possible from JSON escapes; SQLite cannot store them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def thai_id(value, field: str) -> str | None:
    """A 13-digit Thai national or tax id (dashes and spaces allowed) as 13 digits, or Unprocessable when it
    is not 13 digits or its check digit is wrong; None when empty."""
    text = clean_text(value, field, 40)
    if text is None:
        return None
    digits = _ID_SEPARATORS.sub("", text)
    if not re.fullmatch(r"[0-9]{13}", digits):
        raise Unprocessable(f"{field} must be the 13-digit national or tax id (e.g. 1-1017-00230-70-8); got "
                            f"{len(digits)} characters. / เลขประจำตัวต้องมี 13 หลัก", field=field)
    if not is_valid_thai_id(digits):
        raise Unprocessable(f"{field} {digits} has a wrong check digit (the last digit does not match the first "
                            f"12); check it against the card or the certificate. / เลขประจำตัว {digits} "
                            f"หลักตรวจสอบไม่ถูกต้อง กรุณาตรวจสอบกับบัตรหรือหนังสือรับรอง", field=field)
    return digits


def is_valid_thai_id(digits: str) -> bool:
    """True when 13 digits carry a valid check digit (personal and juristic ids alike)."""
    from stdnum.th import tin
    return tin.is_valid(digits)
