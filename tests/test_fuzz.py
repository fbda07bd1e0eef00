"""Fuzzing: schemathesis generates requests for every operation of the service's own OpenAPI description
and checks that none answers 500 and every response conforms to the description."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 30
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


# Values that depend on the data (category codes, provinces by any of their names, member ids) are
# checked by the engine, not enumerated in the description, so a schema-valid request may rightly get a
# 422 naming the accepted values: the "positive data acceptance" check does not apply. Every other check
# (no 5xx, documented status codes, content types and response schemas, rejection of invalid data) runs.
EXCLUDED = [positive_data_acceptance]


def fuzz(operation, headers=None):
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

    run()


def test_every_operation_conforms_and_never_fails(app):
    ops = operations(app)
    assert len(ops) >= 8
    failures = {}
    for op in ops:
        try:
            fuzz(op, fuzz_headers(app))
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[op.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def fuzz_headers(app):
    """An admin API key, so protected operations are fuzzed past the 401."""
    from matcher.store import keys, open_db
    db = open_db(app.config["DATABASE"])
    try:
        return {"Authorization": f"Bearer {keys.create_key(db, role='admin', name='fuzz')['key']}"}
    finally:
        db.close()
