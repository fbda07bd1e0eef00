"""What schemathesis needs to know to generate valid data for the service's two custom formats (the OpenAPI
description explains them in words; JSON Schema cannot compute them):

- ``thai-id``: 13 digits whose last is the Thai id check digit (python-stdnum computes it);
- ``past-date-time``: an ISO 8601 date and time with its offset, since 2000 and not in the future.

Imported by ``tests/test_fuzz.py`` and, through ``SCHEMATHESIS_HOOKS=bench.fuzz_hooks``, by the schemathesis
command line in ``bench/bench_fuzz.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import schemathesis
from hypothesis import strategies as st
from stdnum.th import pin


def thai_ids():
    return st.from_regex(r"\A[0-9]{12}\Z").map(lambda twelve: twelve + pin.calc_check_digit(twelve))


def past_date_times():
    zones = st.sampled_from([timezone(timedelta(hours=7)), timezone.utc, timezone(timedelta(hours=-5))])
    return st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2025, 12, 31), timezones=zones).map(
        lambda when: when.isoformat(timespec="seconds"))


schemathesis.openapi.format("thai-id", thai_ids())
schemathesis.openapi.format("past-date-time", past_date_times())


TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "import_templates" / "agencies.csv"


@schemathesis.hook
def map_body(context, body):
    """The import operation takes a member spreadsheet, which no JSON Schema can describe: where a generated
    body carries a file, send the agencies template instead (its kind, when one is given, says agencies)."""
    operation = getattr(context, "operation", None)
    if operation is None or not operation.path.endswith("/admin/import") or not isinstance(body, dict):
        return body
    if isinstance(body.get("file"), bytes):  # a generated file part (text there is a negative case: kept)
        body = dict(body, file=TEMPLATE.read_bytes())
        if isinstance(body.get("kind"), str) and body["kind"] in KINDS:
            body["kind"] = "agencies"
    return body


KINDS = ("agencies", "consultants", "offerings", "enterprises")
