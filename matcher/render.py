"""The one renderer of the engine's typed results, in Thai and English: the API's JSON, the desk's pages and
the network report all write a reason, a comparison, a plan and a chance through these functions.

Numbers are shown at a precision that keeps every comparison true: two chances are shown in whole percent,
or to 0.1 % when whole percents would look equal; distances in whole km. The engine states a comparison
only when the numbers it carries support it (``matcher.engine.matching.compare``); the property test of the
engine checks that the rendered numbers do too, in both languages.
"""

from __future__ import annotations

from matcher.engine.results import Bundle, Comparison, MatchResult, MemberLeg, Plan, Reason

LANGS = ("th", "en")


# -- numbers and labels ---------------------------------------------------------------------------------


def percent(value: float, *, decimals: int = 0) -> str:
    return f"{100 * value:.{decimals}f}%"


def percents(a: float, b: float) -> tuple[str, str]:
    """Two chances as they are shown side by side: whole percents, or tenths when those would be equal."""
    decimals = 0 if round(100 * a) != round(100 * b) else 1
    return percent(a, decimals=decimals), percent(b, decimals=decimals)


def km(value: float) -> str:
    return f"{value:,.0f}"


def category_label(ref, code: str, lang: str) -> str:
    """A category's label as it reads inside a sentence (English: lower-case first word, acronyms kept)."""
    row = ref.category_by_code.get(code)
    if row is None:
        return code
    if lang == "th":
        return row["label_th"]
    label = row["label_en"]
    first = label.split(" ", 1)[0]
    return label if first.isupper() or first in ("Thai",) else label[0].lower() + label[1:]


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


# -- reasons --------------------------------------------------------------------------------------------


def reason_text(reason: Reason, ref, lang: str) -> str:
    """One reason in one language."""
    p = reason.params
    th = lang == "th"
    code = reason.code
    if code == "distance":
        if p["same_province"]:
            return "อยู่ในจังหวัดเดียวกับสถานประกอบการ" if th else "in the enterprise's province"
        return (f"อยู่ห่างจากจังหวัดของสถานประกอบการ {km(p['km'])} กม." if th
                else f"{km(p['km'])} km from the enterprise's province")
    if code == "capacity_left":
        n = p["legs"]
        return (f"รับงานได้อีก {n} เรื่องในเดือนนี้" if th
                else f"capacity for {n} more {_plural(n, 'referral', 'referrals')} this month")
    if code == "track_record":
        label = category_label(ref, p["need"], lang)
        return (f"เคยรับงานด้าน{label} {p['finished']} เรื่อง สำเร็จ {p['completed']} เรื่อง" if th
                else f"completed {p['completed']} of {p['finished']} "
                     f"{_plural(p['finished'], 'referral', 'referrals')} in {label}")
    if code == "joint_work":
        n = p["referrals"]
        if th:
            return f"เคยทำงานร่วมกับ {p['with']}{' (ซึ่งรับงานในเรื่องนี้อยู่แล้ว)' if p['on_case'] else ''} มาแล้ว {n} เรื่อง"
        return (f"worked with {p['with']}{' (already on the case)' if p['on_case'] else ''} on {n} past "
                f"{_plural(n, 'referral', 'referrals')}")
    if code == "no_joint_work":
        return ("ยังไม่เคยทำงานร่วมกับสมาชิกอื่นในชุดนี้" if th else "has not worked with the other members before")
    if code == "no_member_offers":
        label = category_label(ref, p["need"], lang)
        return f"ยังไม่มีสมาชิกในเครือข่ายที่ให้บริการด้าน{label}" if th else f"no member of the network offers {label}"
    if code == "members_unavailable":
        label = category_label(ref, p["need"], lang)
        return (f"สมาชิกที่ให้บริการด้าน{label}ถูกตัดออกตามเงื่อนไขของคำขอ หรือไม่มีคิวว่างในเดือนนี้" if th
                else f"the members offering {label} are left out by the request's constraints or have no "
                     f"capacity left this month")
    raise ValueError(f"no wording for reason code {code!r}")


def reason_json(reason: Reason, ref) -> dict:
    return {**reason.as_dict(), **{lang: reason_text(reason, ref, lang) for lang in LANGS}}


# -- comparisons ----------------------------------------------------------------------------------------

# (Thai, English) of what contributes to the difference; {a} and {b} are this bundle's and the other's numbers.
_WITH = {
    "fewer_members": ("ใช้สมาชิกน้อยกว่า ({a} เทียบกับ {b} ราย)", "fewer members ({a} against {b})"),
    "more_joint_work": ("สมาชิกเคยทำงานร่วมกันมากกว่า ({a} เทียบกับ {b} เรื่อง)",
                        "more past joint work between its members ({a} against {b} referrals)"),
    "nearer": ("สมาชิกอยู่ใกล้กว่าโดยเฉลี่ย ({a} เทียบกับ {b} กม.)", "members nearer on average ({a} km against {b} km)"),
}
_EVEN_THOUGH = {
    "more_members": ("แม้ว่าจะใช้สมาชิกมากกว่า ({a} เทียบกับ {b} ราย)", "even though it has more members ({a} against {b})"),
    "less_joint_work": ("แม้ว่าสมาชิกจะเคยทำงานร่วมกันน้อยกว่า ({a} เทียบกับ {b} เรื่อง)",
                        "even though its members have less past joint work ({a} against {b} referrals)"),
    "farther": ("แม้ว่าสมาชิกจะอยู่ไกลกว่าโดยเฉลี่ย ({a} เทียบกับ {b} กม.)",
                "even though its members are farther away on average ({a} km against {b} km)"),
}


def _numbers(reason: Reason) -> tuple[str, str]:
    a, b = reason.params["this"], reason.params["other"]
    if reason.code in ("nearer", "farther"):
        return km(a), km(b)
    return str(a), str(b)


def comparison_text(rank: int, comparison: Comparison, ref, lang: str) -> str:
    """One sentence: why bundle ``rank`` is listed above the other bundle, with the numbers that say so."""
    th = lang == "th"
    other = (f"ชุดที่ {comparison.rank}" if th else f"bundle {comparison.rank}") if comparison.shown else \
        ("ชุดที่ดีที่สุดในบรรดาชุดที่ไม่ได้แสดง" if th else "the best bundle not shown")
    first, *rest = comparison.reasons
    if first.code == "chance_higher":
        a, b = percents(first.params["this"], first.params["other"])
        head = (f"ชุดที่ {rank} มีโอกาสสำเร็จครบทุกด้านสูงกว่า{other} ({a} เทียบกับ {b})" if th
                else f"Bundle {rank} has a higher chance that every need is met than {other} ({a} against {b})")
    else:
        value = percent(first.params["value"], decimals=1)
        head = (f"ชุดที่ {rank} และ{other} มีโอกาสสำเร็จครบทุกด้านเท่ากันเมื่อปัดเศษ ({value})" if th
                else f"Bundle {rank} and {other} have the same chance that every need is met, rounded ({value})")
        if first.params.get("tie"):
            head += " จึงเรียงตามรหัสสมาชิก" if th else ", so they are listed by member ids"
    k = 0 if th else 1
    withs = [_WITH[r.code][k].format(a=_numbers(r)[0], b=_numbers(r)[1]) for r in rest if r.code in _WITH]
    buts = [_EVEN_THOUGH[r.code][k].format(a=_numbers(r)[0], b=_numbers(r)[1]) for r in rest
            if r.code in _EVEN_THOUGH]
    text = head
    if withs:
        text += (" โดย" + " และ".join(withs)) if th else (", with " + " and ".join(withs))
    if buts:
        text += (" " + " และ".join(buts)) if th else (", " + " and ".join(buts))
    return text + ("" if th else ".")


def order_text(lang: str) -> str:
    """The rule every list of bundles follows."""
    return ("เรียงชุดบริการตามโอกาสที่ทุกความต้องการจะได้รับการแก้ไข จากมากไปน้อย" if lang == "th"
            else "Bundles are listed by their chance that every need is met, highest first.")


def chance_text(chance: float, lang: str) -> str:
    """What a bundle's chance means, in one sentence."""
    k = round(100 * chance)
    return (f"จากกรณีลักษณะเดียวกันทุก 100 ราย คาดว่าราว {k} รายจะได้รับการแก้ไขครบทุกความต้องการ" if lang == "th"
            else f"Of every 100 cases like this one, about {k} would have every need met.")


# -- plans ----------------------------------------------------------------------------------------------


def list_label(ref, code: str, lang: str) -> str:
    """A category's label as an item of a list (as the data writes it)."""
    row = ref.category_by_code.get(code)
    return code if row is None else row["label_th" if lang == "th" else "label_en"]


def step_text(step, ref, lang: str) -> str:
    th = lang == "th"
    work = "; ".join(f"{w.member} ({', '.join(list_label(ref, n, lang) for n in w.needs)})" for w in step.work)
    together = (" พร้อมกัน" if th else " in parallel") if step.parallel else ""
    return f"ขั้นที่ {step.step}{together}: {work}" if th else f"Step {step.step}{together}: {work}"


def plan_json(plan: Plan, ref) -> dict:
    steps = [{"step": s.step, "work": [{"member": w.member, "needs": list(w.needs)} for w in s.work],
              "parallel": s.parallel, **{lang: step_text(s, ref, lang) for lang in LANGS}} for s in plan.steps]
    order = [{"before": r.before, "after": r.after, "relation": r.relation, "th": r.reason_th, "en": r.reason_en}
             for r in plan.rules]
    return {"steps": steps, "order": order, "th": " → ".join(s["th"] for s in steps),
            "en": " → ".join(s["en"] for s in steps)}


# -- the API's JSON -------------------------------------------------------------------------------------


def leg_json(leg: MemberLeg, ref) -> dict:
    return {"id": leg.member, "type": leg.type, "kind": leg.kind, "name": leg.name_th, "name_th": leg.name_th,
            "name_en": leg.name_en, "province": leg.province, "needs": list(leg.needs), "chance": leg.chance,
            "distance_km": leg.distance_km, "step": leg.step, "reasons": [reason_json(r, ref) for r in leg.reasons]}


def comparison_json(rank: int, comparison: Comparison, ref) -> dict:
    return {"rank": comparison.rank, "shown": comparison.shown, "members": comparison.members,
            "success_chance": comparison.chance, "objective": comparison.objective,
            "only_in_this": comparison.only_in_this, "only_in_runner_up": comparison.only_in_other,
            "reasons": [r.as_dict() for r in comparison.reasons],
            **{lang: comparison_text(rank, comparison, ref, lang) for lang in LANGS}}


def bundle_json(bundle: Bundle, ref) -> dict:
    out = {"rank": bundle.rank, "success_chance": bundle.chance,
           "chance_meaning": {lang: chance_text(bundle.chance, lang) for lang in LANGS},
           "objective": bundle.objective, "members": [leg_json(leg, ref) for leg in bundle.legs],
           "assignment": dict(bundle.assignment), "plan": plan_json(bundle.plan, ref)}
    if bundle.comparison is not None:
        out["beat"] = comparison_json(bundle.rank, bundle.comparison, ref)
    return out


def result_json(result: MatchResult, ref) -> dict:
    """The API's answer to a match: codes and parameters with their Thai and English text."""
    out = {"province": result.province, "province_assumed": result.province_assumed, "needs": result.needs,
           "covered": result.covered, "uncovered": [u.need for u in result.uncovered],
           "uncovered_reasons": [{"need": u.need, **reason_json(u.reason, ref)} for u in result.uncovered],
           "order": {"by": "success_chance", **{lang: order_text(lang) for lang in LANGS}},
           "bundles": [bundle_json(b, ref) for b in result.bundles],
           "scorer": result.scorer["scorer"], "scorer_version": result.scorer["version"],
           "scorer_note": result.scorer["note"], "synthetic": result.synthetic}
    if result.certificate is not None:
        out["certificate"] = result.certificate
    if result.explain is not None:
        out["explain"] = result.explain
    return out
