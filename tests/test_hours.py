"""Opening hours: what people write in Thai or English, one canonical form, Thai and English text, HSDS
schedules and back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.hours import canonical_hours, hours_from_schedules, hours_lines, hours_text, schedule_rows


@pytest.mark.parametrize("written, canonical", [
    ("จันทร์-ศุกร์ 08:30-16:30", "Mo-Fr 08:30-16:30"),
    ("วันจันทร์ถึงวันศุกร์ เวลา 8.30-16.30 น.", "Mo-Fr 08:30-16:30"),
    ("จ.-ศ. 08.30-16.30 น. ส. 09.00-12.00 น.", "Mo-Fr 08:30-16:30; Sa 09:00-12:00"),
    ("Mon-Fri 8:30-15:30, Sat 9:00-12:00", "Mo-Fr 08:30-15:30; Sa 09:00-12:00"),
    ("Mo-Fr 08:30-12:00,13:00-16:30", "Mo-Fr 08:30-12:00,13:00-16:30"),
    ("Sa 09:00-12:00; Mo-Fr 08:30-16:30", "Mo-Fr 08:30-16:30; Sa 09:00-12:00"),
    ("ทุกวัน 08:00-20:00", "Mo-Su 08:00-20:00"),
    ("พฤหัสบดี 09:00-10:00", "Th 09:00-10:00"),
    ("วันอาทิตย์ 10:00-14:00", "Su 10:00-14:00"),
    ("Mo, We 09:00-12:00", "Mo,We 09:00-12:00"),
    ("", ""),
])
def test_thai_and_english_writing_reads_to_one_form(written, canonical):
    assert canonical_hours(written) == canonical


@pytest.mark.parametrize("written", ["สองแสน", "Mo-Fr", "08:00-12:00", "Mo 17:00-08:00", "Mo 25:00-26:00",
                                     "Mo-Fr 08:30-16:30 ปิดพักเที่ยง"])
def test_what_cannot_be_read_is_refused_not_guessed(written):
    assert canonical_hours(written) is None


def test_text_in_each_language():
    hours = "Mo-Fr 08:30-12:00,13:00-16:30; Sa 09:00-12:00"
    assert hours_lines(hours, "th") == ["จันทร์-ศุกร์ 08:30-12:00 และ 13:00-16:30 น.", "เสาร์ 09:00-12:00 น."]
    assert hours_text(hours, "en") == "Mon-Fri 08:30-12:00 and 13:00-16:30; Sat 09:00-12:00"
    assert hours_text("Mo-Su 08:00-20:00", "th") == "ทุกวัน 08:00-20:00 น."
    assert hours_text(None, "th") == ""


def test_hsds_schedules_carry_thailand_time_and_read_back():
    rows = schedule_rows("Mo-Fr 08:30-16:30; Sa 09:00-12:00")
    assert [(r["byday"], r["opens_at"], r["closes_at"]) for r in rows] == [
        ("MO,TU,WE,TH,FR", "08:30+07:00", "16:30+07:00"), ("SA", "09:00+07:00", "12:00+07:00")]
    utc = [dict(rows[0], opens_at="01:30Z", closes_at="09:30:00Z")]
    assert hours_from_schedules(utc) == "Mo-Fr 08:30-16:30"
    assert hours_from_schedules([{"byday": "XX", "opens_at": "08:00", "closes_at": "09:00"}]) is None


spans = st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.integers(1, 120)).map(
    lambda t: (f"{t[0]:02d}:{t[1]:02d}", min(t[0] * 60 + t[1] + t[2], 24 * 60)))


@given(st.lists(st.tuples(st.sets(st.integers(0, 6), min_size=1), spans), min_size=1, max_size=4))
def test_canonical_hours_survive_text_and_schedules(rules):
    codes = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
    written = "; ".join(f"{','.join(codes[d] for d in sorted(days))} {opens}-{end // 60:02d}:{end % 60:02d}"
                        for days, (opens, end) in rules)
    canonical = canonical_hours(written)
    assert canonical and canonical_hours(canonical) == canonical
    assert hours_from_schedules(schedule_rows(canonical)) == canonical
