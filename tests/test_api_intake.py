"""POST /api/v1/intake/classify and POST /api/v1/match with "text" instead of "needs"."""

from __future__ import annotations

import pytest

from conftest import assert_error_shape
from matcher.intake.training import load_or_train


@pytest.fixture(scope="module", autouse=True)
def current_model(intake_model_path, ref):
    """Train the session's intake model (the apps' INTAKE_MODEL) before the first app loads it."""
    return load_or_train(intake_model_path, ref)


@pytest.mark.parametrize("text,code", [
    ("ขนมเปี๊ยะขึ้นราภายใน 3 วัน ส่งไปขายต่างจังหวัดไม่ได้", "shelf_life"),
    ("the bank wants collateral we do not have", "credit_guarantee"),
    ("มีเลข อย. แล้ว แต่ห้างขอ GMP", "gmp_haccp"),
])
def test_classify(client, text, code):
    response = client.post("/api/v1/intake/classify", json={"text": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert {"needs", "candidates", "language", "province", "model"} <= set(body)
    assert code in [n["code"] for n in body["needs"]]
    for need in body["needs"]:
        assert set(need) == {"code", "label_th", "label_en", "confidence", "evidence"}
        assert all(phrase in text for phrase in need["evidence"])


def test_classify_answers_in_unescaped_thai(client):
    raw = client.post("/api/v1/intake/classify",
                      json={"text": "ขนมเปี๊ยะขึ้นราเร็ว ร้านอยู่จังหวัดเชียงใหม่"}).get_data(as_text=True)
    assert "ยืดอายุผลิตภัณฑ์" in raw and "ขึ้นรา" in raw
    assert '"province":"TH-50"' in raw.replace(" ", "")


def test_denied_needs_are_not_returned(client):
    body = client.post("/api/v1/intake/classify",
                       json={"text": "ไม่ต้องการกู้เงินนะครับ อยากได้โลโก้กับแบรนด์ใหม่"}).get_json()
    codes = [n["code"] for n in body["needs"]]
    assert "branding" in codes and "loan" not in codes


@pytest.mark.parametrize("payload", [{"text": ""}, {"text": "   \n"}, {"text": "ก" * 2001}, {"text": 5},
                                     {"text": None}, {}, {"text": ["ขนม"]}])
def test_classify_rejects_bad_text(client, payload):
    body = assert_error_shape(client.post("/api/v1/intake/classify", json=payload), 422, field="text")
    assert "text" in body["error"]


def test_classify_rejects_a_body_that_is_not_json(client):
    response = client.post("/api/v1/intake/classify", data="ขนม", content_type="text/plain")
    assert_error_shape(response, response.status_code)
    assert response.status_code in (400, 415, 422)


def test_classify_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/intake/classify"]


# -- POST /api/v1/match with text ---------------------------------------------------------------------------

def test_match_with_text_classifies_then_matches(client):
    text = "มีเลข อย. แล้ว แต่ห้างขอ GMP ร้านอยู่ที่เชียงใหม่"
    response = client.post("/api/v1/match", json={"text": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["intake"]["needs"] and body["needs"] == [n["code"] for n in body["intake"]["needs"]]
    assert "gmp_haccp" in body["needs"] and "fda_registration" not in body["needs"]
    assert body["province"] == "TH-50"                  # from the text: no province was given
    assert body["bundles"]
    assert all(set(b) for b in body["bundles"])


def test_match_with_text_and_an_explicit_province(client):
    body = client.post("/api/v1/match", json={"text": "the bank wants collateral we do not have",
                                              "province": "Khon Kaen"}).get_json()
    assert body["province"] == "TH-40" and "credit_guarantee" in body["needs"]


def test_match_with_needs_is_unchanged(client):
    body = client.post("/api/v1/match", json={"needs": ["loan"], "province": "TH-50"}).get_json()
    assert body["needs"] == ["loan"] and "intake" not in body


@pytest.mark.parametrize("payload,field", [
    ({"province": "TH-50"}, "needs"),
    ({"text": "", "province": "TH-50"}, "text"),
    ({"text": "ก" * 2001, "province": "TH-50"}, "text"),
    ({"text": "ขนมขึ้นราเร็ว"}, "province"),
])
def test_match_with_bad_or_missing_text(client, payload, field):
    assert_error_shape(client.post("/api/v1/match", json=payload), 422, field=field)


def test_a_text_that_names_no_need_matches_nothing_and_says_why(client):
    response = client.post("/api/v1/match", json={"text": "วันนี้แค่แวะมาขอบคุณเจ้าหน้าที่ค่ะ", "province": "TH-50"})
    body = response.get_json()
    assert response.status_code == 200 and body["bundles"] == [] and body["needs"] == []
    assert body["intake"]["needs"] == [] and "ไม่พบความต้องการบริการ" in body["note"]["th"]
