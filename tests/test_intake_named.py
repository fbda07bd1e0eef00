"""The rule layer for needs named outright, and the named-need table (data/intake/named_needs.csv): every
need a phrasing names is predicted, in Thai, English, mixed and misspelt."""

from __future__ import annotations

import pytest

from conftest import DATA_DIR
from matcher.intake.assessment import named_recall, read_named_table
from matcher.intake.named import damerau_levenshtein_at_most_one, is_requested, named_hits, named_needs, skeleton
from matcher.intake.negation import negation_scopes, with_negation
from matcher.intake.text import normalised
from matcher.intake.training import load_or_train

TABLE = DATA_DIR / "intake" / "named_needs.csv"


def named(text: str) -> list[str]:
    norm, origin = normalised(text)
    hits = named_hits(norm, text, origin)
    return named_needs(with_negation(hits, negation_scopes(norm, hits)), norm)


@pytest.fixture(scope="module")
def model(intake_model_path, ref):
    return load_or_train(intake_model_path, ref)


@pytest.mark.parametrize("text,needs", [
    ("อยากขอ อย. และมาตรฐาน GMP และเงินกู้ขยายโรงงาน", ["fda_registration", "gmp_haccp", "loan"]),
    ("โรงงานน้ำพริก อยากได้ อย. และ GMP", ["fda_registration", "gmp_haccp"]),
    ("we still have no FDA number and no halal certificate", ["fda_registration", "halal_cert"]),
    ("need a loan", ["loan"]),
    ("อยากขายออนไลน์", ["online_marketing"]),
    ("ขอเลขอ.ย น้ำผึ้งป่า", ["fda_registration"]),              # glued to the word before, no final dot
    ("ขึ้นทะเบียน อ ย ให้น้ำดื่ม", ["fda_registration"]),          # a space between the letters
    ("ขอฮาลานให้ไก่ทอด", ["halal_cert"]),                        # final น for ล
    ("ขอ มพช. ให้ตะกร้าสาน", ["product_standard"]),              # พ for ผ
    ("อยากส่งอออกกล้วยตาก", ["export_market"]),                 # one letter too many
    ("credit guarentee from TCG please", ["credit_guarantee"]),  # one letter changed
    ("orgainc cert for coffee beans", ["organic_cert"]),         # two letters swapped
    ("Thai FAD registration please", ["fda_registration"]),      # an acronym in capitals, swapped
])
def test_needs_named_outright_are_found_with_their_slips(text, needs):
    assert sorted(named(text)) == sorted(needs)


@pytest.mark.parametrize("text", [
    "มีเลข อย. แล้ว แต่ห้างขอ GMP",                   # done: only GMP is asked for
    "we already have the FDA number, the buyer wants GMP",
    "ไม่ต้องการกู้เงินค่ะ อยากได้ GMP",
])
def test_denied_or_done_needs_are_not_named_needs(text):
    assert named(text) == ["gmp_haccp"]


@pytest.mark.parametrize("text,word", [
    ("we need an expert to look at our oven, it burns too much electricity and the bill doubled last month",
     "export_market"),                                         # expert is a word, not a slip of export
    ("อาจารย์บอกว่าเราทำเรื่องนี้ได้อย่างดี ตอนนี้ปัญหาคือคนงานลาออกบ่อยมาก อยากได้คนช่วยวางระบบค่าจ้างให้ชัดเจนกว่านี้",
     "fda_registration"),                                      # อย inside อย่าง
    ("กลุ่มเราขายของออนไลน์มาสามปีแล้วยอดดีมาก ตอนนี้สิ่งที่เป็นปัญหาคือเครื่องซีลถุงเก่ามาก ซีลไม่ติดบ่อย อยากได้เครื่องใหม่",
     "online_marketing"),                                      # a channel mentioned in passing, far from the request
])
def test_words_that_only_look_like_a_named_need_are_left_to_the_model(text, word):
    assert word not in named(text)


def test_a_request_word_near_the_name_makes_a_long_text_ask_for_it():
    text = ("ร้านเราทำขนมไทยมาสิบปี ขายหน้าร้านกับตลาดนัดในอำเภอ ลูกค้าประจำเยอะ ตอนนี้ลูกสาวกลับมาช่วย อยากขายออนไلน์"
            .replace("ออนไلน์", "ออนไลน์"))
    norm = normalised(text)[0]
    hit = next(h for h in named_hits(norm) if h.category == "online_marketing")
    assert len(norm) > 80 and is_requested(norm, hit)


def test_skeleton_and_one_edit():
    assert skeleton("ฮาลาน") == skeleton("ฮาราล") == skeleton("ฮาลาล")
    assert len(skeleton("สินเชื่อ")) == len("สินเชื่อ")       # one for one: offsets are kept
    assert damerau_levenshtein_at_most_one("exprot", "export")
    assert damerau_levenshtein_at_most_one("loann", "loan")
    assert not damerau_levenshtein_at_most_one("expert", "exports")


def test_the_named_need_table_is_complete():
    rows = read_named_table(TABLE, [c for c in _codes()])
    langs = {r["lang"] for r in rows}
    assert len(rows) >= 200 and langs == {"th", "en", "mixed"}
    assert all(r["needs"] for r in rows)


def test_every_need_of_the_named_table_is_predicted(model):
    report = named_recall(model, read_named_table(TABLE, model.categories))
    assert report["needs"] >= 300
    assert report["missed"] == [] and report["recall"] == 1.0, report["missed"]


def test_named_needs_show_in_classify_with_evidence_from_the_text(model):
    result = model.classify("อยากขอ อย. และมาตรฐาน GMP และเงินกู้ขยายโรงงาน")
    codes = [n["code"] for n in result["needs"]]
    assert {"fda_registration", "gmp_haccp", "loan"} <= set(codes)
    for need in result["needs"]:
        assert need["evidence"] and all(e in "อยากขอ อย. และมาตรฐาน GMP และเงินกู้ขยายโรงงาน" for e in need["evidence"])


def _codes():
    from matcher.reference import load_reference
    return load_reference(DATA_DIR).category_codes


def test_the_app_loads_a_model_that_train_intake_replaced_without_a_restart(app, model, intake_model_path):
    import os
    engine = app.extensions["rismep"]
    first = engine.intake
    assert engine.intake is first                                  # kept while the file is unchanged
    info = os.stat(intake_model_path)
    os.utime(intake_model_path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    assert engine.intake is not first                              # replaced file: loaded again


@pytest.mark.parametrize("text,nothing", [
    ("แวะมาขอบคุณค่ะ ตอนนี้ยังไม่มีเรื่องให้ช่วยนะคะ ไว้มีอะไรจะแวะมาใหม่", True),
    ("Thanks for the fair last month, nothing else for now.", True),
    ("ได้ อย. แล้ว ไม่ต้องการอะไรเรื่องมาตรฐาน อยากได้เครื่องบรรจุอัตโนมัติ", False),     # a request follows
    ("Marketing is fine, so no help needed there. We need a loan for a new oven.", False),  # scoped: "there"
])
def test_a_visit_that_says_it_needs_nothing_gets_no_need(model, text, nothing):
    result = model.classify(text)
    assert (result["needs"] == []) is nothing, result["needs"]
