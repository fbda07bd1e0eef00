"""Intake commands: train the text classifier and evaluate it on the held-out test split."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import current_app

from matcher.errors import RismepError


def _ref():
    return current_app.extensions["rismep"].ref


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _note(quiet: bool, message: str) -> None:
    if not quiet:
        click.echo(message, err=True)


def _stored_corrections(quiet: bool) -> list[dict]:
    """The desk's corrections in the configured database (none when it does not exist yet)."""
    from matcher.store import database_exists, open_db
    from matcher.store.intake import corrections
    path = current_app.config["DATABASE"]
    if not database_exists(path):
        return []
    db = open_db(path)
    try:
        rows = corrections(db)
    finally:
        db.close()
    _note(quiet, f"{len(rows)} desk corrections in {path}")
    return rows


@click.command("train-intake")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="folder of corpus_*.csv and lexicon.csv (default: intake/ under the DATA_DIR setting)")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="where to save the model (default: the INTAKE_MODEL setting, data/models/intake.joblib)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the threshold folds")
@click.option("--if-stale", is_flag=True,
              help="do nothing if the saved model is of this version and trained on the current corpus")
@click.option("--no-corrections", is_flag=True, help="leave the desk's stored corrections out of the training")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def train_intake(corpus_dir, out_path, seed, if_stale, no_corrections, quiet):
    """Train the intake classifier on the corpus's train and dev splits and the desk's corrections.

    The corrections are those stored when a desk sent a case (what it confirmed, removed or added among
    the suggested needs). When a model is already saved and corrections were used, the new model
    replaces it only if it is not worse on the held-out split (macro F1) and on the named-need table
    (recall); otherwise the current model stays and the figures say why.

    Example: flask --app api train-intake
    """
    from matcher.intake.training import training_lock
    path = Path(out_path or current_app.config["INTAKE_MODEL"])
    with training_lock(path):        # a server that needs the model meanwhile waits for this training
        _train_intake(path, corpus_dir, seed, if_stale, no_corrections, quiet)


def _train_intake(path, corpus_dir, seed, if_stale, no_corrections, quiet):
    from matcher.intake.assessment import is_not_worse
    from matcher.intake.training import corpus_dir_of, current_saved_model, train_model
    if if_stale and current_saved_model(path, _ref(), corpus_dir=corpus_dir) is not None:
        _note(quiet, f"the intake classifier at {path} is up to date")
        return
    fixes = [] if no_corrections else _stored_corrections(quiet)
    _note(quiet, f"training the intake classifier on {corpus_dir or corpus_dir_of(_ref())} (progress below) ...")
    start = time.perf_counter()
    try:
        model = train_model(_ref(), corpus_dir=corpus_dir, seed=seed, corrections=fixes,
                            progress=_progress_note(quiet, start))
        current = current_saved_model(path, _ref(), corpus_dir=corpus_dir) if fixes else None
        check = is_not_worse(model, current, _ref(), corpus_dir=corpus_dir) if current is not None else None
    except RismepError as error:
        raise click.ClickException(error.message) from error
    if check is None or check["swap"]:
        model.save(path)
    else:
        _note(quiet, f"kept the current model: the new one is worse on the held-out figures {check}")
    _echo_json({"path": str(path), "saved": check is None or check["swap"], "check": check,
                "version": model.version, "data_hash": model.data_hash, "trained_at": model.trained_at,
                "seconds": round(time.perf_counter() - start, 2),
                "size_kb": round(path.stat().st_size / 1024, 1) if path.exists() else None, **model.info})


def _progress_note(quiet: bool, start: float):
    """A progress callback that prints each step with the seconds since ``start`` on stderr."""
    return lambda message: _note(quiet, f"[{time.perf_counter() - start:5.1f} s] {message}")


@click.command("evaluate-intake")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="folder of corpus_*.csv and lexicon.csv (default: intake/ under the DATA_DIR setting)")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="model file (default: the INTAKE_MODEL setting; trained first if absent or stale)")
@click.option("--cv-folds", type=click.IntRange(0, 20), default=5, show_default=True,
              help="folds of cross-validation on the training splits, train and dev (0: skip it)")
@click.option("--dev", is_flag=True,
              help="also train on the train split alone and score the dev split (one training more)")
@click.option("--desk-curve", is_flag=True,
              help="also simulate the desk's corrections: hold out half of the independent split (the old "
                   "test split while there is none), train with 0, 25, 50 and 100 %% of the other half")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def evaluate_intake(corpus_dir, model_path, cv_folds, dev, desk_curve, quiet):
    """Evaluate the intake classifier on text it never learned from.

    Prints as JSON: the old test split and the independent split (independent.csv, when present) with
    micro and macro F1, per-language and per-category figures, false needs on texts that need nothing and
    a reliability table of the shown confidence; the recall of the named-need table (named_needs.csv);
    cross-validation of the same training on the training splits; with --dev, the dev split scored by a
    model trained without it; with --desk-curve, the simulated desk-correction curve. A short summary
    goes to stderr.

    Example: flask --app api evaluate-intake --cv-folds 5 --dev --desk-curve
    """
    from matcher.intake.assessment import evaluate_model
    from matcher.intake.training import load_or_train
    start = time.perf_counter()
    try:
        model = load_or_train(model_path or current_app.config["INTAKE_MODEL"], _ref(), corpus_dir=corpus_dir,
                              progress=lambda message: _note(quiet, message))
        _note(quiet, f"evaluating model {model.version} ({model.data_hash[:12]}) ...")
        report = evaluate_model(model, _ref(), corpus_dir=corpus_dir, cv_folds=cv_folds, dev=dev,
                                desk_curve=desk_curve, progress=_progress_note(quiet, start))
    except RismepError as error:
        raise click.ClickException(error.message) from error
    _echo_json(report)
    _note(quiet, summary(report))


def summary(report: dict) -> str:
    """A few lines for people: the headline figures, the targets and the weakest categories."""
    lines = []
    for key, name in (("independent", "independent split"), ("test", "old test split"), ("dev", "dev split")):
        if key in report:
            lines.append(_split_line(name, report[key]))
    if "named_needs" in report:
        n = report["named_needs"]
        lines.append(f"named needs: {n['found']} of {n['needs']} found in {n['phrasings']} phrasings "
                     f"(recall {n['recall']:.3f})")
    if "cross_validation" in report:
        cv = report["cross_validation"]
        kind = "grouped " if cv.get("grouped") else ""
        lines.append(f"{kind}{cv['folds']}-fold CV on train + dev: macro F1 {cv['macro_f1']:.3f} "
                     f"(sd {cv['macro_f1_std']:.3f})")
    if "desk_curve" in report:
        curve = report["desk_curve"]
        lines.append(f"desk corrections ({curve['split']} split, {curve['held_out']} held out): " + ", ".join(
            f"{p['corrections']} -> {p['macro_f1']:.3f}" for p in curve["points"]))
    main = report.get("independent", report["test"])
    weakest = sorted(main["per_category"].items(), key=lambda kv: kv[1]["f1"])[:5]
    lines.append("weakest: " + ", ".join(f"{code} {v['f1']:.2f}" for code, v in weakest))
    return "\n".join(lines)


def _split_line(name: str, split: dict) -> str:
    langs = ", ".join(f"{k} {v['micro_f1']:.2f}" for k, v in split.get("by_language", {}).items())
    none = split["no_need_texts"]
    return (f"{name}: {split['rows']} texts, macro F1 {split['macro']['f1']:.3f}, micro F1 "
            f"{split['micro']['f1']:.3f}; by language (micro) {langs}; {none['with_a_false_need']} of "
            f"{none['rows']} texts that need nothing got a need; calibration error "
            f"{split['reliability']['ece']:.3f}")


commands = [train_intake, evaluate_intake]
