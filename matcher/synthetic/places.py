"""Public details of the synthetic agencies: a fictitious street address in the agency's province, typical
opening hours for its kind, and consultants' names in English.

Addresses are drawn from their own random generator (seeded from the demo's seed), so adding them leaves every
other draw of the demo, and so its members, referrals and outcomes, exactly as they were. Every address says
that it is fictitious (ที่อยู่สมมติ).
"""

from __future__ import annotations

import numpy as np

ADDRESS_STREAM = 7  # the second seed word of the addresses' own generator
STREETS = ("ถนนเจริญราษฎร์", "ถนนศรีสุข", "ถนนประชาสามัคคี", "ถนนมิตรภาพ", "ถนนสุขาภิบาล 1", "ถนนเทศบาล 3",
           "ถนนรอบเมือง", "ถนนราษฎร์อุทิศ", "ถนนหน้าเมือง", "ถนนอุตสาหกรรม")
SUBDISTRICTS = ("ในเมือง", "ตลาด", "หนองแวง", "ท่าโพธิ์", "บ้านใหม่", "หัวเวียง", "ป่าแดด", "วังน้ำ")
BANGKOK_DISTRICTS = (("บางซื่อ", "บางซื่อ"), ("สามเสนใน", "พญาไท"), ("ทุ่งมหาเมฆ", "สาทร"), ("ลาดยาว", "จตุจักร"))
CAPITAL_DISTRICT = {"TH-14": "อำเภอพระนครศรีอยุธยา"}  # where the capital district is not "Mueang <province>"
SYNTHETIC_MARK = "(ที่อยู่สมมติ)"
OFFICE_HOURS = "Mo-Fr 08:30-16:30"  # Thai government office hours
HOURS_BY_KIND = {"commercial_bank": "Mo-Fr 08:30-15:30", "sme_d_bank": "Mo-Fr 08:30-15:30",
                 "thailand_post": "Mo-Fr 08:30-16:30; Sa 09:00-12:00", "chamber_of_commerce": "Mo-Fr 08:30-17:00",
                 "fti_chapter": "Mo-Fr 08:30-17:00"}

GIVEN_EN = {"สมชาย": "Somchai", "สมหญิง": "Somying", "วิชัย": "Wichai", "มาลี": "Mali", "ประเสริฐ": "Prasert",
            "สุดา": "Suda", "อนุชา": "Anucha", "กัญญา": "Kanya", "ธนพล": "Thanaphon", "ปิยะนุช": "Piyanut",
            "ชัยวัฒน์": "Chaiwat", "รัตนา": "Rattana", "สุรเชษฐ์": "Surachet", "วรรณา": "Wanna",
            "ณัฐพงษ์": "Nattaphong", "จันทร์เพ็ญ": "Chanphen", "ศักดิ์ชัย": "Sakchai", "อรุณี": "Arunee",
            "กิตติ": "Kitti", "พิมพ์ชนก": "Phimchanok"}
FAMILY_EN = {"ใจดี": "Jaidee", "ศรีสุข": "Srisuk", "มั่นคง": "Mankhong", "แก้วมณี": "Kaewmanee", "ทองดี": "Thongdee",
             "บุญมา": "Boonma", "สายทอง": "Saithong", "พูลผล": "Poonphon", "วงศ์ใหญ่": "Wongyai",
             "รุ่งเรือง": "Rungrueang", "ชัยมงคล": "Chaimongkol", "สุขสวัสดิ์": "Suksawat", "ดวงแก้ว": "Duangkaew",
             "เพชรรัตน์": "Phetcharat", "นาคสวัสดิ์": "Naksawat", "อินทร์แก้ว": "Inkaew"}


def address_rng(seed: int) -> np.random.Generator:
    """The addresses' own generator (independent of the demo's main stream)."""
    return np.random.default_rng([seed, ADDRESS_STREAM])


def fictitious_address(rng: np.random.Generator, province: dict) -> str:
    """A plausible street address in ``province`` (a row of the reference), marked as fictitious."""
    house = f"{int(rng.integers(1, 400))}/{int(rng.integers(1, 30))}"
    street = STREETS[int(rng.integers(len(STREETS)))]
    if province["code"] == "TH-10":
        khwaeng, khet = BANGKOK_DISTRICTS[int(rng.integers(len(BANGKOK_DISTRICTS)))]
        return f"{house} {street} แขวง{khwaeng} เขต{khet} กรุงเทพมหานคร {SYNTHETIC_MARK}"
    subdistrict = SUBDISTRICTS[int(rng.integers(len(SUBDISTRICTS)))]
    district = CAPITAL_DISTRICT.get(province["code"], f"อำเภอเมือง{province['name_th']}")
    return f"{house} {street} ตำบล{subdistrict} {district} จังหวัด{province['name_th']} {SYNTHETIC_MARK}"


def office_hours(kind: str) -> str:
    """Typical opening hours of an agency of this kind (canonical form of ``matcher.hours``)."""
    return HOURS_BY_KIND.get(kind, OFFICE_HOURS)


def english_name(given: str, family: str) -> str:
    """A consultant's Thai given and family name in the Latin letters Thai people commonly use."""
    return f"{GIVEN_EN[given]} {FAMILY_EN[family]}"
