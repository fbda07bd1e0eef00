"""What every network analysis reads first: names, labels, checked dates and the coverage cells."""

from __future__ import annotations

import re
from datetime import datetime

from graphs import coverage
from matcher.errors import Unprocessable
from matcher.store import analysis as store
from matcher.store import directory

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


# -- shared inputs -----------------------------------------------------------------------------------

def _names(provinces) -> dict:
    return {p["code"]: {"name_en": p["name_en"], "name_th": p["name_th"]} for p in provinces}


def _labels(categories) -> dict:
    return {c["code"]: {"label_en": c["label_en"], "label_th": c["label_th"]} for c in categories}


def _check_date(value, field: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if not _DATE.match(text):
            raise ValueError
        datetime.strptime(text, {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}[len(text)])
    except ValueError:
        raise Unprocessable(f"{field} must be a date as YYYY, YYYY-MM or YYYY-MM-DD; got {value!r}.",
                            field=field) from None
    return text


def months_between(first: str | None, last: str | None) -> int:
    """Calendar months from the month of ``first`` to that of ``last`` inclusive (at least 1)."""
    if not first or not last:
        return 1
    (y1, m1), (y2, m2) = (map(int, first[:7].split("-")), map(int, last[:7].split("-")))
    return max(1, (y2 - y1) * 12 + m2 - m1 + 1)


def coverage_cells(db, ref, since=None, until=None) -> dict:
    """The coverage matrix (``graphs.coverage.coverage_matrix`` cells) with its inputs and period."""
    since, until = _check_date(since, "since"), _check_date(until, "until")
    provinces, categories = directory.provinces(db), directory.categories(db)
    members = directory.all_members(db)
    period = store.case_period(db, since, until)
    months = months_between(period["first"], period["last"])
    cells = coverage.coverage_matrix(
        members, provinces, [c["code"] for c in categories], case_rows=store.case_demand(db, since, until),
        leg_rows=store.leg_demand(db, since, until), monthly_rows=store.monthly_case_demand(db, since, until),
        months=months)
    return {"cells": cells, "members": members, "provinces": provinces, "categories": categories,
            "period": {**period, "months": months, "since": since, "until": until}}


def _synthetic(db) -> bool:
    return bool(directory.dataset_info(db)["synthetic"])
