"""Intake: macro F1 on the dev split as the training data grows, and for other settings.

    .venv/bin/python bench/intake_dev_curve.py                  # the curve over the rounds of writing
    .venv/bin/python bench/intake_dev_curve.py --set C=4 --set char_weight=2.0

The dev split is scored by models trained on the train split alone (never the dev or test split). The
curve adds the rounds of ``data/intake/`` (``corpus_<letter>_*.csv``) in the order they were written; each
``--set NAME=VALUE`` instead trains once on the whole train split with that setting changed (the others as
in ``DEFAULT_PARAMS``) and prints it next to the defaults. Each training takes up to a minute. Run by hand;
not a test.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import f1_score  # noqa: E402

from api import DATA_DIR  # noqa: E402
from matcher.intake.training import label_matrix, read_corpus  # noqa: E402
from matcher.intake.training import round_of as row_round  # noqa: E402
from matcher.reference import load_reference  # noqa: E402
from matcher.intake.lexicon import read_lexicon  # noqa: E402
from matcher.intake.estimator import DEFAULT_PARAMS, IntakeClassifier  # noqa: E402

# The rounds in the order they were written ("first" is corpus_<code>.csv; h is the test split).
STEPS = [("1.4 corpus (first round + x)", ("first", "x")), ("+ y", ("y",)), ("+ z", ("z",)),
         ("+ e, w, v, u, m", ("e", "w", "v", "u", "m")),
         ("+ a, b, c, d, f, g (1.5)", ("a", "b", "c", "d", "f", "g")), ("+ p (2.0)", ("p",))]
CORPUS_DIR = DATA_DIR / "intake"


def round_of(file_name: str) -> str:
    m = re.match(r"corpus_([a-z])_", file_name)
    return m.group(1) if m else "first"


def dev_macro_f1(train: list[dict], dev: list[dict], categories, lexicon, **changes) -> float:
    est = IntakeClassifier(categories=categories, lexicon=lexicon, **(DEFAULT_PARAMS | changes))
    est.fit([r["text"] for r in train], label_matrix(train, categories), groups=[row_round(r) for r in train])
    predicted = est.predict([r["text"] for r in dev])
    return f1_score(label_matrix(dev, categories), predicted, average="macro", zero_division=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of IntakeClassifier to compare with the defaults (repeatable)")
    args = parser.parse_args()
    categories = list(load_reference(DATA_DIR).category_codes)
    rows = read_corpus(CORPUS_DIR, categories)
    lexicon = read_lexicon(CORPUS_DIR / "lexicon.csv", categories)
    dev = [r for r in rows if r["split"] == "dev"]
    train = [r for r in rows if r["split"] == "train"]
    print(f"dev split: {len(dev)} texts; lexicon: {len(lexicon)} terms")
    if args.set:
        changes = [(name, ast.literal_eval(value)) for name, value in (s.split("=", 1) for s in args.set)]
        for label, change in [("defaults", {})] + [(f"{n} = {v}", {n: v}) for n, v in changes]:
            start = time.perf_counter()
            score = dev_macro_f1(train, dev, categories, lexicon, **change)
            print(f"{label:40s} {len(train):6d} train texts  dev macro F1 {score:.3f}  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
        return
    used: set[str] = set()
    for label, rounds in STEPS:
        used |= set(rounds)
        subset = [r for r in train if round_of(r["file"]) in used]
        start = time.perf_counter()
        score = dev_macro_f1(subset, dev, categories, lexicon)
        print(f"{label:40s} {len(subset):6d} train texts  dev macro F1 {score:.3f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
