"""The synthetic demo network: deterministic from a seed, shaped by published RISMEP figures.

Everything this module makes is SYNTHETIC (fictitious agencies, consultants, enterprises and referrals)
and is labelled so in the store (``synthetic`` columns and the ``dataset`` meta) and in every response.

Shape (``scale="demo"``), from the programme's published 2017-2018 figures: the 16 provinces live in 2018
(the 11 hub provinces with a regional industrial promotion centre plus Chiang Rai, Phetchabun, Nakhon
Sawan, Nong Bua Lamphu and Roi Et), exactly 245 agencies and 217 consultants, about 400 historical
referrals from 2017-2018 of which at least 72 are multi-agency, and economic value in the tens of
millions of baht. ``scale="national"`` spreads about ten times the members over all 77 provinces with
50,000 historical referrals, for benchmarks.

Outcomes follow a hidden ground-truth success model (:mod:`matcher.synthetic.truths`; ``default`` unless
another is asked for) plus noise: specialisation, distance, load against capacity, the member's hidden
quality, sector fit and past collaboration matter. The truth is stored (``demo_truth``: each leg's chance;
``demo_truth_members``: each member's hidden quality; the truth's name in the dataset meta) so that the
engine can be checked against it; the engine never reads it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from matcher import lifecycle
from matcher.geo import distance_matrix
from matcher.reference import Reference
from matcher.synthetic import places
from matcher.synthetic.truths import DEFAULT_TRUTH, Truth, truth_named

DEMO_SEED = 2018
HUB_NAMES = ("Chiang Mai", "Nakhon Ratchasima", "Suphan Buri", "Surat Thani", "Phitsanulok", "Phichit",
             "Udon Thani", "Khon Kaen", "Ubon Ratchathani", "Chon Buri", "Songkhla")
EXTRA_2018 = ("Chiang Rai", "Phetchabun", "Nakhon Sawan", "Nong Bua Lamphu", "Roi Et")


@dataclass(frozen=True)
class Scale:
    name: str
    agencies: int
    consultants: int
    referrals: int
    enterprises: int
    national: bool


SCALES = {
    "demo": Scale("demo", 245, 217, 400, 600, False),
    "national": Scale("national", 2450, 2170, 50_000, 20_000, True),
    # Ten times national: for measuring how the engine's cost grows with the network (takes many minutes).
    "national10": Scale("national10", 24_500, 21_700, 500_000, 200_000, True),
}

# Which needs enterprises of a sector bring (relative weights; the rest share a small base weight).
SECTOR_NEEDS = {
    "food": {"fda_registration": 5, "gmp_haccp": 5, "shelf_life": 4, "packaging_design": 4, "branding": 3,
             "online_marketing": 3, "loan": 2, "halal_cert": 1.5, "rnd_product": 2},
    "herbs_cosmetics": {"fda_registration": 5, "rnd_product": 4, "branding": 3, "packaging_design": 3,
                        "organic_cert": 2, "online_marketing": 3, "ip_protection": 2},
    "beverages": {"fda_registration": 4, "gmp_haccp": 4, "shelf_life": 3, "branding": 3, "market_linkage": 2},
    "agri_processing": {"organic_cert": 4, "gmp_haccp": 3, "process_improvement": 3, "market_linkage": 3,
                        "loan": 2, "export_market": 2},
    "textiles": {"branding": 4, "online_marketing": 4, "product_standard": 3, "ip_protection": 2,
                 "market_linkage": 3, "workforce_skills": 2},
    "handicrafts": {"packaging_design": 4, "branding": 4, "product_standard": 3, "market_linkage": 3,
                    "online_marketing": 3},
    "furniture_wood": {"process_improvement": 4, "technology_automation": 3, "export_market": 3,
                       "environment_energy": 2, "loan": 2},
    "metal_machinery": {"technology_automation": 4, "process_improvement": 4, "quality_improvement": 3,
                        "environment_energy": 2, "loan": 3, "credit_guarantee": 2},
    "fisheries": {"gmp_haccp": 3, "shelf_life": 3, "logistics": 3, "export_market": 3, "loan": 2},
    "services_tourism": {"online_marketing": 4, "branding": 3, "business_management": 4,
                         "workforce_skills": 3},
}
# Categories a consultant (an individual SP) may offer: advice, not certificates, credit or delivery.
CONSULTANT_CATEGORIES = ("rnd_product", "packaging_design", "shelf_life", "branding", "online_marketing",
                         "market_linkage", "export_market", "ip_protection", "fda_registration", "gmp_haccp",
                         "product_standard", "environment_energy", "quality_improvement",
                         "process_improvement", "technology_automation", "business_management",
                         "workforce_skills", "halal_cert", "organic_cert")
# Agencies every live province has, then agencies found mostly in hub provinces.
PROVINCE_KINDS = ("provincial_industry_office", "provincial_public_health_office", "provincial_commerce_office",
                  "provincial_agriculture_office", "community_development_office", "chamber_of_commerce",
                  "fti_chapter", "skill_development_office", "energy_office", "commercial_bank", "thailand_post")
HUB_KINDS = ("industrial_promotion_centre", "university", "sme_d_bank", "tcg")
EXTRA_KINDS = {"university": 5, "commercial_bank": 4, "sme_d_bank": 2, "food_institute": 1, "halal_institute": 1,
               "organic_certifier": 1, "digital_agency": 1, "provincial_industry_office": 0.5}
SOUTH_HALAL = ("TH-90", "TH-94", "TH-95", "TH-96", "TH-91", "TH-84", "TH-80", "TH-92", "TH-81", "TH-10")
CLUSTERS = (  # id, English, Thai, province (English), sector
    ("herbs", "Herbs and Thai traditional medicine", "สมุนไพรและแพทย์แผนไทย", "Chiang Mai", "herbs_cosmetics"),
    ("muay_thai", "Muay Thai goods and services", "มวยไทย", "Nakhon Ratchasima", "textiles"),
    ("betta_fish", "Betta fish", "ปลากัด", "Suphan Buri", "fisheries"),
    ("pineapple", "Pineapple", "สับปะรด", "Chiang Rai", "agri_processing"),
    ("garlic", "Garlic", "กระเทียม", "Chiang Mai", "agri_processing"),
    ("halal_food", "Halal food", "อาหารฮาลาล", "Songkhla", "food"),
    ("digital_content", "Digital content", "ดิจิทัลคอนเทนต์", "Khon Kaen", "services_tourism"),
    ("agritech", "Agritech", "เทคโนโลยีเกษตร", "Udon Thani", "agri_processing"),
)
GIVEN = ("สมชาย", "สมหญิง", "วิชัย", "มาลี", "ประเสริฐ", "สุดา", "อนุชา", "กัญญา", "ธนพล", "ปิยะนุช",
         "ชัยวัฒน์", "รัตนา", "สุรเชษฐ์", "วรรณา", "ณัฐพงษ์", "จันทร์เพ็ญ", "ศักดิ์ชัย", "อรุณี", "กิตติ", "พิมพ์ชนก")
FAMILY = ("ใจดี", "ศรีสุข", "มั่นคง", "แก้วมณี", "ทองดี", "บุญมา", "สายทอง", "พูลผล", "วงศ์ใหญ่", "รุ่งเรือง",
          "ชัยมงคล", "สุขสวัสดิ์", "ดวงแก้ว", "เพชรรัตน์", "นาคสวัสดิ์", "อินทร์แก้ว")
PRODUCTS = ("ข้าวแต๋น", "น้ำพริก", "ผ้าทอ", "กาแฟ", "สบู่สมุนไพร", "ขนมเปี๊ยะ", "น้ำปลา", "ไม้แกะสลัก", "ทุเรียนกวน",
            "เครื่องจักสาน", "ชาใบหม่อน", "กล้วยอบ", "ปลาร้า", "เซรั่มว่านหางจระเข้", "ผ้าไหม", "ข้าวหอมมะลิ")
ENTERPRISE_FORMS = ("วิสาหกิจชุมชน{p}", "ห้างหุ้นส่วนจำกัด {p}{f}", "บริษัท {p}{f} จำกัด", "ร้าน{p}{f}")


def truth_logit(spec, dist_km, load, quality, sector_fit, joint):
    """The default hidden success model (vectorised): what really drives a leg's completion in the demo world."""
    return truth_named(DEFAULT_TRUTH).logit(spec, dist_km, load, quality, sector_fit, joint)


def live_provinces(ref: Reference, national: bool) -> dict[str, int]:
    """Province code -> year it went live (2017 for the hubs, 2018 for the five neighbours)."""
    if national:
        return {p["code"]: (2017 if p["is_hub"] else 2018) for p in ref.provinces}
    live = {ref.resolve_province(n): 2017 for n in HUB_NAMES}
    live.update({ref.resolve_province(n): 2018 for n in EXTRA_2018})
    return live


class _Generator:
    def __init__(self, ref: Reference, seed: int, scale: Scale):
        self.ref, self.scale = ref, scale
        self.rng = np.random.default_rng(seed)
        self.places = places.address_rng(seed)  # addresses draw from their own stream: the rest stays as it was
        self.live = live_provinces(ref, scale.national)
        self.prov_codes = [p["code"] for p in ref.provinces]
        self.prov_index = {c: i for i, c in enumerate(self.prov_codes)}
        self.dist = distance_matrix(ref.provinces)
        self.created = "2017-01-01T00:00:00"

    def choice(self, seq, p=None):
        return seq[int(self.rng.choice(len(seq), p=p))]

    # -- members -------------------------------------------------------------------------------
    def agency_plan(self) -> list[tuple[str, str]]:
        """(kind, province) for every agency, exactly ``scale.agencies`` of them."""
        live = sorted(self.live)
        plan = [(k, p) for p in live for k in PROVINCE_KINDS]
        plan += [(k, p) for p in live if self.ref.province_by_code[p]["is_hub"] for k in HUB_KINDS]
        plan += [("halal_institute", p) for p in live if p in SOUTH_HALAL]
        kinds, weights = zip(*EXTRA_KINDS.items())
        weights = np.array(weights) / sum(weights)
        hubs = [p for p in live if self.ref.province_by_code[p]["is_hub"]]
        while len(plan) < self.scale.agencies:
            kind = self.choice(kinds, weights)
            plan.append((kind, self.choice(hubs if self.rng.random() < 0.6 else live)))
        order = self.rng.permutation(len(plan))[: self.scale.agencies]
        return sorted((plan[i] for i in order), key=lambda kp: (kp[1], kp[0]))

    def agencies(self):
        members, offerings, seen = [], [], defaultdict(int)
        for n, (kind, prov) in enumerate(self.agency_plan(), start=1):
            k, p = self.ref.kind_by_code[kind], self.ref.province_by_code[prov]
            seen[(kind, prov)] += 1
            suffix = f" {seen[(kind, prov)]}" if seen[(kind, prov)] > 1 else ""
            mid = f"A{n:04d}"
            members.append({"id": mid, "type": "agency", "kind": kind, "province": prov,
                            "name_th": f"{k['name_th']} {p['name_th']}{suffix} (สมมติ)",
                            "name_en": f"{k['name_en']}, {p['name_en']}{suffix} (synthetic)",
                            "sectors": " ".join(self.ref.sector_codes), "phone": f"0{self.rng.integers(20, 80)}-{n:06d}",
                            "address": places.fictitious_address(self.places, p), "hours": places.office_hours(kind),
                            "synthetic": 1, "active": 1, "created_at": self.created})
            for i, cat in enumerate(k["categories"]):
                primary = i < 2
                offerings.append({"member_id": mid, "category": cat,
                                  "capacity_month": int(self.rng.integers(6, 21) if primary else
                                                        self.rng.integers(3, 11)),
                                  "specialisation": round(float(self.rng.uniform(0.65, 0.95) if primary else
                                                                self.rng.uniform(0.3, 0.7)), 2)})
        return members, offerings

    def consultants(self, agencies):
        live = sorted(self.live)
        weight = np.array([3.0 if self.ref.province_by_code[p]["is_hub"] else 1.0 for p in live])
        hosts = defaultdict(list)
        for a in agencies:
            if a["kind"] in ("university", "industrial_promotion_centre"):
                hosts[a["province"]].append(a["id"])
        members, offerings = [], []
        sector_codes = list(self.ref.sector_codes)
        for n in range(1, self.scale.consultants + 1):
            prov = self.choice(live, weight / weight.sum())
            mid = f"C{n:04d}"
            given, family = self.choice(GIVEN), self.choice(FAMILY)
            name = f"{given} {family}"
            affiliation = (self.choice(hosts[prov]) if hosts[prov] and self.rng.random() < 0.4 else None)
            sectors = self.rng.choice(sector_codes, size=int(self.rng.integers(1, 4)), replace=False)
            members.append({"id": mid, "type": "consultant", "province": prov,
                            "name_th": f"{name} (ที่ปรึกษา, สมมติ)",
                            "name_en": f"{places.english_name(given, family)} (consultant, synthetic)",
                            "sectors": " ".join(sorted(sectors)), "affiliation": affiliation,
                            "years_experience": int(self.rng.integers(2, 30)), "synthetic": 1, "active": 1,
                            "created_at": self.created})
            cats = self.rng.choice(CONSULTANT_CATEGORIES, size=int(self.rng.integers(2, 5)), replace=False)
            for i, cat in enumerate(cats):
                offerings.append({"member_id": mid, "category": str(cat),
                                  "capacity_month": int(self.rng.integers(2, 7)),
                                  "specialisation": round(float(self.rng.uniform(0.6, 0.95) if i == 0 else
                                                                self.rng.uniform(0.35, 0.8)), 2)})
        return members, offerings

    # -- enterprises and clusters -----------------------------------------------------------------
    def clusters(self, consultants):
        rows = []
        for cid, en, th, prov_name, sector in CLUSTERS:
            prov = self.ref.resolve_province(prov_name)
            local = [c["id"] for c in consultants if c["province"] == prov]
            cda = self.choice(local) if local else None
            rows.append({"id": cid, "name_en": f"{en} cluster (synthetic)", "name_th": f"คลัสเตอร์{th} (สมมติ)",
                         "province": prov, "sector": sector, "cda_member_id": cda,
                         "cda_name": f"{self.choice(GIVEN)} {self.choice(FAMILY)} (สมมติ)", "synthetic": 1})
        return rows

    def enterprises(self, clusters):
        live = sorted(self.live)
        rows = []
        for n in range(1, self.scale.enterprises + 1):
            cluster = clusters[n % len(clusters)] if n % 3 == 0 else None
            prov = cluster["province"] if cluster else self.choice(live)
            sector = cluster["sector"] if cluster else self.choice(list(self.ref.sector_codes))
            form = self.choice(ENTERPRISE_FORMS)
            rows.append({
                "id": n, "name": form.format(p=self.choice(PRODUCTS), f=self.choice(FAMILY)) + " (สมมติ)",
                "province": prov, "sector": sector,
                "size": self.choice(("micro", "small", "medium"), np.array([0.55, 0.35, 0.10])),
                "cluster_id": cluster["id"] if cluster else None,
                "stage": self.choice(("upstream", "midstream", "downstream")) if cluster else None,
                "contact_name": f"{self.choice(GIVEN)} {self.choice(FAMILY)}",
                "contact_phone": f"08{self.rng.integers(0, 10)}-{self.rng.integers(100, 1000)}-{n % 10000:04d}",
                "contact_email": f"enterprise{n}@example.com", "tax_id": None, "synthetic": 1,
                "created_at": self.created})
        return rows


def _needs_for(gen: _Generator, sector: str, categories: list[str]) -> list[str]:
    weights = np.array([SECTOR_NEEDS[sector].get(c, 0.4) for c in categories], dtype=float)
    k = int(gen.choice((1, 2, 3, 4), np.array([0.38, 0.34, 0.2, 0.08])))
    picked = gen.rng.choice(len(categories), size=k, replace=False, p=weights / weights.sum())
    return [categories[i] for i in sorted(picked)]


class _History:
    """Simulates referrals month by month: who the desks chose, and how each leg really went."""

    def __init__(self, gen: _Generator, members, offerings, enterprises, truth: Truth):
        self.gen, self.members, self.enterprises, self.truth = gen, members, enterprises, truth
        self.index = {m["id"]: i for i, m in enumerate(members)}
        self.quality = gen.rng.normal(0.0, 0.6, size=len(members))
        self.prov = np.array([gen.prov_index[m["province"]] for m in members])
        self.sectors = [set((m.get("sectors") or "").split()) for m in members]
        self.capacity = np.zeros(len(members))
        self.offers = defaultdict(list)  # category -> [(member index, specialisation)]
        for o in offerings:
            i = self.index[o["member_id"]]
            self.capacity[i] += o["capacity_month"]
            self.offers[o["category"]].append((i, o["specialisation"]))
        self.spec = {(self.index[o["member_id"]], o["category"]): o["specialisation"] for o in offerings}
        self._near: dict = {}
        self.load = defaultdict(int)  # (member index, month) -> legs sent that month
        self.joint = defaultdict(int)  # (i, j) with i < j -> joint referrals so far

    def nearby(self, category, prov):
        """The 60 likeliest members for (category, province) and their base weights (cached)."""
        key = (category, prov)
        if key not in self._near:
            cands = self.offers.get(category, [])
            idx = np.array([c[0] for c in cands], dtype=int)
            spec = np.array([c[1] for c in cands])
            weight = np.exp(-self.gen.dist[prov, self.prov[idx]] / 60.0) * (0.3 + spec) if len(idx) else spec
            keep = np.argsort(-weight, kind="stable")[:60]
            self._near[key] = (idx[keep], weight[keep])
        return self._near[key]

    def pick_member(self, category, prov, chosen):
        """The desk's choice: mostly near and specialised members, preferring past partners."""
        idx, base = self.nearby(category, prov)
        if len(idx) == 0 or base.sum() <= 0:
            return None
        partner = np.array([sum(self.joint.get((min(i, j), max(i, j)), 0) for j in chosen) for i in idx])
        weight = base * (1 + 0.5 * np.minimum(partner, 4))
        return int(self.gen.rng.choice(idx, p=weight / weight.sum()))

    def referral_legs(self, needs, prov, sector, month):
        """Assignment of needs to members, then one leg per member with its true success chance."""
        groups: dict[int, list[str]] = {}
        for need in needs:
            m = self.pick_member(need, prov, list(groups))
            if m is not None:
                groups.setdefault(m, []).append(need)
        legs = []
        for m, cats in groups.items():
            load = self.load[(m, month)] / max(self.capacity[m], 1.0)
            joint = sum(self.joint[tuple(sorted((m, o)))] for o in groups if o != m)
            fit = 1.0 if sector in self.sectors[m] else 0.0
            dist = self.gen.dist[prov, self.prov[m]]
            p = self.truth.leg_success([self.spec[(m, c)] for c in cats], dist, load, self.quality[m], fit, joint)
            legs.append((m, cats, p, load, dist))
        for m in groups:
            self.load[(m, month)] += 1
        members = sorted(groups)
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                self.joint[(members[a], members[b])] += 1
        return legs


def _leg_events(gen, ref_id, leg_id, status, start: datetime, actor_desk, member_id, value, reason):
    path = {"completed": ["sent", "accepted", "in_progress", "completed"],
            "closed_unresolved": ["sent", "accepted", "in_progress", "closed_unresolved"],
            "declined": ["sent", "declined"], "sent": ["sent"], "accepted": ["sent", "accepted"],
            "in_progress": ["sent", "accepted", "in_progress"]}[status]
    events, at, prev = [], start, None
    for step in path:
        data = {}
        if step == "completed":
            data = {"value_baht": value, "note": "synthetic outcome"}
        elif step == "declined":
            data = {"reason": reason}
        events.append({"referral_id": ref_id, "leg_id": leg_id, "actor": actor_desk if step == "sent" else member_id,
                       "at": at.isoformat(timespec="seconds"), "from_status": prev, "to_status": step,
                       "data": _json(data) if data else None})
        prev = step
        at += timedelta(days=int(gen.rng.integers(1, 20)))
    return events, at


def _json(value):
    import json
    return json.dumps(value, ensure_ascii=False)


def history(gen: _Generator, members, offerings, enterprises, *, open_referrals: int, truth: Truth):
    """Cases, referrals, legs, events and the hidden truth for ``scale.referrals`` referrals."""
    sim = _History(gen, members, offerings, enterprises, truth)
    categories = gen.ref.category_codes
    n_ref = gen.scale.referrals
    start = date(2017, 1, 1)
    days = np.sort(gen.rng.integers(0, 730, size=n_ref))
    out = {"cases": [], "referrals": [], "legs": [], "events": [], "truth": [],
           "truth_members": [{"member_id": m["id"], "quality": round(float(q), 6)}
                             for m, q in zip(members, sim.quality)]}
    leg_id = 0
    multi_needed = max(72, int(0.2 * n_ref))
    for r in range(n_ref):
        ent = enterprises[int(gen.rng.integers(0, len(enterprises)))]
        prov = gen.prov_index[ent["province"]]
        needs = _needs_for(gen, ent["sector"], categories)
        if len(needs) == 1 and multi_needed > (n_ref - r) * 0.5:
            needs = sorted(set(needs) | set(_needs_for(gen, ent["sector"], categories)))
        sent = datetime.combine(start + timedelta(days=int(days[r])), datetime.min.time()) + timedelta(hours=9)
        month = sent.strftime("%Y-%m")
        legs = sim.referral_legs(needs, prov, ent["sector"], month)
        if not legs:
            continue
        ref_id = r + 1
        desk = f"desk-{ent['province']}"
        is_open = r >= n_ref - open_referrals
        statuses, last = [], sent
        for m, cats, p, load, dist in legs:
            leg_id += 1
            member_id = members[m]["id"]
            status, value, reason = _outcome(gen, truth, p, load, dist, cats, is_open)
            statuses.append(status)
            out["legs"].append({"id": leg_id, "referral_id": ref_id, "member_id": member_id,
                                "needs": _json(cats), "status": status, "decline_reason": reason,
                                "value_baht": value, "note": "synthetic outcome" if value else None,
                                "created_at": sent.isoformat(timespec="seconds"),
                                "updated_at": sent.isoformat(timespec="seconds")})
            out["truth"].append({"leg_id": leg_id, "p_success": round(p, 6)})
            events, end = _leg_events(gen, ref_id, leg_id, status, sent, desk, member_id, value, reason)
            out["events"].extend(events)
            out["legs"][-1]["updated_at"] = events[-1]["at"]
            last = max(last, end)
        if len(legs) > 1:
            multi_needed -= 1
        out["cases"].append({"id": ref_id, "enterprise_id": ent["id"], "province": ent["province"],
                             "needs": _json(needs), "text": None, "desk": desk,
                             "created_at": sent.isoformat(timespec="seconds")})
        out["referrals"].append({"id": ref_id, "case_id": ref_id, "enterprise_id": ent["id"],
                                 "status": _status(needs, legs, statuses), "desk": desk,
                                 "created_by": desk, "consent_given": 1, "consent_by": ent["contact_name"],
                                 "consent_at": sent.isoformat(timespec="seconds"),
                                 "consent_scope": "share_contact_with_bundle_members",
                                 "created_at": sent.isoformat(timespec="seconds"),
                                 "updated_at": last.isoformat(timespec="seconds")})
    return out


def _status(needs, legs, statuses) -> str:
    """The case's status from its needs and its legs' outcomes (every leg was sent at once)."""
    rows = [{"id": i, "needs": cats, "status": status} for i, ((_, cats, *_), status) in
            enumerate(zip(legs, statuses))]
    return lifecycle.roll_up([{"need": n} for n in needs], rows)[1]


def _outcome(gen, truth: Truth, p, load, dist, cats, is_open):
    """(status, value in baht, decline reason) for one leg."""
    rng = gen.rng
    if is_open:
        return gen.choice(("sent", "accepted", "in_progress")), None, None
    if load > truth.full_load and rng.random() < truth.decline_full:
        return "declined", None, "no_capacity"
    if dist > truth.far_km and rng.random() < truth.decline_far:
        return "declined", None, "out_of_area"
    if rng.random() < truth.decline_other:
        return "declined", None, gen.choice(("out_of_scope", "missing_documents", "other"))
    if rng.random() < p:
        mean = truth.leg_value(cats)
        return "completed", float(round(rng.lognormal(math.log(mean) - 0.5, 1.0), -2)), None
    return "closed_unresolved", None, None


def generate(ref: Reference, *, seed: int = DEMO_SEED, scale: str = "demo", truth: str = DEFAULT_TRUTH) -> dict:
    """All rows of a synthetic network, deterministic for a given (seed, scale, truth)."""
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    world = truth_named(truth)
    gen = _Generator(ref, seed, SCALES[scale])
    agencies, agency_offers = gen.agencies()
    consultants, consultant_offers = gen.consultants(agencies)
    clusters = gen.clusters(consultants)
    enterprises = gen.enterprises(clusters)
    members, offerings = agencies + consultants, agency_offers + consultant_offers
    hist = history(gen, members, offerings, enterprises,
                   open_referrals=12 if scale == "demo" else 0, truth=world)
    provinces = [dict(p, live_since=gen.live.get(p["code"])) for p in ref.provinces]
    return {"provinces": provinces, "members": members, "offerings": offerings, "clusters": clusters,
            "enterprises": enterprises, "truth_name": world.name, **hist}
