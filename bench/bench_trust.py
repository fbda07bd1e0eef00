"""Benchmark of the recommendations against the hidden truth of synthetic national networks, run by hand
(never a timed test). For each truth of the generator (``flask --app api generate --truth NAME``):

1. the scorer: trained on the network's own history; held-out ROC AUC, Brier score and calibration error of
   the learned scorer against the hand-set prior (and the truth itself), the latest 20 % of legs held out;
2. the engine against the truth, on random cases of 1-4 needs (as the generator's enterprises ask): the true
   chance that every need is met of the top bundle, expected needs met and value, the calibration error of
   the chance shown (overall and by number of needs), how often the first bundle is truly the best of
   those shown; the same for the baselines and the oracles (``matcher.synthetic.baselines``);
3. (``--month``) a month simulated case by case at 1x and 3x the usual monthly volume;
4. (``--before COMMIT``) the engine of an earlier commit on the same network and cases, measured against
   the same truth in the same run: today's figures beside the new ones;
5. (``--hidden-quality``, default truth) what separates close bundles: how well the member's record
   estimates the generator's hidden quality, and the engine's figures when the record is replaced by the
   hidden quality itself (what no estimate from the same outcomes can exceed).

Usage (from the project folder; networks are made in --dir when absent, about 30 s each, and copied):

    .venv/bin/python bench/bench_trust.py --dir /tmp/trust-networks --month --before 1d35a62 --json /tmp/trust.json
    .venv/bin/python bench/bench_trust.py --dir /tmp/trust-networks --truths default --cases 100   # a smoke run

The networks are synthetic; the engine never reads their truth, only this benchmark and evaluate-engine do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import DATA_DIR  # noqa: E402
from matcher.engine import scoring, training  # noqa: E402
from matcher.engine.snapshot import build_snapshot  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.store import history, models, open_db  # noqa: E402
from matcher.synthetic import evaluation  # noqa: E402
from matcher.synthetic.dataset import ensure_database  # noqa: E402
from matcher.synthetic.truths import TRUTHS  # noqa: E402
from matcher.synthetic.world import Case, World  # noqa: E402

TARGETS = {"calibration_error": 0.03, "top_true_chance": 0.75, "first_truly_best": 0.70, "auc_gain": 0.02,
           "legs_above_90_at_3x": 0.01}


def network(directory: Path, truth: str, work: Path) -> Path:
    """A private copy of the national network of this truth (made in ``directory`` when absent)."""
    source = directory / f"national-{truth}.db"
    if not source.exists():
        print(f"generating the synthetic national network, truth {truth} ...", file=sys.stderr)
        directory.mkdir(parents=True, exist_ok=True)
        ensure_database(source, load_reference(DATA_DIR), scale="national", truth=truth)
    copy = work / f"national-{truth}.db"
    shutil.copy(source, copy)
    return copy


def train(path: Path) -> dict:
    """Train the scorer as ``train-scorer`` does (stored only when it beats the hand-set prior)."""
    db = open_db(path)
    try:
        snap = build_snapshot(db, load_reference(DATA_DIR))
        out = training.train(snap, models.training_legs(db), history.demo_truth(db))
        if "params" in out:
            models.save_model(db, scoring.MODEL_NAME, params=out["params"], trained_on=out["trained_on"],
                              metrics=out["metrics"])
        effect = (scoring.load_effect(scoring.scorer_from_model({"version": 0, "params": out["params"],
                                                                 "trained_on": out["trained_on"]}))
                  if "params" in out else None)
        return {"stored": "params" in out, "metrics": out["metrics"], "fallback": out.get("fallback"),
                "load_effect": effect}
    finally:
        db.close()


def engine_figures(path: Path, cases: int, seed: int, month: bool) -> tuple[dict, list[Case]]:
    db = open_db(path)
    try:
        snap = build_snapshot(db, load_reference(DATA_DIR))
        world = World(db, snap)
        enterprises = history.enterprise_profiles(db)
        t = time.perf_counter()
        out = {"scorer": snap.scorer.describe(), **evaluation.evaluate(snap, world, enterprises, cases=cases,
                                                                       seed=seed)}
        out["seconds"] = round(time.perf_counter() - t, 1)
        drawn = evaluation.random_cases(snap, enterprises, cases, seed)
        if month:
            span = history.history_span(db)
            per_month = evaluation.monthly_volume(span["referrals"], span["months"])
            out["month"] = [{"volume": f"{k}x", **evaluation.simulate_month(snap, world, enterprises, k * per_month,
                                                                          seed=seed, method=m)}
                            for k in (1, 3) for m in ("engine", "historical")]
        return out, drawn
    finally:
        db.close()


def hidden_quality(path: Path, cases: int, seed: int) -> dict:
    """The record against the hidden quality, and the engine with the hidden quality in its place."""
    from matcher.engine import features as F
    db = open_db(path)
    try:
        snap = build_snapshot(db, load_reference(DATA_DIR))
        world = World(db, snap)
        enterprises = history.enterprise_profiles(db)
        seen = snap.finished.sum(axis=1) > 0
        record = snap.record_excess / (snap.record_information + F.RECORD_PRIOR)
        rate = F.smoothed_rate(snap.completed.sum(axis=1), snap.finished.sum(axis=1))
        out = {"correlation_with_hidden_quality": {
            "record_vs_expected": round(float(np.corrcoef(record[seen], world.quality[seen])[0, 1]), 3),
            "completion_rate": round(float(np.corrcoef(rate[seen], world.quality[seen])[0, 1]), 3)}}
        weight = snap.scorer.weight("record_vs_expected")
        snap = snap.changed({"outcomes"}, record_excess=world.quality / weight * (snap.record_information
                                                                                  + F.RECORD_PRIOR))
        known = evaluation.evaluate(snap, world, enterprises, cases=cases, seed=seed)
        out["with_hidden_quality"] = {"true_chance": known["methods"]["engine"]["true_chance"],
                                      "first_is_truly_best_of_shown": known["first_is_truly_best_of_shown"],
                                      "network_oracle": known["methods"]["oracle network-wide"]["true_chance"]}
        return out
    finally:
        db.close()


BEFORE = """
import json, sys
sys.path.insert(0, {tree!r})
from pathlib import Path
from matcher.reference import load_reference
from matcher.store import history, models, open_db
from matcher.engine.snapshot import build_snapshot
from matcher.engine import scoring
from matcher.engine.matching import match
ref = load_reference(Path({tree!r}) / "data")
db = open_db({db!r})
snap = build_snapshot(db, ref)
out = scoring.train(snap, models.training_legs(db), history.demo_truth(db))
if "params" in out:
    models.save_model(db, scoring.MODEL_NAME, params=out["params"], trained_on=out["trained_on"],
                      metrics=out["metrics"])
snap = build_snapshot(db, ref)
rows = []
for case in json.load(open({cases!r})):
    result = match(snap, {{"needs": case["needs"], "province": case["province"], "sector": case["sector"],
                           "top_k": 3}})
    rows.append([{{"assignment": b["assignment"], "chance": b["success_chance"]}} for b in result["bundles"]])
print(json.dumps({{"scorer": snap.scorer.kind, "rows": rows}}))
"""


def before_figures(commit: str, path: Path, drawn: list[Case], work: Path) -> dict:
    """The engine of ``commit`` on a copy of the network and the same cases, priced by today's truth."""
    tree = work / f"tree-{commit}"
    tree.mkdir(exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    copy = work / f"before-{path.name}"
    shutil.copy(path, copy)
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    cases_file = work / "cases.json"
    cases_file.write_text(json.dumps([c.__dict__ for c in drawn]), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", BEFORE.format(tree=str(tree), db=str(copy), cases=str(cases_file))],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(tree)})
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    db = open_db(path)
    try:
        snap = build_snapshot(db, load_reference(DATA_DIR))
        world = World(db, snap)
        rows = []
        for case, bundles in zip(drawn, answer["rows"]):
            if not bundles or any(n not in bundles[0]["assignment"] for n in case.needs):
                continue
            shown = np.array([[snap.member_index[b["assignment"][n]] for n in case.needs] for b in bundles])
            truth = world.outcomes(case, shown)
            rows.append({"needs": len(case.needs), "shown_chance": [b["chance"] for b in bundles],
                         "true_chance": truth["chance"].tolist(),
                         "engine": {k: float(v[0]) for k, v in truth.items()}, "methods": {}})
        summary = evaluation.summarise(rows)
        return {"commit": commit, "scorer": answer["scorer"], "engine": summary["methods"]["engine"],
                "calibration": summary["calibration"], "first_is_truly_best_of_shown":
                    summary["first_is_truly_best_of_shown"]}
    finally:
        db.close()


def print_truth(name: str, trained: dict, figures: dict, before: dict | None) -> None:
    m = trained["metrics"]
    learned, hand = m.get("learned") or {}, m["hand_set"]
    print(f"\n=== truth {name}: {TRUTHS[name].summary} ===")
    print(f"1. scorer on the latest {m['test_legs']:,} legs: ROC AUC learned {learned.get('roc_auc')} against hand-set "
          f"{hand['roc_auc']} (gain {learned.get('roc_auc', 0) - hand['roc_auc']:+.4f}, "
          f"target +{TARGETS['auc_gain']}); "
          f"Brier {learned.get('brier')} / {hand['brier']}; calibration error {learned.get('ece')} / {hand['ece']}; "
          f"truth AUC {m.get('truth', {}).get('roc_auc')}; in use: {figures['scorer']['scorer']}; learned change in "
          f"log-odds at 60 / 90 / 100 % load: {trained.get('load_effect')}")
    c = figures["calibration"]
    print(f"2. {figures['cases']} cases: calibration error of the chance shown {c['calibration_error']:.4f} over "
          f"{c['bundles_shown']} bundles (mean shown {c['mean_shown']:.3f}, true {c['mean_true']:.3f}); by needs "
          + ", ".join(f"{k}: {v['calibration_error']:.4f} ({v['mean_shown']:.3f}/{v['mean_true']:.3f})"
                      for k, v in c["by_needs"].items()))
    print(f"   first bundle truly the best of those shown: {figures['first_is_truly_best_of_shown']:.1%} "
          f"(target {TARGETS['first_truly_best']:.0%})")
    print("   method                              true chance  needs met  value (baht)")
    rows = list(figures["methods"].items())
    if before:
        rows.insert(1, (f"engine at {before['commit']}", before["engine"]))
    for method, f in rows:
        print(f"   {method:36s} {f['true_chance']:10.3f} {f['expected_needs_met']:10.3f} "
              f"{f['expected_value_baht']:13,.0f}")
    if before:
        print(f"   engine at {before['commit']}: calibration error {before['calibration']['calibration_error']:.4f}, "
              f"first truly best {before['first_is_truly_best_of_shown']:.1%}")
    for run in figures.get("month", []):
        print(f"3. month at {run['volume']} ({run['cases']:,} cases), {run['method']}: "
              f"true chance {run['true_chance']}, "
              f"legs above 60 % load {run['legs_above_60_percent_load']:.2%}, above 90 % "
              f"{run['legs_above_90_percent_load']:.2%}, members over capacity {run['members_over_capacity']}, "
              f"cases with a need nobody can take {run['unserved_cases']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="where the national networks are (made when absent)")
    parser.add_argument("--truths", default=",".join(TRUTHS), help="comma-separated truths (default: all)")
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--month", action="store_true", help="also simulate a month at 1x and 3x (default truth)")
    parser.add_argument("--before", default=None, help="also measure the engine of this commit (default truth)")
    parser.add_argument("--hidden-quality", action="store_true",
                        help="also measure the engine with the hidden member quality in place of its record "
                             "(default truth)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "targets": TARGETS, "truths": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.truths.split(","):
            path = network(args.dir, name, work)
            trained = train(path)
            figures, drawn = engine_figures(path, args.cases, args.seed, args.month and name == "default")
            before = (before_figures(args.before, args.dir / f"national-{name}.db", drawn, work)
                      if args.before and name == "default" else None)
            print_truth(name, trained, figures, before)
            report["truths"][name] = {"scorer": trained, "engine": figures, "before": before}
            if args.hidden_quality and name == "default":
                known = hidden_quality(path, args.cases, args.seed)
                report["truths"][name]["hidden_quality"] = known
                k = known["with_hidden_quality"]
                print(f"5. correlation with the hidden quality: record {known['correlation_with_hidden_quality']}; "
                      f"with the hidden quality in its place the engine's true chance is {k['true_chance']:.3f} "
                      f"(network oracle {k['network_oracle']:.3f}) and the first bundle is truly the best of "
                      f"those shown in {k['first_is_truly_best_of_shown']:.1%}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
