"""Every figure ``evaluate-intake`` reports, and the check that decides whether a retrained model replaces
the current one.

Four yardsticks, none ever trained on:

* the **old test split** (``corpus_h_*.csv``, split ``test``): written apart from the training rounds, but
  by writers who read the labelling rules;
* the **independent split** (``independent.csv``, when it is there): written from personas by writers who
  never saw the category codes, the labelling rules or the corpus, labelled afterwards by others. Only
  figures are reported for it (never a text or a per-text result), so that nobody tunes on it;
* the **named-need table** (``named_needs.csv``): short phrasings that name a need outright; every named
  need must be predicted;
* texts that need nothing (in both splits): how many get a need anyway.

Each split's report carries a reliability table of the shown confidence (:func:`reliability`). The
simulated desk-correction curve holds out part of a split as "desk corrections" and retrains with more
and more of them, scoring the rest.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from matcher.errors import DataError
from matcher.intake.training import (
    TRAINING_SPLITS,
    corpus_dir_of,
    label_matrix,
    read_corpus,
    train_model,
)

NAMED_TABLE = "named_needs.csv"
INDEPENDENT_SPLIT = "independent.csv"
NAMED_COLUMNS = ["text", "lang", "needs"]
INDEPENDENT_COLUMNS = ["id", "text", "labels", "lang", "channel"]
CURVE_SHARES = (0.0, 0.25, 0.5, 1.0)


def read_named_table(path, categories) -> list[dict]:
    """The named-need table: ``{"text", "lang", "needs"}`` rows; errors name the line and the fix."""
    return _read_coded(path, NAMED_COLUMNS, "needs", categories)


def read_independent_split(path, categories) -> list[dict]:
    """The independent split's rows ``{"id", "text", "labels", "lang", "channel"}``."""
    return _read_coded(path, INDEPENDENT_COLUMNS, "labels", categories)


def _read_coded(path, columns, field: str, categories) -> list[dict]:
    """Rows of a CSV whose ``field`` holds space-separated category codes, split and checked."""
    rows = _read_csv(path, columns)
    for line, row in enumerate(rows, start=2):
        row[field] = (row.get(field) or "").split()
        _check_codes(path, line, row[field], categories)
    return rows


def _read_csv(path, columns) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not set(columns) <= set(reader.fieldnames or ()):
            raise DataError(f"{path}: header must include {','.join(columns)}; got {reader.fieldnames}.",
                            field="corpus")
        return [dict(r) for r in reader]


def _check_codes(path, line: int, codes, categories) -> None:
    bad = [c for c in codes if c not in set(categories)]
    if bad:
        raise DataError(f"{path}:{line}: unknown need(s) {', '.join(bad)}; use taxonomy codes.", field="corpus",
                        allowed=sorted(categories))


def split_report(model, rows, *, with_ids: bool) -> dict:
    """Multi-label figures, per language, false needs on texts that need nothing and the reliability of
    the shown confidence, for ``rows`` with ``text``, ``labels`` and ``lang``. ``with_ids=False`` leaves out
    everything about single texts (the independent split)."""
    from matcher.intake.evaluation import multilabel_report, reliability
    categories = model.categories
    Y = label_matrix(rows, categories)
    P, C = model.predict_with_confidence([r["text"] for r in rows])
    report = multilabel_report(Y, P, categories, langs=[r["lang"] for r in rows],
                               ids=[r["id"] for r in rows] if with_ids else None)
    if not with_ids:
        report.pop("confusions", None)
    none = Y.sum(axis=1) == 0
    report["no_need_texts"]["false_need_rate"] = round(float((P[none].sum(axis=1) > 0).mean()), 4) \
        if none.any() else None
    report["reliability"] = reliability(Y, P, C)
    return report


def named_recall(model, rows) -> dict:
    """How many of the needs the table names the model predicts, overall and by language; the phrasings
    it missed (the table is a test of the rule layer, so they are listed)."""
    categories = model.categories
    P = model.predict([r["text"] for r in rows])
    by_lang: dict[str, list[int]] = {}
    missed = []
    for row, pred in zip(rows, P):
        for need in row["needs"]:
            hit = bool(pred[categories.index(need)])
            by_lang.setdefault(row["lang"], [0, 0])[0] += hit
            by_lang[row["lang"]][1] += 1
            if not hit:
                missed.append({"text": row["text"], "need": need})
    found, total = sum(v[0] for v in by_lang.values()), sum(v[1] for v in by_lang.values())
    return {"phrasings": len(rows), "needs": total, "found": found, "recall": round(found / max(total, 1), 4),
            "by_language": {k: round(v[0] / v[1], 4) for k, v in sorted(by_lang.items())}, "missed": missed}


def correction_curve(ref, rows, *, corpus_dir=None, shares=CURVE_SHARES, seed: int = 0, progress=None) -> dict:
    """The simulated desk: half of ``rows`` (chosen by ``seed``) is held out and scored; the other half
    plays the desk's corrections (text and the needs finally chosen), added to the training data in the
    given ``shares``; one model is trained per share. Returns the held-out figures per share."""
    from matcher.intake.evaluation import multilabel_report
    order = np.random.RandomState(seed).permutation(len(rows))
    held, pool = [rows[i] for i in order[: len(rows) // 2]], [rows[i] for i in order[len(rows) // 2:]]
    points = []
    for share in shares:
        used = pool[: int(round(share * len(pool)))]
        if progress:
            progress(f"desk-correction curve: training with {len(used)} corrections")
        model = train_model(ref, corpus_dir=corpus_dir, seed=seed,
                            corrections=[{"text": r["text"], "chosen": r["labels"]} for r in used])
        Y, P = label_matrix(held, model.categories), model.predict([r["text"] for r in held])
        report = multilabel_report(Y, P, model.categories, langs=[r["lang"] for r in held])
        points.append({"corrections": len(used), "macro_f1": report["macro"]["f1"],
                       "micro_f1": report["micro"]["f1"],
                       "by_language": {k: v["micro_f1"] for k, v in report["by_language"].items()}})
    return {"held_out": len(held), "pool": len(pool), "points": points}


def is_not_worse(candidate, current, ref, *, corpus_dir=None) -> dict:
    """Whether ``candidate`` may replace ``current``: its macro F1 on the held-out split (the independent
    split when it is there, the old test split otherwise) is at least the current model's, and its
    named-need recall too. Returns both models' figures and ``"swap"``."""
    base = Path(corpus_dir) if corpus_dir else corpus_dir_of(ref)
    held_out = read_independent_split(base / INDEPENDENT_SPLIT, candidate.categories) \
        if (base / INDEPENDENT_SPLIT).exists() else None
    key = "independent_macro_f1" if held_out else "test_macro_f1"
    if not held_out:
        held_out = [r for r in read_corpus(base, candidate.categories) if r["split"] == "test"]
    figures = {}
    for name, model in (("candidate", candidate), ("current", current)):
        figures[name] = {key: split_report(model, held_out, with_ids=False)["macro"]["f1"]}
        if (base / NAMED_TABLE).exists():
            figures[name]["named_recall"] = named_recall(model, read_named_table(base / NAMED_TABLE,
                                                                                 model.categories))["recall"]
    swap = all(figures["candidate"][k] >= figures["current"][k] for k in figures["candidate"])
    return {"swap": swap, **figures}


def evaluate_model(model, ref, *, corpus_dir=None, cv_folds: int = 5, seed: int = 0, dev: bool = False,
                   desk_curve: bool = False, progress=None) -> dict:
    """Every figure of ``evaluate-intake``: the old test split, the independent split when present, the
    named-need table, cross-validation (``cv_folds``), the dev split scored by a model trained without it
    (``dev``) and the simulated desk-correction curve (``desk_curve``: on the independent split, or on the
    old test split while there is none)."""
    from matcher.intake.evaluation import cross_validate, nearest_overlap
    from matcher.intake.lexicon import read_lexicon
    from matcher.intake.training import round_of
    categories = model.categories
    base = Path(corpus_dir) if corpus_dir else corpus_dir_of(ref)
    rows = read_corpus(base, categories)
    test = [r for r in rows if r["split"] == "test"]
    train = [r for r in rows if r["split"] in TRAINING_SPLITS]
    report = {"model": {"version": model.version, "data_hash": model.data_hash, "trained_at": model.trained_at,
                        "corrections": model.info.get("corrections", 0)},
              "test": split_report(model, test, with_ids=True)}
    report["test"]["nearest_training_overlap"] = nearest_overlap([r["text"] for r in test],
                                                                 [r["text"] for r in train])
    independent = read_independent_split(base / INDEPENDENT_SPLIT, categories) \
        if (base / INDEPENDENT_SPLIT).exists() else None
    if independent is not None:
        report["independent"] = split_report(model, independent, with_ids=False)
    if (base / NAMED_TABLE).exists():
        report["named_needs"] = named_recall(model, read_named_table(base / NAMED_TABLE, categories))
    if cv_folds and cv_folds > 1:
        if progress:
            progress(f"cross-validation: {cv_folds} folds")
        lexicon = read_lexicon(base / "lexicon.csv", categories)
        report["cross_validation"] = cross_validate([r["text"] for r in train], label_matrix(train, categories),
                                                    categories, lexicon, folds=cv_folds, seed=seed,
                                                    groups=[round_of(r) for r in train])
    if dev:
        if progress:
            progress("dev split: training without it")
        rows_dev = [r for r in rows if r["split"] == "dev"]
        without_dev = train_model(ref, corpus_dir=base, seed=seed, splits=("train",))
        report["dev"] = split_report(without_dev, rows_dev, with_ids=True)
    if desk_curve:
        curve_rows = independent if independent is not None else test
        report["desk_curve"] = {"split": "independent" if independent is not None else "test",
                                **correction_curve(ref, curve_rows, corpus_dir=base, seed=seed, progress=progress)}
    return report
