"""Fuzzing: schemathesis runs every operation of the service's own OpenAPI description against the production
command, with a desk, a member and an admin key, positive and negative data and every check; it finds no
server error, no schema-valid request rejected, no invalid request accepted and no undocumented status.
``bench/bench_fuzz.py`` is the same with more examples (figures in BENCHMARKS.md)."""

from pathlib import Path

import pytest

from bench.bench_fuzz import NAMED, ROLES, fuzz_counts

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 8


@pytest.mark.parametrize("key_role", sorted(ROLES))
def test_every_operation_with_every_key_conforms_to_the_description(key_role, db_path, tmp_path, intake_model_path):
    counts = fuzz_counts(db_path, max_examples=MAX_EXAMPLES, workdir=tmp_path, intake_model=intake_model_path,
                         roles=(key_role,))
    assert set(counts) == {key_role}
    for role, result in counts.items():
        assert result["requests"] > 1000, (role, result)
        report = Path(result["output"]).read_text(encoding="utf-8")
        assert result["failures"] == {} and result["errors"] == 0, (
            f"{role}: " + ", ".join(f"{NAMED.get(c, c)}: {n}" for c, n in result["failures"].items())
            + f"\n{report[-6000:]}")
