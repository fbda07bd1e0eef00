"""The intake corpus (``data/intake/corpus_*.csv``), training and evaluation."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import re
import threading
import time
from pathlib import Path

import numpy as np

from matcher.errors import DataError
from matcher.intake.lexicon import read_lexicon
from matcher.intake.model import IntakeModel, load_model
from matcher.intake.text import INTAKE_VERSION

CORPUS_COLUMNS = ["id", "text", "labels", "lang", "split"]
# train: learned from. dev: written in another style, used to choose settings, then learned from too.
# test: written independently of the rest; only ever scored (data/intake/README.md, "The splits").
SPLITS = ("train", "dev", "test")
TRAINING_SPLITS = ("train", "dev")


def corpus_dir_of(ref) -> Path:
    """The corpus folder of the configured data: ``<DATA_DIR>/intake``."""
    return Path(ref.data_dir) / "intake"


def corpus_files(corpus_dir) -> list[Path]:
    """The corpus files ``corpus_*.csv`` of ``corpus_dir``, sorted by name."""
    return sorted(Path(corpus_dir).glob("corpus_*.csv"), key=lambda p: p.name)


def corpus_hash(corpus_dir) -> str:
    """SHA-256 of the training data: the bytes of every corpus file in name order, then lexicon.csv."""
    base = Path(corpus_dir)
    digest = hashlib.sha256()
    for path in corpus_files(base) + [base / "lexicon.csv"]:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def read_corpus(corpus_dir, categories) -> list[dict]:
    """Every row of every corpus file: {id, text, labels (list), lang, split, file}. Errors name the file,
    the row and the fix."""
    codes = set(categories)
    rows, seen = [], set()
    files = corpus_files(corpus_dir)
    if not files:
        raise DataError(f"No corpus_*.csv files in {corpus_dir}.", field="corpus")
    for path in files:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != CORPUS_COLUMNS:
                raise DataError(f"{path.name}: header must be {','.join(CORPUS_COLUMNS)}; got "
                                    f"{reader.fieldnames}.", field="corpus")
            for row in reader:
                rows.append(_corpus_row(path, row, codes, seen))
    return rows


def _corpus_row(path: Path, row: dict, codes: set, seen: set) -> dict:
    labels = (row.get("labels") or "").split()
    bad = [c for c in labels if c not in codes]
    where = f"{path.name} row {row.get('id')!r}"
    if bad:
        raise DataError(f"{where}: unknown label(s) {', '.join(bad)}; use taxonomy codes.", field="corpus",
                            allowed=sorted(codes))
    if row.get("split") not in SPLITS:
        raise DataError(f"{where}: split must be one of {', '.join(SPLITS)}; got {row.get('split')!r}.",
                            field="corpus")
    if not (row.get("text") or "").strip():
        raise DataError(f"{where}: empty text.", field="corpus")
    if row["id"] in seen:
        raise DataError(f"{where}: duplicate id.", field="corpus")
    seen.add(row["id"])
    return {"id": row["id"], "text": row["text"], "labels": labels, "lang": row.get("lang") or "",
            "split": row["split"], "file": path.name}


_ROUND = re.compile(r"^corpus_([a-z])_")


def round_of(row: dict) -> str:
    """The round of writing a corpus row comes from: the letter of ``corpus_<letter>_<code>.csv``,
    ``first`` for the first round's files, ``dev`` for their dev rows (a style of their own)."""
    if row["split"] == "dev":
        return "dev"
    if row["file"] == "desk":
        return "desk"
    m = _ROUND.match(row["file"])
    return m.group(1) if m else "first"


def label_matrix(rows: list[dict], categories: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(categories)}
    Y = np.zeros((len(rows), len(categories)), dtype=int)
    for i, row in enumerate(rows):
        for code in row["labels"]:
            Y[i, index[code]] = 1
    return Y


DESK_STYLE_WEIGHT = 1.0  # weight of the texts written like the desk's input (1: as any other; they set the thresholds)


def is_desk_style(row: dict) -> bool:
    """Whether a training row was written the way texts reach the desk: the persona rounds
    (``corpus_<letter>_personas.csv``) and the desk's own corrections."""
    return row["file"] == "desk" or row["file"].endswith("_personas.csv")


def train_model(ref, *, corpus_dir=None, seed: int = 0, splits=TRAINING_SPLITS, corrections=(),
                progress=None, desk_style_weight: float = DESK_STYLE_WEIGHT,
                desk_style_tuning: bool = True) -> IntakeModel:
    """Fit the classifier on the corpus's train and dev splits (the test split is never seen), plus the
    desk's ``corrections`` (``{"text", "chosen"}`` dicts: the needs the desk finally chose), and wrap it
    with the training data's hash. ``corpus_dir`` defaults to ``<DATA_DIR>/intake``. ``splits=("train",)``
    leaves the dev split out, to score it. ``progress`` (a callable taking a message) hears each step."""
    if "test" in splits:
        raise ValueError("the test split is never trained on")
    from matcher.intake.estimator import DEFAULT_PARAMS, IntakeClassifier
    base = Path(corpus_dir) if corpus_dir else corpus_dir_of(ref)
    categories = list(ref.category_codes)
    data_hash = corpus_hash(base)
    rows = [r for r in read_corpus(base, categories) if r["split"] in splits]
    rows += correction_rows(corrections, categories)
    lexicon = read_lexicon(base / "lexicon.csv", categories)
    start = time.perf_counter()
    est = IntakeClassifier(categories=categories, lexicon=lexicon, random_state=seed, **DEFAULT_PARAMS)
    desk_style = np.array([is_desk_style(r) for r in rows], dtype=bool)
    est.fit([r["text"] for r in rows], label_matrix(rows, categories), groups=[round_of(r) for r in rows],
            progress=progress, sample_weight=np.where(desk_style, desk_style_weight, 1.0),
            tune_rows=desk_style if desk_style_tuning and desk_style.any() else None)
    info = {"train_rows": len(rows), "splits": list(splits), "corrections": len(corrections),
            "desk_style_rows": int(desk_style.sum()), "desk_style_weight": desk_style_weight,
            "seconds": round(time.perf_counter() - start, 2), "seed": seed,
            "params": est.get_params(deep=False) | {"lexicon": f"{len(lexicon)} rows"},
            "corpus_files": [p.name for p in corpus_files(base)],
            "thresholds": dict(zip(categories, np.round(est.thresholds_, 3).tolist())),
            "named_thresholds": dict(zip(categories, np.round(est.named_thresholds_, 3).tolist()))}
    return IntakeModel(est.to_scorer(), data_hash=data_hash, info=info, ref=ref)


def correction_rows(corrections, categories) -> list[dict]:
    """The desk's corrections as training rows (round ``desk``: a group of their own in the folds); needs
    outside the taxonomy are dropped."""
    known = set(categories)
    return [{"id": f"desk-{i}", "text": c["text"], "labels": [n for n in c["chosen"] if n in known],
             "lang": "", "split": "train", "file": "desk"} for i, c in enumerate(corrections)]


_TRAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def training_lock(path: Path):
    """Held while one process checks and trains the model at ``path``: workers of one server (and test
    workers) that start together train it once, the others wait and load it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_or_train(model_path, ref, *, corpus_dir=None, progress=None) -> IntakeModel:
    """The saved model if it exists, is of this version and was trained on the current corpus (same
    ``data_hash``); otherwise train one and save it (atomically) at ``model_path`` (the INTAKE_MODEL
    setting). ``progress`` (a callable taking a message) hears when training starts."""
    path = Path(model_path)
    with _TRAIN_LOCK, training_lock(path):
        model = current_saved_model(path, ref, corpus_dir=corpus_dir)
        if model is None:
            if progress:
                progress(f"training the intake classifier into {path} ...")
            model = train_model(ref, corpus_dir=corpus_dir, progress=progress)
            model.save(path)
        return model


def current_saved_model(model_path, ref, *, corpus_dir=None) -> IntakeModel | None:
    """The model saved at ``model_path`` if it is of this version and was trained on the current corpus;
    None if it is missing, unreadable, of another version or stale."""
    path = Path(model_path)
    if not path.exists():
        return None
    try:
        model = load_model(path, ref)
    except Exception:  # noqa: BLE001 - an unreadable or foreign file counts as missing
        return None
    if (model.data_hash == corpus_hash(corpus_dir or corpus_dir_of(ref)) and model.version == INTAKE_VERSION
            and model.scorer.is_consistent()):
        return model
    return None
