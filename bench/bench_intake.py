"""Intake benchmark: training time, model load time and classification latency.

    .venv/bin/python bench/bench_intake.py

Trains the model on data/intake/ into a temporary file (with the fits in two processes, and as a baseline
in one), then measures in the same run:

* load: ``load_model`` in a fresh Python process (imports included) and in-process, against the baseline of
  building PyThaiNLP's full 62,000-word dictionary trie (what the load would cost without the domain
  dictionary);
* classify: ``IntakeModel.classify`` over every corpus text after one warm-up pass (median, p95, max of the
  first timing; and of the best of three timings per text), against the baseline of tokenising the same texts
  alone with ``word_tokenize(engine="newmm")``;
* the near-duplicate grouping that grouped cross-validation runs over the training texts.

Prints the figures and the ratios. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.intake import estimator  # noqa: E402
from matcher.intake.evaluation import near_duplicate_groups  # noqa: E402
from matcher.intake.model import load_model  # noqa: E402
from matcher.intake.text import _offline_pythainlp  # noqa: E402
from matcher.intake.training import read_corpus, train_model  # noqa: E402
from matcher.reference import load_reference  # noqa: E402

REF = load_reference(ROOT / "data")
CORPUS = ROOT / "data" / "intake"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def cold_load_seconds(path: Path, runs: int) -> tuple[float, float]:
    """(median seconds inside a fresh process to import matcher.intake.model, load the model and classify once,
    median wall-clock seconds of a fresh interpreter that does nothing) over ``runs`` processes."""
    load = ("import time; t = time.perf_counter(); from matcher.intake.model import load_model; "
            "from matcher.reference import load_reference; m = load_model(%r, load_reference(%r)); "
            "m.classify('ขนม'); print(time.perf_counter() - t)" % (str(path), str(ROOT / "data")))
    inside, bare = [], []
    for _ in range(runs):
        res = subprocess.run([sys.executable, "-c", load], cwd=ROOT, capture_output=True, text=True,
                             env=os.environ | {"PYTHONPATH": str(ROOT)}, check=True)
        inside.append(float(res.stdout.strip().splitlines()[-1]))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    return statistics.median(inside), statistics.median(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes for the cold load")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-process training baseline")
    args = parser.parse_args()

    start = time.perf_counter()
    model = train_model(REF, corpus_dir=CORPUS,
                        progress=lambda m: print(f"  [{time.perf_counter() - start:5.1f} s] {m}", file=sys.stderr))
    train_s = time.perf_counter() - start
    serial_s = None
    if not args.no_baseline:
        jobs = estimator.DEFAULT_PARAMS["n_jobs"]
        estimator.DEFAULT_PARAMS["n_jobs"] = 1
        start = time.perf_counter()
        train_model(REF, corpus_dir=CORPUS)
        serial_s = time.perf_counter() - start
        estimator.DEFAULT_PARAMS["n_jobs"] = jobs
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "intake.joblib")
        size_kb = path.stat().st_size / 1024
        start = time.perf_counter()
        loaded = load_model(path, REF)
        loaded.classify("ขนม")                       # builds the tokenizer's trie
        warm_load_s = time.perf_counter() - start
        cold_s, bare_s = cold_load_seconds(path, args.runs)

    _offline_pythainlp()
    from pythainlp.corpus import thai_words
    from pythainlp.tokenize import word_tokenize
    from pythainlp.util import Trie
    start = time.perf_counter()
    Trie(thai_words())
    full_trie_s = time.perf_counter() - start

    texts = [r["text"] for r in read_corpus(CORPUS, REF.category_codes)]
    for text in texts:                               # warm-up
        loaded.classify(text)
    per_text, best_of_3 = [], []
    for text in texts:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            loaded.classify(text)
            times.append(time.perf_counter() - t)
        per_text.append(times[0])
        best_of_3.append(min(times))
    tokenize = []
    word_tokenize("ขนม", engine="newmm")
    for text in texts:
        t = time.perf_counter()
        word_tokenize(text, engine="newmm", keep_whitespace=False)
        tokenize.append(time.perf_counter() - t)
    per_text.sort()
    best_of_3.sort()
    training = [r["text"] for r in read_corpus(CORPUS, REF.category_codes) if r["split"] != "test"]
    start = time.perf_counter()
    near_duplicate_groups(training)
    grouping_s = time.perf_counter() - start
    med, p95 = statistics.median(per_text), per_text[int(0.95 * (len(per_text) - 1))]
    tok_med = statistics.median(tokenize)

    print(f"corpus: {len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} characters")
    print(f"train: {train_s:.1f} s ({model.info['train_rows']} training texts, train and dev splits, fits in "
          f"{estimator.DEFAULT_PARAMS['n_jobs']} processes); model file {size_kb:.0f} KB"
          + (f"; baseline: the same training in one process {serial_s:.1f} s" if serial_s else ""))
    print(f"load, fresh process (imports + load + first classify): {cold_s:.3f} s "
          f"(plus interpreter start-up, {bare_s:.3f} s for an empty one)")
    print(f"load, in process (load + trie of {len(loaded.scorer.dictionary)} words): {warm_load_s:.3f} s; "
          f"baseline: PyThaiNLP full-dictionary trie alone {full_trie_s:.3f} s "
          f"(ratio {full_trie_s / warm_load_s:.1f}x)")
    print(f"classify after warm-up: median {_ms(med)}, p95 {_ms(p95)}, max {_ms(per_text[-1])}")
    print(f"classify, best of 3 per text: median {_ms(statistics.median(best_of_3))}, "
          f"p95 {_ms(best_of_3[int(0.95 * (len(texts) - 1))])}, p99 {_ms(best_of_3[int(0.99 * (len(texts) - 1))])}, "
          f"max {_ms(best_of_3[-1])}")
    print(f"near-duplicate groups of the {len(training)} training texts (for grouped cross-validation): "
          f"{grouping_s:.1f} s")
    print(f"baseline: newmm tokenising alone, median {_ms(tok_med)} (classify / tokenise = {med / tok_med:.1f}x)")
    print(f"targets: training < 60 s -> {'met' if train_s < 60 else 'NOT met'}; "
          f"load < 1 s -> {'met' if cold_s < 1 else 'NOT met'}; "
          f"classify < 5 ms -> {'met' if p95 < 0.005 else 'NOT met'} (p95)")


if __name__ == "__main__":
    main()
