"""Intake: the choices of version 2.1 measured on one persona round held out (never on the independent split).

    .venv/bin/python bench/intake_round_check.py            # holds out round l (corpus_l_personas.csv)

Trains three models on every corpus file except the held-out round and scores that round (macro and micro
F1): without the persona rounds; with them, thresholds set on all rows; with them, thresholds set on the
persona rows (version 2.1). Three trainings, about three minutes on 2 free cores. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.intake.assessment import split_report  # noqa: E402
from matcher.intake.training import read_corpus, train_model  # noqa: E402
from matcher.reference import load_reference  # noqa: E402


def corpus_copy(source: Path, out: Path, held_out: str, personas: bool) -> Path:
    """The lexicon and the corpus files, less the held-out round and (``personas=False``) every persona round."""
    out.mkdir()
    shutil.copy(source / "lexicon.csv", out / "lexicon.csv")
    for path in source.glob("corpus_*.csv"):
        if path.name == held_out or (not personas and path.name.endswith("_personas.csv")):
            continue
        shutil.copy(path, out / path.name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", default="corpus_l_personas.csv", help="the persona round scored")
    args = parser.parse_args()
    ref = load_reference(ROOT / "data")
    source = ROOT / "data" / "intake"
    rows = [r for r in read_corpus(source, ref.category_codes) if r["file"] == args.held_out]
    variants = (("without the persona rounds", False, True), ("with them, thresholds on all rows", True, False),
                ("with them, thresholds on the persona rows (2.1)", True, True))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, personas, tuning) in enumerate(variants):
            corpus = corpus_copy(source, Path(tmp) / str(i), args.held_out, personas)
            model = train_model(ref, corpus_dir=corpus, desk_style_tuning=tuning)
            report = split_report(model, rows, with_ids=False)
            print(f"{name}: macro F1 {report['macro']['f1']:.3f}, micro F1 {report['micro']['f1']:.3f} "
                  f"({len(rows)} texts of {args.held_out})", flush=True)


if __name__ == "__main__":
    main()
