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


@click.command("train-intake")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="folder of corpus_*.csv and lexicon.csv (default: intake/ under the DATA_DIR setting)")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="where to save the model (default: the INTAKE_MODEL setting, data/models/intake.joblib)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the threshold folds")
@click.option("--if-stale", is_flag=True,
              help="do nothing if the saved model is of this version and trained on the current corpus")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def train_intake(corpus_dir, out_path, seed, if_stale, quiet):
    """Train the intake classifier on the corpus's train and dev splits; save it with its version and data hash.

    Example: flask --app api train-intake
    """
    from matcher.intake.training import corpus_dir_of, current_saved_model, train_model
    path = Path(out_path or current_app.config["INTAKE_MODEL"])
    if if_stale and current_saved_model(path, _ref(), corpus_dir=corpus_dir) is not None:
        _note(quiet, f"the intake classifier at {path} is up to date")
        return
    _note(quiet, f"training the intake classifier on {corpus_dir or corpus_dir_of(_ref())} (about a minute) ...")
    start = time.perf_counter()
    try:
        model = train_model(_ref(), corpus_dir=corpus_dir, seed=seed)
    except RismepError as error:
        raise click.ClickException(error.message) from error
    model.save(path)
    _echo_json({"path": str(path), "version": model.version, "data_hash": model.data_hash,
                "trained_at": model.trained_at, "seconds": round(time.perf_counter() - start, 2),
                "size_kb": round(path.stat().st_size / 1024, 1), **model.info})


@click.command("evaluate-intake")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="folder of corpus_*.csv and lexicon.csv (default: intake/ under the DATA_DIR setting)")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="model file (default: the INTAKE_MODEL setting; trained first if absent or stale)")
@click.option("--cv-folds", type=click.IntRange(0, 20), default=5, show_default=True,
              help="folds of cross-validation on the training splits, train and dev (0: skip it)")
@click.option("--dev", is_flag=True,
              help="also train on the train split alone and score the dev split (about a minute more)")
@click.option("--quiet", is_flag=True, help="print nothing on stderr")
def evaluate_intake(corpus_dir, model_path, cv_folds, dev, quiet):
    """Evaluate the intake classifier on the held-out test split (never used in training or tuning).

    Prints micro and macro F1, per-category precision, recall and F1, the most frequent confusions and
    per-language figures as JSON, plus cross-validation of the same training on the training splits
    (train and dev) and, with --dev, the dev split scored by a model trained without it. A short summary
    goes to stderr.

    Example: flask --app api evaluate-intake --cv-folds 5
    """
    from matcher.intake.training import evaluate_model, load_or_train
    try:
        model = load_or_train(model_path or current_app.config["INTAKE_MODEL"], _ref(), corpus_dir=corpus_dir,
                              progress=lambda message: _note(quiet, message))
        _note(quiet, f"evaluating model {model.version} ({model.data_hash[:12]}) ...")
        report = evaluate_model(model, _ref(), corpus_dir=corpus_dir, cv_folds=cv_folds, dev=dev)
    except RismepError as error:
        raise click.ClickException(error.message) from error
    _echo_json(report)
    _note(quiet, summary(report))


def summary(report: dict) -> str:
    """A few lines for people: the headline figures and the weakest categories."""
    test = report["test"]
    lines = [f"test split: {test['rows']} texts, macro F1 {test['macro']['f1']:.3f}, "
             f"micro F1 {test['micro']['f1']:.3f}"]
    if "cross_validation" in report:
        cv = report["cross_validation"]
        kind = "grouped " if cv.get("grouped") else ""
        lines.append(f"{kind}{cv['folds']}-fold CV on train + dev: macro F1 {cv['macro_f1']:.3f} "
                     f"(sd {cv['macro_f1_std']:.3f})")
    if "dev" in report:
        lines.append(f"dev split ({report['dev']['rows']} texts, model trained on train alone): "
                     f"macro F1 {report['dev']['macro']['f1']:.3f}")
    weakest = sorted(test["per_category"].items(), key=lambda kv: kv[1]["f1"])[:5]
    lines.append("weakest: " + ", ".join(f"{code} {v['f1']:.2f}" for code, v in weakest))
    return "\n".join(lines)


commands = [train_intake, evaluate_intake]
