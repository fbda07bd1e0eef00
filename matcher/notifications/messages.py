"""The words of each notification, in Thai (first) and English: one renderer for e-mail and webhooks.

A notification holds facts (kind, referral, leg, needs, plan step, reason, value), never prose; the text is
written here at delivery time in the recipient's language. No enterprise name or contact data goes out:
the message says what to do and links to the desk, where access rules apply.
"""

from __future__ import annotations

import json

from matcher.lifecycle import ACCEPT_WITHIN_WORKING_DAYS

KINDS = ("new_leg", "leg_ready", "declined", "completed", "overdue", "withdrawn")

REASONS = {"no_capacity": ("งานเต็ม รับเพิ่มไม่ได้", "no capacity"),
           "out_of_scope": ("ไม่ตรงกับบริการที่ให้", "out of scope"),
           "out_of_area": ("อยู่นอกพื้นที่ให้บริการ", "out of area"),
           "missing_documents": ("เอกสารไม่ครบ", "missing documents"), "other": ("อื่นๆ", "other")}
OVERDUE = {"not_accepted": (f"ยังไม่ได้รับเรื่องภายใน {ACCEPT_WITHIN_WORKING_DAYS} วันทำการ",
                            f"not accepted within {ACCEPT_WITHIN_WORKING_DAYS} working days"),
           "past_due": ("ดำเนินการเกินระยะเวลาที่คาดไว้", "past its expected duration")}


def _pair(th: str, en: str, lang: str) -> str:
    return th if lang == "th" else en


def subject(kind: str, data: dict, referral_id: int, lang: str) -> str:
    """The e-mail subject line."""
    waiting = data.get("status") == "waiting"
    th, en = {
        "new_leg": (f"เรื่องส่งต่อเลขที่ {referral_id}: งานที่จะถึงคิวของหน่วยงานท่าน" if waiting else
                    f"เรื่องส่งต่อเลขที่ {referral_id}: มีงานใหม่ถึงหน่วยงานท่าน",
                    f"Referral {referral_id}: work coming to you" if waiting else
                    f"Referral {referral_id}: new work for you"),
        "leg_ready": (f"เรื่องส่งต่อเลขที่ {referral_id}: ถึงขั้นตอนของหน่วยงานท่านแล้ว",
                      f"Referral {referral_id}: your step can start"),
        "declined": (f"เรื่องส่งต่อเลขที่ {referral_id}: สมาชิกปฏิเสธงาน ต้องหาผู้ให้บริการใหม่",
                     f"Referral {referral_id}: a member declined; find a replacement"),
        "completed": (f"เรื่องส่งต่อเลขที่ {referral_id}: งานส่วนหนึ่งเสร็จแล้ว",
                      f"Referral {referral_id}: a part is completed"),
        "overdue": (f"เรื่องส่งต่อเลขที่ {referral_id}: งานเกินกำหนด", f"Referral {referral_id}: overdue"),
        "withdrawn": (f"เรื่องส่งต่อเลขที่ {referral_id}: ศูนย์บริการยกเลิกงานของหน่วยงานท่าน",
                      f"Referral {referral_id}: the desk withdrew your part"),
    }[kind]
    return _pair(th, en, lang)


def body(kind: str, data: dict, referral_id: int, lang: str, *, labels: dict, names: dict, url: str) -> str:
    """The e-mail text: what happened, which needs and step, what to do, and the link."""
    needs = ", ".join(labels.get(n, (n, n))[0 if lang == "th" else 1] for n in data.get("needs", []))
    step = data.get("step") or 1
    member = names.get(data.get("member"), data.get("member") or "")
    lines = {
        "new_leg": _new_leg(data, referral_id, needs, step, lang),
        "leg_ready": _pair(f"ขั้นก่อนหน้าในแผนการส่งต่อเรื่องเลขที่ {referral_id} เสร็จแล้ว หน่วยงานของท่านเริ่มงานขั้นที่ "
                           f"{step} ได้ทันที\nความต้องการ: {needs}\nกรุณารับเรื่องหรือแจ้งปฏิเสธภายใน "
                           f"{ACCEPT_WITHIN_WORKING_DAYS} วันทำการ",
                           f"The earlier steps of referral {referral_id} are done: your step {step} can start now.\n"
                           f"Needs: {needs}\nPlease accept or decline within {ACCEPT_WITHIN_WORKING_DAYS} working days.",
                           lang),
        "declined": _pair(f"{member} ปฏิเสธงาน {needs} (ขั้นที่ {step})\nเหตุผล: "
                          f"{REASONS.get(data.get('reason'), ('-', '-'))[0]}\n"
                          "กรุณาหาสมาชิกรายใหม่แทน หรือปิดความต้องการนี้พร้อมระบุเหตุผล",
                          f"{member} declined {needs} (step {step}).\nReason: "
                          f"{REASONS.get(data.get('reason'), ('-', '-'))[1]}\n"
                          "Please re-match the leg or close the need with a reason.", lang),
        "completed": _pair(f"{member} ปิดงาน {needs} สำเร็จ มูลค่าทางเศรษฐกิจ {data.get('value_baht', 0):,.0f} บาท",
                           f"{member} completed {needs}: economic value {data.get('value_baht', 0):,.0f} baht.",
                           lang),
        "overdue": _pair(f"งาน {needs} ของ {member} (ขั้นที่ {step}) "
                         f"{OVERDUE.get(data.get('overdue'), ('เกินกำหนด', ''))[0]}\nกรุณาติดตามหรือดำเนินการต่อ",
                         f"{needs} with {member} (step {step}) is "
                         f"{OVERDUE.get(data.get('overdue'), ('', 'overdue'))[1]}.\nPlease follow it up.", lang),
        "withdrawn": _pair(f"ศูนย์บริการปิดความต้องการ {needs} ในเรื่องเลขที่ {referral_id} แล้ว "
                           "หน่วยงานของท่านไม่ต้องดำเนินการส่วนนี้ต่อ",
                           f"The desk closed {needs} in referral {referral_id}; your part is no longer needed.",
                           lang),
    }[kind]
    link = _pair("ดูรายละเอียดและดำเนินการที่", "Details and actions:", lang)
    footer = _pair("ข้อความนี้ส่งจากระบบส่งต่อบริการ RISMEP โดยอัตโนมัติ", "Sent automatically by the RISMEP "
                   "referral desk.", lang)
    return f"{lines}\n\n{link} {url}\n\n{footer}\n"


def _new_leg(data: dict, referral_id: int, needs: str, step: int, lang: str) -> str:
    if data.get("status") == "waiting":
        return _pair(f"หน่วยงานของท่านอยู่ในขั้นที่ {step} ของแผนการส่งต่อเรื่องเลขที่ {referral_id}\n"
                     f"ความต้องการ: {needs}\nยังไม่ต้องเริ่มงานตอนนี้ ระบบจะแจ้งอีกครั้งเมื่อขั้นก่อนหน้าเสร็จ",
                     f"You are step {step} of the plan of referral {referral_id}.\nNeeds: {needs}\n"
                     "Nothing to do yet: you will be told when the earlier steps are done.", lang)
    return _pair(f"ศูนย์บริการส่งต่อเรื่องเลขที่ {referral_id} ถึงหน่วยงานของท่าน (ขั้นที่ {step})\n"
                 f"ความต้องการ: {needs}\nกรุณารับเรื่องหรือแจ้งปฏิเสธภายใน {ACCEPT_WITHIN_WORKING_DAYS} วันทำการ",
                 f"The desk referred case {referral_id} to you (step {step}).\nNeeds: {needs}\n"
                 f"Please accept or decline within {ACCEPT_WITHIN_WORKING_DAYS} working days.", lang)


def webhook_body(row: dict, url: str) -> bytes:
    """The webhook's JSON body (the same bytes on every retry of one delivery)."""
    payload = {"delivery_id": row["delivery_id"], "event": row["kind"], "referral_id": row["referral_id"],
               "leg_id": row["leg_id"], "recipient": row["recipient"], "data": row["data"],
               "created_at": row["created_at"], "url": url}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
