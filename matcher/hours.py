"""Opening hours: read what people write (Thai or English), keep one canonical form, write it in Thai,
English and as HSDS schedule rows.

The canonical form is a short text in the style of OpenStreetMap's ``opening_hours`` (a small subset):
rules separated by ``"; "``, each a list of days and one or more time spans, for example
``"Mo-Fr 08:30-16:30"`` or ``"Mo-Fr 08:30-12:00,13:00-16:30; Sa 09:00-12:00"``.

>>> canonical_hours("จันทร์-ศุกร์ 8.30-16.30 น.")
'Mo-Fr 08:30-16:30'
>>> hours_text("Mo-Fr 08:30-16:30; Sa 09:00-12:00", "th")
'จันทร์-ศุกร์ 08:30-16:30 น., เสาร์ 09:00-12:00 น.'
"""

from __future__ import annotations

import re

__all__ = ["parse_hours", "canonical_hours", "hours_lines", "hours_text", "schedule_rows", "hours_from_schedules",
           "HOURS_EXAMPLE"]

HOURS_EXAMPLE = "จันทร์-ศุกร์ 08:30-16:30 (Mo-Fr 08:30-16:30)"
CODES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
THAI_DAYS = ("จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์")
ENGLISH_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every way of writing a day that is read, longest first so that "พฤหัสบดี" wins over "พฤ".
DAY_WORDS = sorted({
    **{c.lower(): i for i, c in enumerate(CODES)},
    **{d.lower(): i for i, d in enumerate(ENGLISH_DAYS)},
    **{d.lower(): i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                            "sunday"))},
    "tues": 1, "wed": 2, "thur": 3, "thurs": 3,
    **{d: i for i, d in enumerate(THAI_DAYS)}, "พฤหัส": 3,
    **{d: i for i, d in enumerate(("จ.", "อ.", "พ.", "พฤ.", "ศ.", "ส.", "อา."))},
}.items(), key=lambda kv: -len(kv[0]))
EVERY_DAY = ("ทุกวัน", "every day", "daily", "mo-su")
TIME = r"(\d{1,2})\s*[:.]\s*(\d{2})"
SPAN = re.compile(rf"{TIME}\s*(?:-|–|ถึง|to)\s*{TIME}\s*(?:น\.|นาฬิกา|hrs?\.?|h\b)?", re.I)
RANGE_WORDS = ("-", "–", "ถึง", "to")
SKIP = re.compile(r"^(?:[\s,;/&]+|และ|and\b|วัน|เวลา|เปิด|open\b|:)", re.I)


def parse_hours(text: str | None) -> list[tuple[tuple[int, ...], tuple[tuple[str, str], ...]]] | None:
    """The rules in ``text`` as ``[(days 0=Monday.., ((opens, closes), ...)), ...]``; ``[]`` for empty text,
    None when the text cannot be read (a day without hours, hours without days, an impossible time)."""
    text = (text or "").strip()
    if not text:
        return []
    rules, days, spans, pending_range = [], [], [], False
    rest = text
    while rest:
        lowered = rest.lower()
        every = next((w for w in EVERY_DAY if lowered.startswith(w)), None)
        span = SPAN.match(rest)
        if every:
            days, spans, rules = _close_rule(rules, days, spans)
            days, rest = list(range(7)), rest[len(every):]
        elif span:
            opens, closes = _clock(span.group(1), span.group(2)), _clock(span.group(3), span.group(4))
            if opens is None or closes is None or opens >= closes or not days:
                return None
            spans.append((opens, closes))
            rest = rest[span.end():]
        elif pending_range is False and any(rest.startswith(w) for w in RANGE_WORDS) and days:
            word = next(w for w in RANGE_WORDS if rest.startswith(w))
            pending_range, rest = True, rest[len(word):]
        else:
            day = next(((w, i) for w, i in DAY_WORDS if lowered.startswith(w)), None)
            if day is not None:
                if spans:
                    days, spans, rules = _close_rule(rules, days, spans)
                days = _add_day(days, day[1], pending_range)
                pending_range, rest = False, rest[len(day[0]):]
                continue
            skip = SKIP.match(rest)
            if not skip or (pending_range and skip.group().strip() not in ("", "วัน")):
                return None
            rest = rest[skip.end():]
    days, spans, rules = _close_rule(rules, days, spans)
    return rules if not days else None


def _close_rule(rules, days, spans):
    if days and spans:
        rules = rules + [(tuple(sorted(set(days))), tuple(spans))]
        return [], [], rules
    return days, spans, rules


def _add_day(days: list[int], day: int, is_range_end: bool) -> list[int]:
    if is_range_end and days:
        start = days[-1]
        return days + [(start + k) % 7 for k in range(1, (day - start) % 7 + 1)]
    return days + [day]


def _clock(hour: str, minute: str) -> str | None:
    h, m = int(hour), int(minute)
    if h > 24 or m > 59 or (h == 24 and m):
        return None
    return f"{h:02d}:{m:02d}"


def canonical_hours(text: str | None) -> str | None:
    """The canonical form of what was written (``"Mo-Fr 08:30-16:30"``), ``""`` for empty text, None when
    it cannot be read."""
    rules = parse_hours(text)
    return None if rules is None else _format(rules)


def _format(rules) -> str:
    """Rules with the same days merged, time spans in order, rules in the order of their first day."""
    merged: dict[tuple, set] = {}
    for days, spans in rules:
        merged.setdefault(tuple(days), set()).update(spans)
    return "; ".join(f"{_day_ranges(days, CODES)} {','.join(f'{a}-{b}' for a, b in sorted(spans))}"
                     for days, spans in sorted(merged.items()))


def _day_groups(days: tuple[int, ...]) -> list[tuple[int, int]]:
    groups: list[list[int]] = []
    for d in days:
        if groups and d == groups[-1][1] + 1:
            groups[-1][1] = d
        else:
            groups.append([d, d])
    return [(a, b) for a, b in groups]


def _day_ranges(days: tuple[int, ...], names) -> str:
    parts = []
    for a, b in _day_groups(days):
        if a == b:
            parts.append(names[a])
        elif b == a + 1:
            parts.append(f"{names[a]},{names[b]}")
        else:
            parts.append(f"{names[a]}-{names[b]}")
    return ",".join(parts)


def hours_lines(canonical: str | None, lang: str = "th") -> list[str]:
    """One line per rule as a person reads it: ``จันทร์-ศุกร์ 08:30-16:30 น.`` or ``Mon-Fri 08:30-16:30``."""
    out = []
    for days, spans in parse_hours(canonical) or []:
        if lang == "th":
            every = "ทุกวัน" if len(days) == 7 else _day_ranges(days, THAI_DAYS).replace(",", " ")
            out.append(f"{every} {' และ '.join(f'{a}-{b}' for a, b in spans)} น.")
        else:
            every = "every day" if len(days) == 7 else _day_ranges(days, ENGLISH_DAYS).replace(",", ", ")
            out.append(f"{every} {' and '.join(f'{a}-{b}' for a, b in spans)}")
    return out


def hours_text(canonical: str | None, lang: str = "th") -> str:
    """The hours on one line (rules separated by commas in Thai, semicolons in English)."""
    return (", " if lang == "th" else "; ").join(hours_lines(canonical, lang))


THAILAND_OFFSET = 7 * 60  # minutes east of UTC: hours are Thailand time (Asia/Bangkok, no daylight saving)


def schedule_rows(canonical: str | None) -> list[dict]:
    """One HSDS ``schedule`` row (weekly) per rule and time span, without ids or links; times carry the
    Thailand offset (``08:30+07:00``) as HSDS asks."""
    rows = []
    for days, spans in parse_hours(canonical) or []:
        for opens, closes in spans:
            rows.append({"freq": "WEEKLY", "wkst": "MO", "byday": ",".join(RRULE_DAYS[d] for d in days),
                         "opens_at": f"{opens}+07:00", "closes_at": f"{closes}+07:00", "timezone": 7})
    return rows


def hours_from_schedules(rows: list[dict]) -> str | None:
    """The canonical hours of HSDS weekly schedule rows (as ``schedule_rows`` writes them), None if none can
    be read."""
    rules = []
    for row in rows:
        days = tuple(sorted(RRULE_DAYS.index(d.strip().upper()) for d in str(row.get("byday") or "").split(",")
                            if d.strip().upper() in RRULE_DAYS))
        opens, closes = _short(row.get("opens_at")), _short(row.get("closes_at"))
        if days and opens and closes and opens < closes:
            rules.append((days, [(opens, closes)]))
    return _format(rules) if rules else None


def _short(value) -> str | None:
    """``HH:MM`` in Thailand time from an HSDS time (``08:30``, ``08:30:00``, ``01:30Z``, ``08:30+07:00``)."""
    match = re.fullmatch(r"(\d{2}):(\d{2})(?::\d{2})?(Z|[+-]\d{2}:\d{2})?", str(value or "").strip())
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    zone = match.group(3)
    if zone:
        offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
        minutes = minutes - offset + THAILAND_OFFSET
    if not 0 <= minutes <= 24 * 60:
        return None
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
