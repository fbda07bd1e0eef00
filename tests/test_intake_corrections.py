"""The desk's corrections of the suggested needs: stored with the case (same transaction, same consent),
learned by train-intake, and a new model swapped in only when it is not worse on the held-out figures."""

from __future__ import annotations

import json
import re

import pytest

from conftest import DATA_DIR, signed_in_client
from matcher import accounts
from matcher.errors import Unavailable
from matcher.store import open_db
from matcher.store import intake as intake_store
from web.desk import services

TEXT = "ขนมเปี๊ยะขึ้นราภายในสามวัน อยากได้เงินทุนหมุนเวียน"
CASE = {"enterprise_name": "ร้านทดสอบการแก้ไข (ทดสอบ)", "contact_name": "สมศรี ทดสอบ", "contact_phone": "081-000-0000",
        "contact_email": "", "province": "TH-50", "sector": "food", "cluster": "", "text": TEXT}
SUGGESTED = {"needs": [{"code": "shelf_life", "label_th": "ยืดอายุ", "label_en": "Shelf life", "confidence": 0.9,
                        "evidence": ["ขึ้นรา"]},
                       {"code": "packaging_design", "label_th": "บรรจุภัณฑ์", "label_en": "Packaging", "confidence": 0.6,
                        "evidence": ["ขนมเปี๊ยะ"]}],
             "candidates": [], "language": "th", "province": "TH-50", "model": "2.0 test"}


@pytest.fixture
def desk_app(db_path, monkeypatch):
    from api import create_app
    db = open_db(db_path)
    accounts.create_demo_accounts(db)
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "test"})
    monkeypatch.setattr(services, "classify", lambda text: SUGGESTED)
    yield app, db
    db.close()


def signed_in(app, db):
    return signed_in_client(app, db, "demo-desk", csrf="t")


def post(client, path, **data):
    """POST a form; a case step is followed to the page it redirects to (as a browser does)."""
    steps = ("/desk/cases/needs", "/desk/cases/bundles", "/desk/cases/consent")
    return client.post(path, data={"csrf_token": "t", **data}, follow_redirects=path in steps)


def hidden(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', html)


def walk_the_case(client, chosen: list[str], consent: str = "yes"):
    """Step 2 (the suggestions), then the officer's choice through steps 3 and 4 to the send."""
    html = post(client, "/desk/cases/needs", **CASE).get_data(as_text=True)
    suggested, model = hidden(html, "suggested"), hidden(html, "intake_model")
    carried = {"suggested": suggested, "intake_model": model[0] if model else ""}
    html = post(client, "/desk/cases/bundles", **CASE, **carried, needs=chosen, needs_chosen="1").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/desk/cases/consent">(.*?)</form>', html, re.S).group(1)
    assignment = dict(re.findall(r'name="(assign\.[a-z_]+)" value="([A-Z0-9]+)"', form))
    assert hidden(form, "suggested") == suggested                 # carried through the steps
    html = post(client, "/desk/cases/consent", **CASE, **carried, needs=chosen, rank="1", **assignment)\
        .get_data(as_text=True)
    key = hidden(html, "idempotency_key")[0]
    return post(client, "/desk/cases/send", **CASE, **carried, needs=chosen, rank="1", idempotency_key=key,
                consent=consent, consent_by="สมศรี ทดสอบ", **assignment)


def test_the_desk_correction_is_stored_with_the_case(desk_app):
    app, db = desk_app
    client = signed_in(app, db)
    response = walk_the_case(client, chosen=["shelf_life", "loan"])          # packaging removed, loan added
    assert response.status_code == 302, response.get_data(as_text=True)
    rows = intake_store.corrections(db)
    assert len(rows) == 1
    row = rows[0]
    assert row["text"] == TEXT and row["model"] == "2.0 test" and row["desk"]
    assert row["suggested"] == ["shelf_life", "packaging_design"] and row["chosen"] == ["shelf_life", "loan"]
    assert (row["confirmed"], row["removed"], row["added"]) == (["shelf_life"], ["packaging_design"], ["loan"])
    case_id = db.execute("SELECT case_id FROM referrals ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert row["case_id"] == case_id


def test_without_consent_neither_the_case_nor_the_correction_is_written(desk_app):
    app, db = desk_app
    client = signed_in(app, db)
    before = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    response = walk_the_case(client, chosen=["shelf_life"], consent="")
    assert response.status_code == 422
    assert db.execute("SELECT count(*) FROM cases").fetchone()[0] == before
    assert intake_store.corrections(db) == []


def test_a_failed_send_writes_no_correction_and_no_referral(desk_app, monkeypatch):
    app, db = desk_app
    client = signed_in(app, db)

    def broken(*args, **kwargs):
        raise Unavailable("The database cannot take writes right now (disk full); try again later.")
    monkeypatch.setattr(intake_store, "record_correction", broken)
    before = db.execute("SELECT count(*) FROM referrals").fetchone()[0]
    response = walk_the_case(client, chosen=["shelf_life"])
    assert response.status_code == 503 and "disk full" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM referrals").fetchone()[0] == before  # rolled back together


# -- learning from them ------------------------------------------------------------------------------------

def test_train_intake_learns_the_stored_corrections(desk_app, tiny_intake_corpus, tmp_path):
    from matcher.intake.model import load_model
    from matcher.reference import load_reference
    app, db = desk_app
    unusual = "เครื่องแพ็คมือหมุนพังบ่อยมาก งานค้างทุกวัน"          # a phrasing the tiny corpus has never seen
    for i in range(12):
        assert walk_the_case(signed_in(app, db), chosen=["technology_automation"]).status_code == 302
    db.execute("UPDATE cases SET text = ? WHERE id IN (SELECT case_id FROM intake_corrections)", [unusual])
    out = tmp_path / "intake.joblib"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["train-intake", "--corpus", str(tiny_intake_corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["corrections"] == 12 and report["saved"] is True
    assert "desk corrections" in result.stderr and "fitting" in result.stderr      # progress on stderr
    with_fixes = load_model(out, load_reference(DATA_DIR))
    result = runner.invoke(args=["train-intake", "--corpus", str(tiny_intake_corpus), "--out", str(tmp_path / "plain.joblib"),
                                 "--no-corrections", "--quiet"])
    plain = load_model(tmp_path / "plain.joblib", load_reference(DATA_DIR))
    assert with_fixes.probabilities(unusual)["technology_automation"] > plain.probabilities(unusual)["technology_automation"]


def test_a_model_that_is_worse_on_the_held_out_split_is_not_swapped_in(desk_app, tiny_intake_corpus, tmp_path):
    app, db = desk_app
    for _ in range(40):                             # the desk "corrects" every text to a wrong need
        assert walk_the_case(signed_in(app, db), chosen=["logistics"]).status_code == 302
    texts = [r[0] for r in db.execute("SELECT id FROM cases WHERE id IN (SELECT case_id FROM intake_corrections)")]
    for case_id, text in zip(texts, _test_texts(tiny_intake_corpus)):
        db.execute("UPDATE cases SET text = ? WHERE id = ?", [text, case_id])
    out = tmp_path / "intake.joblib"
    runner = app.test_cli_runner()
    first = runner.invoke(args=["train-intake", "--corpus", str(tiny_intake_corpus), "--out", str(out), "--no-corrections"])
    assert first.exit_code == 0, first.output
    saved_at = json.loads(first.stdout)["trained_at"]
    second = runner.invoke(args=["train-intake", "--corpus", str(tiny_intake_corpus), "--out", str(out)])
    report = json.loads(second.stdout)
    assert report["saved"] is False and report["check"]["swap"] is False
    assert report["check"]["candidate"]["test_macro_f1"] < report["check"]["current"]["test_macro_f1"]
    from matcher.intake.model import load_model
    from matcher.reference import load_reference
    assert load_model(out, load_reference(DATA_DIR)).trained_at == saved_at      # the current model stayed


def _test_texts(corpus) -> list[str]:
    import csv
    texts = []
    for path in sorted(corpus.glob("corpus_h_*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            texts += [r["text"] for r in csv.DictReader(handle) if r["labels"] and "logistics" not in r["labels"]]
    return texts[:40]
