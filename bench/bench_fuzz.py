"""Fuzzing counts: schemathesis against the production command, with a desk, a member and an admin key.

    .venv/bin/python bench/bench_fuzz.py --max-examples 100
    .venv/bin/python bench/bench_fuzz.py --max-examples 8 --phases coverage    # one phase, timed per key

Starts ``gunicorn api:create_app()`` (no secret configured, as ``make serve``) over a fresh copy of the demo
database, makes the three keys with the documented command, and runs the schemathesis command line once per
key over every operation of ``/api/v1/openapi.json``: positive and negative data, every phase (examples,
coverage, fuzzing, stateful) and every check, with ``bench/fuzz_hooks.py`` (the two custom formats and the
import template) and ``bench/schemathesis.toml``. Prints, per key, the requests made and the failures by
kind: server errors (ST101), schema-valid requests rejected (ST202), invalid requests accepted (ST201),
undocumented statuses (ST103) and any other. ``tests/test_fuzz.py`` runs the same with fewer examples.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import BIN, ROOT, Service, create_key, request  # noqa: E402

ROLES = {"desk": ("--desk", "desk-TH-50"), "member": ("--member", "A0001"), "admin": ()}
NAMED = {"ST101": "server errors", "ST202": "schema-valid requests rejected",
         "ST201": "invalid requests accepted", "ST103": "undocumented statuses"}
FAILURE_LINE = re.compile(r"❌ (ST\d{3}) [^:\n]+: (\d+)")
GENERATED = re.compile(r"(\d+) generated")
# Limits far above what one fuzzing run sends, so that 429s do not hide anything else.
ENV = {"RISMEP_API_KEY_LIMIT": "10000000", "RISMEP_BAD_KEY_LIMIT": "10000000"}
PHASES = ("examples", "coverage", "fuzzing", "stateful")


def run_schemathesis(url: str, key: str, max_examples: int, seed: int, out: Path, phases=PHASES) -> dict:
    """One schemathesis run with this key over ``phases``: ``{"requests", "failures": {code: n}, "errors",
    "seconds", "output"}``."""
    env = dict(os.environ, SCHEMATHESIS_HOOKS="bench.fuzz_hooks", PYTHONPATH=str(ROOT))
    command = [str(BIN / "schemathesis"), "--config-file", str(ROOT / "bench" / "schemathesis.toml"), "run",
               f"{url}/api/v1/openapi.json", "-H", f"Authorization: Bearer {key}", "--checks", "all",
               "--mode", "all", "-n", str(max_examples), "--seed", str(seed), "--workers", "1",
               "--suppress-health-check", "all", "--request-timeout", "120", "--no-color",
               "--phases", ",".join(phases)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    seconds = round(time.perf_counter() - start, 1)
    text = done.stdout + done.stderr
    out.write_text(text, encoding="utf-8")
    failures = {code: int(n) for code, n in FAILURE_LINE.findall(text)}
    generated = GENERATED.search(text)
    return {"requests": int(generated.group(1)) if generated else 0, "failures": failures,
            "errors": len(re.findall(r"^Runtime Error|^Network Error|^Schema Error", text, re.M)),
            "seconds": seconds, "output": str(out)}


def fuzz_counts(database: Path, *, max_examples: int = 30, seed: int = 1, roles=tuple(ROLES),
                workdir: Path | None = None, intake_model: Path | None = None, phases=None) -> dict:
    """Fuzz the service over a copy of ``database`` once per role (one server for all); the counts per role.
    ``phases``: role -> the schemathesis phases for that key (every phase for every key by default)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="rismep-fuzz-"))
    db = workdir / "fuzz.db"
    shutil.copy(database, db)
    keys = {role: create_key(db, role, *ROLES[role]) for role in roles}
    intake_model = ready_intake_model(intake_model)
    env = dict(ENV, RISMEP_INTAKE_MODEL=str(intake_model))
    svc = Service(db, workers=2, secret_key=None, env=env).start()
    try:
        warm_up(svc.url)
        return {role: run_schemathesis(svc.url, keys[role], max_examples, seed, workdir / f"{role}.txt",
                                       (phases or {}).get(role, PHASES))
                for role in roles}
    finally:
        svc.stop()


def ready_intake_model(path: Path | None) -> Path:
    """The intake model file, trained first when missing or stale (as `make serve` does before starting:
    a gunicorn worker would time out training it)."""
    from api import DATA_DIR, SETTINGS
    from matcher.intake.training import load_or_train
    from matcher.reference import load_reference
    path = Path(path or SETTINGS["INTAKE_MODEL"][0])
    load_or_train(path, load_reference(DATA_DIR))
    return path


def warm_up(url: str) -> None:
    """Load what each worker loads on first use (the intake model, trained first if missing; the network
    analyses), so that the fuzzing measures answers, not start-up."""
    for _ in range(4):  # a few rounds, so every worker has seen each
        request(f"{url}/api/v1/intake/classify", "POST", {"text": "ขนมขึ้นราเร็ว"}, timeout=600)
        request(f"{url}/api/v1/gaps", timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"the schemathesis phases for every key, comma-separated (default: {','.join(PHASES)})")
    parser.add_argument("--intake-model", type=Path, default=None,
                        help="the intake model file (default: the app's INTAKE_MODEL setting)")
    args = parser.parse_args()
    from api import DATA_DIR
    from matcher.reference import load_reference
    from matcher.synthetic.dataset import ensure_database
    workdir = Path(tempfile.mkdtemp(prefix="rismep-fuzz-"))
    ensure_database(workdir / "demo.db", load_reference(DATA_DIR))
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    counts = fuzz_counts(workdir / "demo.db", max_examples=args.max_examples, seed=args.seed, workdir=workdir,
                         intake_model=args.intake_model, phases={role: phases for role in ROLES})
    print(f"{'key':8} {'requests':>9} {'seconds':>8} " + " ".join(f"{NAMED[c]:>31}" for c in NAMED) + "  other")
    for role, result in counts.items():
        other = {c: n for c, n in result["failures"].items() if c not in NAMED}
        print(f"{role:8} {result['requests']:>9} {result['seconds']:>8} "
              + " ".join(f"{result['failures'].get(c, 0):>31}" for c in NAMED)
              + f"  {other or '-'}{'  runtime errors: ' + str(result['errors']) if result['errors'] else ''}")
    print(json.dumps({role: {k: v for k, v in r.items() if k != 'output'} for role, r in counts.items()}))
    print(f"full reports: {workdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
