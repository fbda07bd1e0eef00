"""evaluate-intake: every yardstick it reports, the independent split reported by figures only, the
reliability table and the simulated desk-correction curve."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from matcher.intake.evaluation import reliability


def test_reliability_on_a_known_case():
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    P = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    C = np.array([[0.95, 0.05], [0.85, 0.1], [0.65, 0.55], [0.0, 0.62]])
    rel = reliability(Y, P, C)
    # shown: the four needs and the 0.65 candidate (0.05 and 0.1 are under the floor of 0.2)
    assert rel["shown"] == 5 and rel["needs_shown"] == 4 and rel["needs_right"] == 0.75
    bins = {(b["from"], b["to"]): b for b in rel["bins"]}
    assert bins[(0.5, 0.6)] == {"from": 0.5, "to": 0.6, "shown": 1, "mean_confidence": 0.55, "share_right": 1.0}
    assert bins[(0.6, 0.7)]["shown"] == 2 and bins[(0.6, 0.7)]["share_right"] == 0.0
    # |0.55 - 1| + 2 * |0.635 - 0| + |0.85 - 1| + |0.95 - 1|, over 5 shown
    assert rel["ece"] == pytest.approx((0.45 + 1.27 + 0.15 + 0.05) / 5, abs=1e-4)


@pytest.fixture(scope="module")
def corpus_with_independent(tiny_intake_corpus, tmp_path_factory):
    """The tiny corpus plus an independent.csv made of its test rows (a stand-in with the real columns)."""
    out = tmp_path_factory.mktemp("with_independent")
    for path in tiny_intake_corpus.iterdir():
        shutil.copy(path, out / path.name)
    rows = []
    for path in sorted(out.glob("corpus_h_*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows += [r for r in csv.DictReader(handle)]
    with open(out / "independent.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "labels", "lang", "channel"])
        writer.writeheader()
        for r in rows:
            writer.writerow({"id": f"i-{r['id']}", "text": r["text"], "labels": r["labels"], "lang": r["lang"],
                             "channel": "walk-in"})
    return out, len(rows)


def test_evaluate_intake_reports_every_yardstick(runner, corpus_with_independent, tmp_path):
    corpus, n = corpus_with_independent
    result = runner.invoke(args=["evaluate-intake", "--corpus", str(corpus), "--model", str(tmp_path / "m.joblib"),
                                 "--cv-folds", "0", "--desk-curve"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    independent = report["independent"]
    assert independent["rows"] == n and set(independent["by_language"]) == {"th", "en", "mixed"}
    for key in ("macro", "micro", "per_category", "no_need_texts", "reliability"):
        assert key in independent
    assert independent["no_need_texts"]["false_need_rate"] is not None
    # figures only: no text, no id, no per-text result of the independent split anywhere in the report
    assert "mistakes" not in independent and "confusions" not in independent
    with open(corpus / "independent.csv", encoding="utf-8", newline="") as handle:
        texts = [r["text"] for r in csv.DictReader(handle)]
    dumped = json.dumps({k: v for k, v in report.items() if k != "test"}, ensure_ascii=False)
    assert not any(t in dumped for t in texts) and "i-" not in json.dumps(independent)
    assert report["test"]["mistakes"] is not None                 # the old split keeps its per-text report
    assert report["named_needs"]["needs"] >= 300 and 0 < report["named_needs"]["recall"] <= 1
    curve = report["desk_curve"]
    assert curve["split"] == "independent" and curve["held_out"] + curve["pool"] == n
    assert [p["corrections"] for p in curve["points"]] == [0, round(curve["pool"] / 4), round(curve["pool"] / 2),
                                                           curve["pool"]]
    assert curve["points"][-1]["macro_f1"] > curve["points"][0]["macro_f1"]   # learning from the desk helps
    assert "independent split" in result.stderr and "named needs" in result.stderr and "desk corrections" in result.stderr


def test_a_malformed_independent_split_is_refused_with_the_fix(runner, corpus_with_independent, tmp_path):
    corpus, _ = corpus_with_independent
    broken = tmp_path / "broken"
    shutil.copytree(corpus, broken)
    (broken / "independent.csv").write_text("id,text,labels,lang,channel\n1,ขนมขึ้นรา,mould,th,walk-in\n",
                                            encoding="utf-8")
    result = runner.invoke(args=["evaluate-intake", "--corpus", str(broken), "--model", str(tmp_path / "m.joblib"),
                                 "--cv-folds", "0", "--quiet"])
    assert result.exit_code != 0 and "unknown need(s) mould" in result.output and "taxonomy codes" in result.output
