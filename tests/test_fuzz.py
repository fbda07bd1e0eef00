"""Fuzzing: schemathesis runs every operation of the service's own OpenAPI description against the production
command, with a desk, a member and an admin key, positive and negative data and every check; it finds no
server error, no schema-valid request rejected, no invalid request accepted and no undocumented status.

One server serves the three keys. The admin key, which every operation accepts, goes through every phase,
including the coverage phase (about 3,700 boundary and malformed requests: each field's limits, types and
formats). The desk and member keys go through the examples, fuzzing and stateful phases, which reach each
operation with that key's rights; their coverage phase sends the same boundary values to the same
validation and is left to ``bench/bench_fuzz.py``, which runs every phase for every key with more examples
(figures in BENCHMARKS.md)."""

from pathlib import Path

import pytest

from bench.bench_fuzz import NAMED, PHASES, ROLES, fuzz_counts

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 8
PER_ROLE = {"admin": PHASES, "desk": ("examples", "fuzzing", "stateful"),
            "member": ("examples", "fuzzing", "stateful")}


def test_every_operation_with_every_key_conforms_to_the_description(db_path, tmp_path, intake_model_path):
    counts = fuzz_counts(db_path, max_examples=MAX_EXAMPLES, workdir=tmp_path, intake_model=intake_model_path,
                         roles=tuple(sorted(ROLES)), phases=PER_ROLE)
    assert set(counts) == set(ROLES)
    for role, result in counts.items():
        report = Path(result["output"]).read_text(encoding="utf-8")
        assert result["requests"] > (3000 if role == "admin" else 300), (role, result)
        assert all(f"✅ {phase.title()}" in report for phase in PER_ROLE[role]), (role, report[-3000:])
        assert result["failures"] == {} and result["errors"] == 0, (
            f"{role}: " + ", ".join(f"{NAMED.get(c, c)}: {n}" for c, n in result["failures"].items())
            + f"\n{report[-6000:]}")
