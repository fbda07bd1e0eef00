import csv
from pathlib import Path

import pytest

from matcher.errors import Unprocessable

ROOT = Path(__file__).resolve().parent.parent
SHARED_TAXONOMY = ROOT.parent / "shared" / "taxonomy.csv"


def test_taxonomy_is_the_22_shared_categories(ref):
    assert len(ref.categories) == 22
    if SHARED_TAXONOMY.exists():
        with open(SHARED_TAXONOMY, encoding="utf-8") as f:
            shared = list(csv.DictReader(f))
        assert [dict(c) for c in ref.categories] == shared


def test_provinces_cover_thailand(ref):
    assert len(ref.provinces) == 77
    assert len({p["code"] for p in ref.provinces}) == 77
    hubs = {p["name_en"] for p in ref.provinces if p["is_hub"]}
    assert hubs == {"Chiang Mai", "Nakhon Ratchasima", "Suphan Buri", "Surat Thani", "Phitsanulok", "Phichit",
                    "Udon Thani", "Khon Kaen", "Ubon Ratchathani", "Chon Buri", "Songkhla"}
    hub_codes = {p["code"] for p in ref.provinces if p["is_hub"]}
    assert all(p["hub_code"] in hub_codes for p in ref.provinces)
    assert {p["region"] for p in ref.provinces} == {"north", "northeast", "central", "east", "west", "south"}


def test_hub_assignment_is_the_nearest_hub(ref):
    from matcher.geo import haversine_km
    hubs = [p for p in ref.provinces if p["is_hub"]]
    for p in ref.provinces:
        nearest = min(hubs, key=lambda h: haversine_km(p["lat"], p["lon"], h["lat"], h["lon"]))
        assert p["hub_code"] == nearest["code"], p["name_en"]


@pytest.mark.parametrize("value, code", [
    ("TH-50", "TH-50"), ("th-50", "TH-50"), ("Chiang Mai", "TH-50"), ("chiangmai", "TH-50"),
    ("เชียงใหม่", "TH-50"), ("จังหวัดเชียงใหม่", "TH-50"), ("จ.เชียงใหม่", "TH-50"), ("Bangkok", "TH-10"),
    ("กรุงเทพมหานคร", "TH-10"), ("กทม", "TH-10"), ("Nong Bua Lam Phu", "TH-39"), ("Korat", "TH-30"),
    ("Bueng Kan", "TH-38"),
])
def test_resolve_province(ref, value, code):
    assert ref.resolve_province(value) == code


@pytest.mark.parametrize("value", ["Chiangmaii", "", None, "Atlantis"])
def test_unknown_province_is_an_error_with_the_fix(ref, value):
    with pytest.raises(Unprocessable) as info:
        ref.resolve_province(value)
    assert info.value.field == "province"
    assert "TH-50" in info.value.message


def test_unknown_province_suggests_close_names(ref):
    with pytest.raises(Unprocessable, match="Chiang Mai"):
        ref.resolve_province("Chiangmaii")


def test_agency_kinds_offer_known_categories_with_sources(ref):
    codes = set(ref.category_codes)
    offered = set()
    for kind in ref.agency_kinds:
        assert kind["source"], kind["code"]
        assert set(kind["categories"]) <= codes, kind["code"]
        offered.update(kind["categories"])
    assert offered == codes  # every category has some kind of agency offering it
    by_code = ref.kind_by_code
    assert by_code["tcg"]["categories"] == ["credit_guarantee"]
    assert set(by_code["sme_d_bank"]["categories"]) == {"loan", "business_management"}
    assert "fda_registration" in by_code["provincial_public_health_office"]["categories"]


def test_check_categories_names_unknown_codes(ref):
    assert ref.check_categories(["loan", "loan", "gmp_haccp"]) == ["loan", "gmp_haccp"]
    with pytest.raises(Unprocessable, match="gmp_haccp") as info:
        ref.check_categories(["gmp"])
    assert info.value.allowed == ref.category_codes
