"""Engine commands: train and evaluate the success scorer, allocate a batch of cases.

JSON goes to stdout, progress to stderr (``--quiet`` turns it off); engine errors become ClickExceptions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app

from matcher.errors import RismepError


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _snapshot(db):
    from matcher.engine.snapshot import build_snapshot
    engine = current_app.extensions["rismep"]
    return build_snapshot(db, engine.ref, search=engine.config.search)


def _open():
    from matcher.store import open_db
    return open_db(current_app.config["DATABASE"])


def _training_inputs(db, quiet: bool):
    from matcher.store import history, models
    if not quiet:
        click.echo("reading the referral history ...", err=True)
    snapshot = _snapshot(db)
    truth = history.demo_truth(db) if db["demo_truth"].exists() else {}
    return snapshot, models.training_legs(db), truth


@click.command("train-scorer")
@click.option("--force", is_flag=True, help="store the model even when it does not beat the hand-set weights "
                                            "on the held-out legs")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def train_scorer(force, quiet):
    """Fit the leg scorer on every finished referral leg and store it as a new model version.

    Running services pick the new version up on their next request. When the history is too thin
    (fewer than 200 finished legs, fewer than 30 of either outcome, or a model fitted on the earliest 80 %
    of legs that does not beat the hand-set prior on the latest 20 %) nothing is stored (unless
    --force) and the hand-set prior stays in use. Prints the model version, what it was trained on and its held-out
    evaluation (trained on the earliest 80 % of legs, scored on the latest 20 %).

    Example: flask --app api train-scorer
    """
    from matcher.engine import scoring, training
    from matcher.store import models
    db = _open()
    try:
        snapshot, legs, truth = _training_inputs(db, quiet)
        if not quiet:
            click.echo(f"fitting on {len(legs)} legs ...", err=True)
        out = training.train(snapshot, legs, truth, force=force)
        if "fallback" in out:
            _echo_json({"stored": False, "scorer": "hand_set", "reason": out["fallback"], "metrics": out["metrics"]})
            return
        row = models.save_model(db, scoring.MODEL_NAME, params=out["params"], trained_on=out["trained_on"],
                                metrics=out["metrics"])
        learned = scoring.scorer_from_model(row)
        _echo_json({"stored": True, "scorer": "learned", "name": row["name"], "version": row["version"],
                    "trained_on": row["trained_on"], "metrics": row["metrics"],
                    "coefficients": scoring.coefficients(learned), "load_effect": scoring.load_effect(learned)})
    except RismepError as e:
        raise click.ClickException(e.message) from e
    finally:
        db.close()


@click.command("evaluate-scorer")
@click.option("--holdout", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True,
              help="share of the latest legs (by time sent) held out for scoring")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def evaluate_scorer(holdout, quiet):
    """Compare the learned scorer, the hand-set prior and (on synthetic data) the hidden truth.

    Trains on the earliest legs and reports ROC AUC, Brier score, log loss and calibration error on the
    latest ones, per leg. Stores nothing.

    Example: flask --app api evaluate-scorer --holdout 0.2
    """
    from matcher.engine import training
    db = _open()
    try:
        snapshot, legs, truth = _training_inputs(db, quiet)
        data = training.training_set(snapshot, legs)
        if not len(data["y"]):
            raise click.ClickException("No finished referral legs to evaluate on.")
        _echo_json({"dataset": snapshot.dataset.get("name"), "synthetic": bool(snapshot.dataset.get("synthetic")),
                    "scorer_in_use": snapshot.scorer.describe(),
                    **training.evaluate(data, truth, holdout=holdout)})
    finally:
        db.close()


@click.command("allocate")
@click.argument("cases", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="write the bundles to OUT.csv and OUT.json (default: next to CASES, with .bundles)")
@click.option("--compare/--no-compare", default=True, show_default=True,
              help="also allocate the cases one at a time (greedy) and each as if alone, and compare")
@click.option("--solver", type=click.Choice(["ortools", "networkx"]), default="ortools", show_default=True,
              help="min-cost flow solver (networkx is much slower; for comparison)")
@click.option("--quiet", is_flag=True, help="no progress bar on stderr")
def allocate(cases, out, compare, solver, quiet):
    """Allocate a CSV of cases jointly under the members' monthly capacities.

    CASES has a header ``enterprise,province,needs`` and optionally ``sector`` and ``case``; needs are
    category codes separated by spaces or semicolons. Writes one bundle per case to OUT.csv and OUT.json
    and prints the summary (total objective, cases fully covered, capacity overflows, idle members,
    largest unserved needs by province), with the greedy comparison unless --no-compare.

    Example: flask --app api allocate cases.csv --out /tmp/allocation
    """
    from matcher.engine import allocation
    db = _open()
    try:
        snapshot = _snapshot(db)
        try:
            batch = allocation.read_cases(Path(cases).read_text(encoding="utf-8"), snapshot.ref)
        except RismepError as e:
            raise click.ClickException(e.message) from e
        prefix = Path(out) if out else Path(cases).with_suffix(".bundles")

        def bar(label):
            def progress(items):
                if quiet:
                    return items
                return _bar(items, label)
            return progress

        result = allocation.allocate(snapshot, batch, solver=solver, progress=bar("splitting cases into legs"))
        prefix.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{prefix}.csv", "w", encoding="utf-8", newline="") as handle:
            allocation.write_bundles_csv(result["bundles"], handle)
        Path(f"{prefix}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        report = {"written": [f"{prefix}.csv", f"{prefix}.json"], "joint": result["summary"]}
        if compare:
            report["one_at_a_time"] = allocation.allocate_sequentially(
                snapshot, batch, progress=bar("one at a time"))["summary"]
            report["each_alone"] = allocation.allocate_independently(
                snapshot, batch, progress=bar("each case alone"))["summary"]
        _echo_json(report)
    finally:
        db.close()


def _bar(items, label):
    items = list(items)
    with click.progressbar(items, label=label, file=sys.stderr) as progress:
        yield from progress


@click.command("evaluate-engine")
@click.option("--cases", type=click.IntRange(4, 100_000), default=500, show_default=True,
              help="random cases (1-4 needs, as many of each) tried as a new user would")
@click.option("--seed", type=int, default=2024, show_default=True)
@click.option("--volumes", default="1,3", show_default=True,
              help="simulate a month at these multiples of the network's usual monthly volume (\"\" for none)")
@click.option("--quiet", is_flag=True, help="no progress bars on stderr")
def evaluate_engine(cases, seed, volumes, quiet):
    """Measure the recommendations on a synthetic network against its hidden truth.

    Reports, for random cases: the true chance that every need is met of the top bundle, its expected needs
    met and value, the calibration error of the chance shown (overall and by number of needs), how often the
    first bundle shown is truly the best of those shown; the same for the baselines (best-rated local member
    per need, greedy set cover, RarestFirst, the generator's historical member choice) and for oracles that
    know the truth (within the engine's pool and network-wide). Then a month simulated case by case at each
    volume: true chance, share of legs to members above 60 % and 90 % load, members over capacity. Reads the
    truth the generator stored; stores nothing.

    Example: flask --app api evaluate-engine --cases 500 --volumes 1,3
    """
    from matcher.store import history
    from matcher.synthetic import evaluation
    from matcher.synthetic.world import World
    db = _open()
    try:
        snapshot = _snapshot(db)
        try:
            world = World(db, snapshot)
        except ValueError as e:
            raise click.ClickException(str(e)) from e
        enterprises = history.enterprise_profiles(db)
        span = history.history_span(db)
        report = {"dataset": snapshot.dataset.get("name"), "synthetic": True, "truth": world.truth.name,
                  "scorer": snapshot.scorer.describe(),
                  **evaluation.evaluate(snapshot, world, enterprises, cases=cases, seed=seed,
                                        progress=None if quiet else _labelled("cases"))}
        per_month = evaluation.monthly_volume(span["referrals"], span["months"])
        report["month"] = {"usual_volume": per_month, "history": span, "runs": []}
        for factor in [int(v) for v in volumes.split(",") if v.strip()]:
            for method in ("engine", "historical member choice"):
                run = evaluation.simulate_month(snapshot, world, enterprises, factor * per_month, seed=seed,
                                                method="engine" if method == "engine" else "historical",
                                                progress=None if quiet else _labelled(f"month at {factor}x, {method}"))
                report["month"]["runs"].append({"volume": f"{factor}x", **run, "method": method})
        _echo_json(report)
    finally:
        db.close()


def _labelled(label):
    def progress(items):
        return _bar(items, label)
    return progress


commands = [train_scorer, evaluate_scorer, allocate, evaluate_engine]
