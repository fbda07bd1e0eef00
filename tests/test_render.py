"""The one renderer: every comparative statement agrees with the numbers it quotes, in Thai and in English,
and every list of bundles follows its chance. A property test over 1,200 random requests on the demo
network, plus the wording of each reason."""

import math
import re

import numpy as np
import pytest

from matcher import render
from matcher.engine.matching import match
from matcher.engine.request import MatchRequest
from matcher.engine.results import Comparison, Reason

NUMBER = r"([\d,]+(?:\.\d)?)"
# What each comparative reason says, written independently of the renderer: (English, Thai) patterns with
# this bundle's number first, and the relation the two numbers must have.
CLAIMS = {
    "chance_higher": (r"has a higher chance that every need is met than (?:bundle \d+|the best bundle not shown) "
                      rf"\({NUMBER}% against {NUMBER}%\)",
                      rf"มีโอกาสสำเร็จครบทุกด้านสูงกว่า(?:ชุดที่ \d+|ชุดที่ดีที่สุดในบรรดาชุดที่ไม่ได้แสดง) "
                      rf"\({NUMBER}% เทียบกับ {NUMBER}%\)", ">"),
    "fewer_members": (rf"fewer members \({NUMBER} against {NUMBER}\)",
                      rf"ใช้สมาชิกน้อยกว่า \({NUMBER} เทียบกับ {NUMBER} ราย\)", "<"),
    "more_members": (rf"more members \({NUMBER} against {NUMBER}\)",
                     rf"ใช้สมาชิกมากกว่า \({NUMBER} เทียบกับ {NUMBER} ราย\)", ">"),
    "more_joint_work": (rf"more past joint work between its members \({NUMBER} against {NUMBER} referrals\)",
                        rf"สมาชิกเคยทำงานร่วมกันมากกว่า \({NUMBER} เทียบกับ {NUMBER} เรื่อง\)", ">"),
    "less_joint_work": (rf"less past joint work \({NUMBER} against {NUMBER} referrals\)",
                        rf"สมาชิกจะเคยทำงานร่วมกันน้อยกว่า \({NUMBER} เทียบกับ {NUMBER} เรื่อง\)", "<"),
    "nearer": (rf"nearer on average \({NUMBER} km against {NUMBER} km\)",
               rf"อยู่ใกล้กว่าโดยเฉลี่ย \({NUMBER} เทียบกับ {NUMBER} กม\.\)", "<"),
    "farther": (rf"farther away on average \({NUMBER} km against {NUMBER} km\)",
                rf"อยู่ไกลกว่าโดยเฉลี่ย \({NUMBER} เทียบกับ {NUMBER} กม\.\)", ">"),
}
CATEGORIES = ["rnd_product", "packaging_design", "shelf_life", "branding", "online_marketing", "market_linkage",
              "export_market", "ip_protection", "fda_registration", "gmp_haccp", "halal_cert", "loan",
              "credit_guarantee", "process_improvement", "business_management", "logistics"]
SECTORS = [None, "food", "herbs_cosmetics", "textiles", "handicrafts", "agri_processing", "metal_machinery"]


def as_number(text: str) -> float:
    return float(text.replace(",", ""))


def random_requests(snapshot, n: int, seed: int):
    rng = np.random.default_rng(seed)
    provinces = sorted({m["province"] for m in snapshot.members})
    ids = [m["id"] for m in snapshot.members]
    for _ in range(n):
        needs = rng.choice(CATEGORIES, int(rng.integers(1, 5)), replace=False).tolist()
        body = {"needs": needs, "province": provinces[int(rng.integers(len(provinces)))],
                "sector": SECTORS[int(rng.integers(len(SECTORS)))], "top_k": int(rng.integers(1, 6)),
                "province_assumed": bool(rng.random() < 0.25)}
        if rng.random() < 0.3:
            body["coordinate_with"] = rng.choice(ids, int(rng.integers(1, 3)), replace=False).tolist()
        if rng.random() < 0.2:
            body["exclude"] = rng.choice(ids, 3, replace=False).tolist()
        yield body


def joint_total(snapshot, members, on_case) -> int | None:
    if len(members) + len(on_case) < 2:
        return None
    coord = snapshot.coordination()
    idx = [snapshot.member_index[m] for m in members]
    case = [snapshot.member_index[m] for m in on_case]
    return (sum(coord.joint(a, b) for k, a in enumerate(idx) for b in idx[k + 1:])
            + sum(coord.joint(a, w) for a in idx for w in case))


def mean_km(snapshot, province, members) -> int:
    km = snapshot.distance_km(province)
    return round(sum(float(np.round(km[snapshot.member_index[m]], 1)) for m in members) / len(members))


def check_comparison(snapshot, req, this, other_members, other_chance, comparison: Comparison):
    first = comparison.reasons[0]
    if first.code == "chance_higher":
        assert first.params == {"this": round(this.chance_exact, 3), "other": round(other_chance, 3)}
        assert first.params["this"] > first.params["other"]
    else:
        assert first.code == "chance_equal" and round(this.chance_exact, 3) == round(other_chance, 3)
    numbers = {"fewer_members": (len(this.legs), len(other_members)),
               "more_members": (len(this.legs), len(other_members)),
               "more_joint_work": (joint_total(snapshot, this.members, req.coordinate_with),
                                   joint_total(snapshot, other_members, req.coordinate_with)),
               "less_joint_work": (joint_total(snapshot, this.members, req.coordinate_with),
                                   joint_total(snapshot, other_members, req.coordinate_with))}
    if not req.province_assumed:
        pair = (mean_km(snapshot, req.province, this.members), mean_km(snapshot, req.province, other_members))
        numbers.update(nearer=pair, farther=pair)
    said = {r.code for r in comparison.reasons[1:]}
    for code, (a, b) in numbers.items():
        relation = CLAIMS[code][2]
        holds = a is not None and b is not None and (a < b if relation == "<" else a > b)
        assert (code in said) == holds, (code, a, b, comparison.reasons)
        if holds:
            reason = next(r for r in comparison.reasons if r.code == code)
            assert (reason.params["this"], reason.params["other"]) == (a, b)
    for lang, k in (("en", 0), ("th", 1)):
        text = render.comparison_text(this.rank, comparison, snapshot.ref, lang)
        quoted = 0
        for reason in comparison.reasons:
            if reason.code not in CLAIMS:
                continue
            found = re.search(CLAIMS[reason.code][k], text)
            assert found, (lang, reason, text)
            a, b = as_number(found.group(1)), as_number(found.group(2))
            assert (a < b if CLAIMS[reason.code][2] == "<" else a > b), (lang, text)
            quoted += 1
        assert text.count("against" if lang == "en" else "เทียบกับ") == quoted, text  # no claim without a reason
        if lang == "th":
            assert "แม้ว่าจะสมาชิก" not in text and "แม้ว่าจะโอกาส" not in text


def check_leg_reasons(snapshot, req, bundle):
    coord = snapshot.coordination()
    for leg in bundle.legs:
        m = snapshot.member_index[leg.member]
        codes = [r.code for r in leg.reasons]
        assert ("distance" in codes) == (not req.province_assumed)
        for r in leg.reasons:
            if r.code == "distance":
                assert r.params["same_province"] == (leg.province == req.province)
                assert r.params["km"] == pytest.approx(round(float(snapshot.distance_km(req.province)[m]), 1))
                assert r.params["same_province"] or r.params["km"] > 0
            if r.code == "track_record":
                j = snapshot.category_index[r.params["need"]]
                assert r.params["finished"] == snapshot.finished[m, j] > 0
                assert r.params["completed"] == snapshot.completed[m, j] <= r.params["finished"]
            if r.code == "joint_work":
                assert r.params["referrals"] == coord.joint(m, snapshot.member_index[r.params["with"]]) > 0
            for lang in render.LANGS:
                text = render.reason_text(r, snapshot.ref, lang)
                quoted = [v for k, v in r.params.items() if k != "partners" and isinstance(v, int)
                          and not isinstance(v, bool)]
                assert text and all(str(v) in text.replace(",", "") for v in quoted), (r, text)
        partners = [o for o in bundle.members if o != leg.member] + list(req.coordinate_with)
        if "no_joint_work" in codes:
            assert partners and all(coord.joint(m, snapshot.member_index[o]) == 0 for o in partners)
        if partners and "joint_work" not in codes:
            assert "no_joint_work" in codes


def test_every_comparison_agrees_with_its_numbers_in_both_languages(demo):
    checked = comparisons = 0
    for body in random_requests(demo, 1200, seed=11):
        req = MatchRequest.parse(demo, body)
        result = match(demo, req)
        bundles = result.bundles
        chances = [b.chance for b in bundles]
        assert chances == sorted(chances, reverse=True), "the order follows the chance"
        for b in bundles:
            b.chance_exact = math.exp(-b.objective)
            assert b.chance == pytest.approx(b.chance_exact, abs=5e-5)
            assert b.chance == pytest.approx(math.prod(leg.chance for leg in b.legs), abs=5e-4)
            check_leg_reasons(demo, req, b)
        for k, b in enumerate(bundles):
            c = b.comparison
            if c is None:
                continue
            assert c.shown == (k + 1 < len(bundles))
            other_chance = math.exp(-c.objective)
            if c.shown:
                assert c.members == sorted(bundles[k + 1].members) and c.chance == bundles[k + 1].chance
            check_comparison(demo, req, b, c.members, other_chance, c)
            comparisons += 1
        checked += 1
    assert checked == 1200 and comparisons > 1500


@pytest.mark.parametrize("reason, th, en", [
    (Reason("distance", {"km": 0.0, "same_province": True}), "อยู่ในจังหวัดเดียวกับสถานประกอบการ",
     "in the enterprise's province"),
    (Reason("distance", {"km": 1234.5, "same_province": False}), "อยู่ห่างจากจังหวัดของสถานประกอบการ 1,234 กม.",
     "1,234 km from the enterprise's province"),
    (Reason("capacity_left", {"legs": 1}), "รับงานได้อีก 1 เรื่องในเดือนนี้", "capacity for 1 more referral this month"),
    (Reason("track_record", {"need": "loan", "completed": 3, "finished": 5}),
     "เคยรับงานด้านสินเชื่อและเงินทุนหมุนเวียน 5 เรื่อง สำเร็จ 3 เรื่อง", "completed 3 of 5 referrals in loans and working capital"),
    (Reason("joint_work", {"with": "A0002", "referrals": 1, "on_case": True}),
     "เคยทำงานร่วมกับ A0002 (ซึ่งรับงานในเรื่องนี้อยู่แล้ว) มาแล้ว 1 เรื่อง",
     "worked with A0002 (already on the case) on 1 past referral"),
    (Reason("no_joint_work", {"partners": 2}), "ยังไม่เคยทำงานร่วมกับสมาชิกอื่นในชุดนี้",
     "has not worked with the other members before"),
    (Reason("no_member_offers", {"need": "halal_cert"}), "ยังไม่มีสมาชิกในเครือข่ายที่ให้บริการด้านมาตรฐานฮาลาล",
     "no member of the network offers halal certification"),
])
def test_each_reason_reads_in_thai_and_english(ref, reason, th, en):
    assert render.reason_text(reason, ref, "th") == th
    assert render.reason_text(reason, ref, "en") == en


def test_close_chances_are_shown_to_a_tenth_of_a_percent_and_trade_offs_read_as_even_though(ref):
    comparison = Comparison(rank=2, members=["A2"], chance=0.721, objective=-math.log(0.721),
                            reasons=[Reason("chance_higher", {"this": 0.723, "other": 0.721}),
                                     Reason("more_members", {"this": 3, "other": 2}),
                                     Reason("less_joint_work", {"this": 0, "other": 4})],
                            only_in_this=[], only_in_other=[], shown=True)
    en = render.comparison_text(1, comparison, ref, "en")
    th = render.comparison_text(1, comparison, ref, "th")
    assert en == ("Bundle 1 has a higher chance that every need is met than bundle 2 (72.3% against 72.1%), even "
                  "though it has more members (3 against 2) and even though its members have less past joint work "
                  "(0 against 4 referrals).")
    assert th == ("ชุดที่ 1 มีโอกาสสำเร็จครบทุกด้านสูงกว่าชุดที่ 2 (72.3% เทียบกับ 72.1%) แม้ว่าจะใช้สมาชิกมากกว่า "
                  "(3 เทียบกับ 2 ราย) และแม้ว่าสมาชิกจะเคยทำงานร่วมกันน้อยกว่า (0 เทียบกับ 4 เรื่อง)")


def test_a_chance_is_explained_as_cases_out_of_a_hundred():
    assert render.chance_text(0.726, "en") == "Of every 100 cases like this one, about 73 would have every need met."
    assert render.chance_text(0.726, "th") == ("จากกรณีลักษณะเดียวกันทุก 100 ราย คาดว่าราว 73 รายจะได้รับการแก้ไข"
                                               "ครบทุกความต้องการ")
