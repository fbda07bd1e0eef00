"""Thai first, English on request: the desk's strings and the current language.

``t(key, **values)`` returns the string in the session's language (Thai unless the user switched);
every key has both languages (a test checks). Labels of reference data (categories, provinces,
statuses) come from the data itself or the small tables below.
"""

from __future__ import annotations

import re

from flask import request, session

from .i18n_cases import STRINGS as CASE_STRINGS
from .i18n_directory import STRINGS as DIRECTORY_STRINGS

LANGUAGES = ("th", "en")
DEFAULT = "th"

STRINGS: dict[str, tuple[str, str]] = {
    # layout
    "app_name": ("ระบบส่งต่อบริการ RISMEP", "RISMEP referral desk"),
    "skip": ("ข้ามไปยังเนื้อหาหลัก", "Skip to main content"),
    "synthetic_banner": ("เครือข่ายสาธิตนี้สร้างขึ้นเพื่อทดลองใช้งาน ไม่ใช่หน่วยงานหรือบุคคลจริง",
                         "synthetic data: this demo network is generated for trying the desk; "
                         "no real organisations or people"),
    "switch_language": ("English", "ภาษาไทย"),
    "switch_language_label": ("Switch to English", "เปลี่ยนเป็นภาษาไทย"),
    "signed_in_as": ("ผู้ใช้: {name} ({role})", "Signed in: {name} ({role})"),
    "sign_out": ("ออกจากระบบ", "Sign out"),
    "nav": ("เมนูหลัก", "Main menu"),
    "nav_new_case": ("รับเรื่องใหม่", "New case"),
    "nav_referrals": ("รายการส่งต่อ", "Referrals"),
    "nav_inbox": ("งานที่ได้รับ", "Inbox"),
    "nav_dashboard": ("แดชบอร์ด", "Dashboard"),
    "home": ("หน้าแรก", "Home"),
    "role_desk": ("เจ้าหน้าที่ศูนย์บริการ", "desk officer"),
    "role_member": ("สมาชิกเครือข่าย", "network member"),
    "role_analyst": ("นักวิเคราะห์", "analyst"),
    "role_admin": ("ผู้ดูแลระบบ", "administrator"),
    # sign-in
    "signin_title": ("เข้าสู่ระบบ", "Sign in"),
    "username": ("ชื่อผู้ใช้", "Username"),
    "password": ("รหัสผ่าน", "Password"),
    "signin_button": ("เข้าสู่ระบบ", "Sign in"),
    "signin_failed": ("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง กรุณาลองใหม่", "Wrong username or password; please try again."),
    "signin_required": ("กรุณาเข้าสู่ระบบก่อน", "Please sign in first."),
    "signin_missing": ("กรุณากรอกชื่อผู้ใช้และรหัสผ่าน", "Enter your username and password."),
    "signed_out": ("ออกจากระบบแล้ว", "You have signed out."),
    "demo_accounts_hint": ("บัญชีสาธิต (DEMO): demo-desk, demo-analyst, demo-a0001 ... รหัสผ่าน rismep-demo "
                           "(สร้างด้วยคำสั่ง flask --app api demo-users)",
                           "DEMO accounts: demo-desk, demo-analyst, demo-a0001 ... password rismep-demo "
                           "(created with flask --app api demo-users)"),
    # errors
    "error_title": ("เกิดข้อผิดพลาด", "Something went wrong"),
    "error_403": ("บัญชีนี้ไม่มีสิทธิ์ใช้หน้านี้", "This account may not use this page."),
    "error_404": ("ไม่พบหน้าที่ต้องการ", "Page not found."),
    "error_500": ("ระบบขัดข้อง บันทึกปัญหาไว้แล้ว กรุณาลองใหม่หรือติดต่อผู้ดูแลระบบ",
                  "Internal error; it has been logged. Please try again or contact the administrator."),
    "error_503": ("บริการส่วนนี้ยังไม่พร้อมใช้งาน กรุณาลองใหม่ภายหลัง", "This part of the service is not available "
                  "yet; please try again later."),
    "csrf_failed": ("แบบฟอร์มหมดอายุหรือไม่ได้ส่งจากหน้านี้ กรุณาเปิดหน้าใหม่แล้วส่งอีกครั้ง ข้อมูลยังไม่ถูกบันทึก",
                    "The form has expired or did not come from this site; reload the page and send it again. "
                    "Nothing was saved."),
    "error_detail": ("รายละเอียด", "Details"),
    "back": ("ย้อนกลับ", "Back"),
    "fix_below": ("กรุณาแก้ไขข้อมูลที่ระบุด้านล่าง", "Please correct the fields marked below."),
    # new case
    "case_title": ("รับเรื่องใหม่", "New case"),
    "step": ("ขั้นที่ {n} จาก 4", "Step {n} of 4"),
    "enterprise": ("สถานประกอบการ", "Enterprise"),
    "existing_enterprise": ("เลือกสถานประกอบการที่มีอยู่", "Pick an existing enterprise"),
    "existing_enterprise_hint": ("ค้นหาด้วยชื่อ แล้วเลือกจากรายการ หรือกรอกข้อมูลใหม่ด้านล่าง",
                                 "Search by name and pick one, or fill in a new one below."),
    "search": ("ค้นหา", "Search"),
    "search_enterprise": ("ชื่อสถานประกอบการ", "Enterprise name"),
    "no_results": ("ไม่พบรายการ", "Nothing found."),
    "use_this": ("ใช้รายนี้", "Use this one"),
    "enterprise_picked": ("ใช้ข้อมูลสถานประกอบการเลขที่ {id}", "Using enterprise no. {id}"),
    "enterprise_name": ("ชื่อสถานประกอบการ", "Enterprise name"),
    "contact_name": ("ชื่อผู้ติดต่อ", "Contact name"),
    "contact_phone": ("โทรศัพท์", "Phone"),
    "contact_email": ("อีเมล", "Email"),
    "tax_id": ("เลขประจำตัวผู้เสียภาษีหรือเลขประจำตัวประชาชน (13 หลัก)", "Tax or national id (13 digits)"),
    "personal_data_note": ("ข้อมูลผู้ติดต่อเป็นข้อมูลส่วนบุคคลตาม พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล จะส่งให้สมาชิกเมื่อได้รับความยินยอมเท่านั้น",
                           "Contact details are personal data under the PDPA; they are shared with members only "
                           "with consent."),
    "province": ("จังหวัด", "Province"),
    "province_from_text": ("ใช้จังหวัดที่ระบุในคำบรรยาย", "Use the province named in the description"),
    "sector": ("ประเภทธุรกิจ", "Sector"),
    "cluster": ("คลัสเตอร์", "Cluster"),
    "none": ("ไม่ระบุ", "None"),
    "description": ("คำบรรยายปัญหาและความต้องการ", "Description of the problem and needs"),
    "description_hint": ("พิมพ์ตามที่ผู้ประกอบการเล่า ภาษาไทยหรืออังกฤษ", "Type what the enterprise says, in Thai or English."),
    "suggest_needs": ("วิเคราะห์ความต้องการ", "Suggest needs"),
    "required": ("จำเป็น", "required"),
    "err_text": ("กรุณาพิมพ์คำบรรยายปัญหา (ไม่เกิน {max} ตัวอักษร)", "Type the description (at most {max} characters)."),
    "err_name": ("กรุณากรอกชื่อสถานประกอบการ หรือเลือกรายที่มีอยู่", "Enter the enterprise's name or pick an existing one."),
    "err_province": ("ไม่รู้จักจังหวัด '{value}' กรุณาเลือกจากรายการ", "Unknown province '{value}'; pick one from the list."),
    "err_province_missing": ("กรุณาเลือกจังหวัด (หรือระบุจังหวัดในคำบรรยาย)",
                             "Pick a province (or name it in the description)."),
    "err_email": ("อีเมลไม่ถูกต้อง: '{value}'", "Not an email address: '{value}'."),
    "err_choice": ("ค่า '{value}' ไม่อยู่ในรายการที่เลือกได้", "'{value}' is not one of the choices."),
    "err_enterprise": ("ไม่พบสถานประกอบการเลขที่ '{value}'", "No enterprise no. '{value}'."),
    "err_tax_id": ("เลขประจำตัวไม่ถูกต้อง ต้องเป็นตัวเลข 13 หลักที่หลักสุดท้ายตรงกับเลขตรวจสอบ กรุณาตรวจกับบัตรหรือหนังสือรับรอง",
                   "Not a valid id: it needs 13 digits whose last digit matches the check digit; check it "
                   "against the card or the certificate."),
    "err_control": ("ช่องนี้มีอักขระควบคุมที่ใช้ไม่ได้ กรุณาพิมพ์ใหม่", "This field holds a control character; type it "
                    "again."),
    # needs
    "needs_title": ("ยืนยันความต้องการ", "Confirm the needs"),
    "needs_help": ("ระบบเสนอความต้องการจากคำบรรยาย กดที่ป้ายเพื่อตัดออก หรือเพิ่มรายการอื่นด้านล่าง",
                   "Needs suggested from the description: untick a chip to remove it, or add others below."),
    "suggested_needs": ("ความต้องการที่ระบบเสนอ", "Suggested needs"),
    "no_suggestions": ("ระบบไม่พบความต้องการจากคำบรรยาย กรุณาเลือกเอง", "No needs recognised in the description; "
                       "please pick them."),
    "intake_unavailable": ("ระบบวิเคราะห์คำบรรยายยังไม่พร้อม กรุณาเลือกความต้องการเอง",
                           "The description classifier is not available; please pick the needs."),
    "evidence": ("จากคำว่า", "from the words"),
    "maybe_needs": ("อาจต้องการด้วย (ยังไม่ได้เลือก กดเพื่อเพิ่ม)", "Possibly needed too (not ticked; tick to add)"),
    "confidence": ("ความมั่นใจ {p}", "confidence {p}"),
    "add_needs": ("เพิ่มความต้องการอื่น", "Add other needs"),
    "remove_need": ("ตัดออก", "remove"),
    "find_bundles": ("ดูชุดบริการที่แนะนำ", "See recommended bundles"),
    "err_needs": ("กรุณาเลือกความต้องการอย่างน้อย 1 รายการ (ไม่เกิน {max})", "Pick at least one need (at most {max})."),
    "case_summary": ("สรุปเรื่อง", "Case"),
    "detected_province": ("จังหวัดที่พบในคำบรรยาย: {name}", "Province named in the description: {name}"),
    # bundles
    "bundles_title": ("ชุดบริการที่แนะนำ", "Recommended bundles"),
    "bundle_n": ("ชุดที่ {n}", "Bundle {n}"),
    "success_chance": ("โอกาสสำเร็จครบทุกความต้องการ", "Chance every need is met"),
    "leg_chance": ("โอกาสที่งานของสมาชิกรายนี้สำเร็จ", "Chance this member task succeeds"),
    "province_assumed": ("ยังไม่ทราบจังหวัดของสถานประกอบการ จึงใช้จังหวัดของศูนย์บริการ ({name}) แทน และไม่แสดงระยะทาง "
                         "หากทราบจังหวัดที่แท้จริง ให้กลับไปเลือกในขั้นที่ 1",
                         "The enterprise's province is not known, so the desk's own ({name}) is used and distances "
                         "are not shown; choose the real province in step 1 if you know it."),
    "members": ("สมาชิก", "Members"),
    "covers": ("รับผิดชอบ", "Covers"),
    "distance": ("ระยะทาง", "Distance"),
    "km": ("{v} กม.", "{v} km"),
    "capacity_left": ("รับงานได้อีก", "Capacity left"),
    "cases_per_month": ("{v} เรื่อง/เดือน", "{v} cases/month"),
    "joint_work": ("เคยทำงานร่วมกัน", "Past joint work"),
    "no_joint_work": ("ยังไม่เคยทำงานร่วมกัน", "No past joint work"),
    "plan": ("ลำดับการส่งต่อ", "Referral plan"),
    "reasons": ("เหตุผลที่เลือก", "Why this member"),
    "plan_step": ("ขั้น {n}", "Step {n}"),
    "in_parallel": ("ทำพร้อมกัน", "in parallel"),
    "why_first": ("ทำไมชุดที่ 1 มาก่อนชุดที่ 2", "Why bundle 1 comes before bundle 2"),
    "choose_bundle": ("เลือกชุดที่ {n}", "Choose bundle {n}"),
    "uncovered": ("ความต้องการที่ยังไม่มีสมาชิกให้บริการ: {needs}", "Needs no member can cover now: {needs}"),
    "no_bundles": ("ไม่พบชุดบริการสำหรับความต้องการนี้ ลองปรับความต้องการหรือจังหวัด",
                   "No bundle found for these needs; change the needs or the province."),
    "map_title": ("ที่ตั้งของสมาชิก", "Where the members are"),
    "map_desc": ("แผนภาพจุดจังหวัดของประเทศไทย ดาวคือจังหวัดของสถานประกอบการ วงกลมคือสมาชิกในแต่ละชุด",
                 "Dot map of Thailand's provinces: the star is the enterprise's province, circles are the "
                 "members of each bundle."),
    "enterprise_province": ("จังหวัดของสถานประกอบการ", "Enterprise's province"),
    "agency": ("หน่วยงาน", "agency"),
    "consultant": ("ที่ปรึกษา", "consultant"),
    "change_needs": ("แก้ไขความต้องการ", "Change the needs"),
    # consent
    "consent_title": ("ขอความยินยอมและส่งต่อ", "Consent and send"),
    "pdpa_heading": ("ประกาศความเป็นส่วนตัว (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562)",
                     "Privacy notice (Personal Data Protection Act B.E. 2562)"),
    "pdpa_notice": (
        "ศูนย์บริการเบ็ดเสร็จจะส่งชื่อสถานประกอบการ ชื่อผู้ติดต่อ หมายเลขโทรศัพท์ อีเมล และคำบรรยายความต้องการ "
        "ให้แก่สมาชิกเครือข่ายในชุดบริการที่เลือกเท่านั้น เพื่อวัตถุประสงค์ในการให้บริการส่งเสริม SME ตามเรื่องนี้ "
        "สมาชิกแต่ละรายจะเห็นเฉพาะเรื่องที่ตนได้รับ ข้อมูลจะถูกเก็บไว้ตลอดระยะเวลาการให้บริการและการติดตามผล "
        "ผู้ประกอบการมีสิทธิขอเข้าถึง แก้ไข ขอลบ หรือถอนความยินยอมได้ตลอดเวลาโดยติดต่อศูนย์บริการ "
        "การถอนความยินยอมไม่กระทบการให้บริการที่ดำเนินการไปแล้ว",
        "The one-stop-service desk will share the enterprise's name, the contact's name, phone, email and the "
        "description of needs with the members of the chosen bundle only, to provide SME support for this case. "
        "Each member sees only the referrals it is part of. The data are kept for the service and its follow-up. "
        "The enterprise may ask to access, correct or erase them, or withdraw consent, at any time through the "
        "desk; withdrawing does not affect services already given."),
    "consent_check": ("ผู้ประกอบการได้อ่านหรือรับฟังประกาศข้างต้น และยินยอมให้ส่งข้อมูลแก่สมาชิกในชุดบริการนี้",
                      "The enterprise has read or heard the notice above and consents to sharing the data with "
                      "the members of this bundle."),
    "consent_by": ("ชื่อผู้ให้ความยินยอม", "Name of the person giving consent"),
    "consent_scope": ("ขอบเขตความยินยอม", "Scope of the consent"),
    "scope_share_contact_with_bundle_members": ("ส่งข้อมูลผู้ติดต่อ (ชื่อ โทรศัพท์ อีเมล) ให้สมาชิกในชุดบริการ",
                                                "Share the contact (name, phone, email) with the bundle's members"),
    "scope_share_contact_and_tax_id_with_bundle_members": (
        "ส่งข้อมูลผู้ติดต่อและเลขประจำตัว 13 หลักให้สมาชิกในชุดบริการ",
        "Share the contact and the 13-digit id with the bundle's members"),
    "err_scope": ("กรุณาเลือกขอบเขตความยินยอมจากรายการ", "Choose the scope of the consent from the list."),
    "send": ("ยืนยันและส่งต่อบริการ", "Confirm and send the referral"),
    "consent_refused": ("ยังไม่ได้รับความยินยอมจากผู้ประกอบการ จึงยังไม่ส่งต่อ และไม่มีการบันทึกข้อมูลใดๆ "
                        "หากผู้ประกอบการยินยอม ให้ทำเครื่องหมายในช่องยินยอมแล้วกดส่งอีกครั้ง",
                        "No consent from the enterprise: nothing was sent and nothing was saved. If the "
                        "enterprise agrees, tick the consent box and send again."),
    "err_consent_by": ("กรุณากรอกชื่อผู้ให้ความยินยอม", "Enter the name of the person giving consent."),
    "chosen_bundle": ("ชุดบริการที่เลือก", "Chosen bundle"),
    "referral_sent": ("ส่งต่อบริการแล้ว เลขที่ {id}", "Referral no. {id} sent."),
    # referral page
    "referral_title": ("การส่งต่อเลขที่ {id}", "Referral no. {id}"),
    "status": ("สถานะ", "Status"),
    "legs": ("งานของสมาชิก", "Member tasks"),
    "member": ("สมาชิก", "Member"),
    "needs": ("ความต้องการ", "Needs"),
    "value_baht": ("มูลค่าทางเศรษฐกิจที่เกิดขึ้น (บาท)", "Economic value created (baht)"),
    "note": ("บันทึก", "Note"),
    "timeline": ("ลำดับเหตุการณ์", "Timeline"),
    "actions": ("ดำเนินการ", "Actions"),
    "accept": ("รับเรื่อง", "Accept"),
    "decline": ("ปฏิเสธ", "Decline"),
    "decline_reason": ("เหตุผลที่ปฏิเสธ", "Reason for declining"),
    "start": ("เริ่มดำเนินการ", "Start work"),
    "complete": ("ปิดงานสำเร็จ", "Complete"),
    "close_unresolved": ("ปิดงานโดยไม่สำเร็จ", "Close unresolved"),
    "rematch": ("หาสมาชิกรายใหม่แทน", "Re-match this member task"),
    "leg_updated": ("บันทึกสถานะแล้ว: {status}", "Status saved: {status}"),
    "rematched": ("ส่งต่อให้สมาชิกรายใหม่แล้ว", "The member task was re-matched to a new member."),
    "err_value": ("กรุณากรอกมูลค่าเป็นตัวเลขบาทที่ไม่ติดลบ เช่น 250000", "Enter the value as a non-negative number "
                  "of baht, e.g. 250000."),
    "err_reason": ("กรุณาเลือกเหตุผลที่ปฏิเสธ", "Pick a reason for declining."),
    "err_action": ("ไม่รู้จักคำสั่ง '{value}'", "Unknown action '{value}'."),
    "no_events": ("ยังไม่มีเหตุการณ์", "No events yet."),
    "by": ("โดย", "by"),
    "contact": ("ผู้ติดต่อ", "Contact"),
    "consent": ("ความยินยอม", "Consent"),
    "consent_given": ("ได้รับความยินยอมจาก {by} เมื่อ {at}", "Consent given by {by} on {at}"),
    "created": ("สร้างเมื่อ", "Created"),
    "open": ("เปิด", "Open"),
    # lists
    "referrals_title": ("รายการส่งต่อ", "Referrals"),
    "inbox_title": ("งานที่ได้รับ", "Inbox"),
    "inbox_for": ("งานของ {name}", "Work for {name}"),
    "no_referrals": ("ยังไม่มีรายการ", "Nothing here yet."),
    "referral_no": ("เลขที่", "No."),
    "your_legs": ("งานของคุณ", "Your tasks"),
    "status_filter": ("กรองตามสถานะ", "Filter by status"),
    "all": ("ทั้งหมด", "All"),
    "filter": ("กรอง", "Filter"),
    # follow-up: needs, plan, queue, notifications, slip, tracking, satisfaction
    "nav_queue": ("งานที่ต้องดำเนินการ", "Needs action"),
    "nav_notifications": ("การแจ้งเตือน", "Notifications"),
    "unread_label": ("ยังไม่ได้อ่าน {n} รายการ", "{n} unread"),
    "needs_status": ("สถานะความต้องการ", "Status of each need"),
    "plan_title": ("แผนการส่งต่อและหน่วยงานในเรื่องนี้", "The plan and the organisations on this case"),
    "plan_step_waits": ("รอขั้นก่อนหน้า: {needs}", "Waits for: {needs}"),
    "step_of_plan": ("ขั้นที่ {n} ของแผน", "Step {n} of the plan"),
    "your_leg_waits": ("งานนี้จะถึงคิวเมื่อขั้นก่อนหน้าเสร็จ ระบบจะแจ้งท่านอีกครั้ง",
                       "This work starts when the earlier steps are done; you will be told."),
    "organisation": ("หน่วยงาน", "Organisation"),
    "phone": ("โทรศัพท์", "Phone"),
    "address": ("ที่อยู่", "Address"),
    "contact_via_desk": ("ติดต่อผ่านศูนย์บริการ", "contact through the desk"),
    "unmet_list": ("ความต้องการที่ยังไม่ได้รับการแก้ไข: {needs}", "Needs not met: {needs}"),
    "close_need": ("ปิดความต้องการนี้", "Close this need"),
    "close_reason": ("เหตุผลที่ปิด", "Reason for closing"),
    "close_need_button": ("ปิดความต้องการ", "Close the need"),
    "reopen_need": ("เปิดความต้องการอีกครั้ง", "Re-open the need"),
    "need_closed": ("ปิดความต้องการแล้ว: {need}", "Need closed: {need}"),
    "need_reopened": ("เปิดความต้องการอีกครั้งแล้ว: {need}", "Need re-opened: {need}"),
    "err_close_reason": ("กรุณาเลือกเหตุผลที่ปิดความต้องการ", "Pick a reason for closing the need."),
    "satisfaction_title": ("ความพึงพอใจของผู้ประกอบการ", "The enterprise's satisfaction"),
    "satisfaction_score": ("คะแนนความพึงพอใจ (1 = ไม่พอใจมาก, 5 = พอใจมาก)",
                           "Satisfaction (1 = very dissatisfied, 5 = very satisfied)"),
    "satisfaction_note": ("ความเห็นของผู้ประกอบการ", "What the enterprise said"),
    "satisfaction_save": ("บันทึกความพึงพอใจ", "Save the satisfaction"),
    "satisfaction_saved": ("บันทึกความพึงพอใจแล้ว", "Satisfaction saved."),
    "satisfaction_recorded": ("คะแนน {score} จาก 5", "{score} out of 5"),
    "err_score": ("กรุณาเลือกคะแนน 1 ถึง 5", "Pick a score from 1 to 5."),
    "print_slip": ("พิมพ์ใบส่งต่อบริการ", "Print the referral slip"),
    "tracking_code": ("รหัสติดตามเรื่อง", "Tracking code"),
    "queue_title": ("งานที่ต้องดำเนินการ", "Needs action"),
    "queue_help": ("ความต้องการที่ต้องให้ศูนย์บริการดำเนินการ เรียงจากเรื่องที่ค้างนานที่สุด",
                   "Needs the desk must act on, oldest first."),
    "queue_rematch": ("ถูกปฏิเสธหรือปิดโดยไม่สำเร็จ ต้องหาสมาชิกรายใหม่", "Declined or unresolved: re-match"),
    "queue_not_accepted": ("ยังไม่รับเรื่องภายใน 3 วันทำการ", "Not accepted within 3 working days"),
    "queue_past_due": ("เกินระยะเวลาที่คาดไว้", "Past the expected duration"),
    "queue_unassigned": ("ยังไม่มีผู้ให้บริการ หรือติดขั้นก่อนหน้าที่ถูกปิด", "No member yet, or blocked by a closed step"),
    "queue_empty": ("ไม่มีงานค้างในกลุ่มนี้", "Nothing here."),
    "deadline": ("กำหนด", "Due"),
    "since": ("ตั้งแต่", "Since"),
    "notifications_title": ("การแจ้งเตือน", "Notifications"),
    "mark_all_read": ("ทำเครื่องหมายว่าอ่านแล้วทั้งหมด", "Mark all as read"),
    "marked_read": ("อ่านแล้ว {n} รายการ", "{n} marked as read."),
    "new": ("ใหม่", "new"),
    "no_notifications": ("ยังไม่มีการแจ้งเตือน", "No notifications yet."),
    "settings_title": ("ตั้งค่าการแจ้งเตือน", "Notification settings"),
    "settings_help": ("เลือกช่องทางที่ต้องการรับแจ้งเมื่อมีงานใหม่ งานถึงคิว ถูกปฏิเสธ เกินกำหนด หรือเสร็จแล้ว",
                      "Choose how to hear of new work, work ready to start, declines, overdue work and completions."),
    "channel_email": ("อีเมล", "E-mail"),
    "channel_webhook": ("เว็บฮุก (ระบบของหน่วยงาน)", "Webhook (your own system)"),
    "webhook_url": ("ที่อยู่เว็บฮุก (URL)", "Webhook URL"),
    "language_label": ("ภาษาของข้อความ", "Language of the messages"),
    "settings_save": ("บันทึกการตั้งค่า", "Save the settings"),
    "settings_saved": ("บันทึกการตั้งค่าแล้ว", "Settings saved."),
    "webhook_secret_once": ("รหัสลับสำหรับตรวจลายเซ็นเว็บฮุก (แสดงครั้งเดียว เก็บไว้ให้ดี): {secret}",
                            "Webhook signing secret (shown once; keep it safe): {secret}"),
    "kind_new_leg": ("มีงานส่งต่อใหม่", "New work"),
    "kind_leg_ready": ("งานถึงคิวแล้ว", "Work ready to start"),
    "kind_declined": ("สมาชิกปฏิเสธงาน", "A member declined"),
    "kind_completed": ("งานส่วนหนึ่งเสร็จแล้ว", "A part was completed"),
    "kind_overdue": ("งานเกินกำหนด", "Overdue"),
    "kind_withdrawn": ("ศูนย์บริการยกเลิกงาน", "Work withdrawn by the desk"),
    "slip_title": ("ใบส่งต่อบริการ", "Referral slip"),
    "slip_subtitle": ("เครือข่ายส่งเสริม SME (RISMEP)", "RISMEP SME support network"),
    "slip_intro": ("ศูนย์บริการได้ส่งต่อเรื่องของท่านให้หน่วยงานตามลำดับขั้นด้านล่าง หน่วยงานจะติดต่อท่าน "
                   "ขั้นถัดไปจะเริ่มเมื่อขั้นก่อนหน้าเสร็จ",
                   "The desk has referred your case to the organisations below, step by step. They will contact "
                   "you; each step starts when the one before it is done."),
    "step_col": ("ขั้น", "Step"),
    "slip_bring": ("สิ่งที่ควรเตรียมไป", "What to bring"),
    "slip_track": ("ติดตามสถานะเรื่องได้ที่ {url} ด้วยรหัสติดตามด้านล่าง", "Follow your case at {url} with the "
                   "tracking code below"),
    "slip_printed": ("พิมพ์เมื่อ", "Printed"),
    "slip_desk": ("ศูนย์บริการที่ส่งต่อ", "Referring desk"),
    "track_title": ("ติดตามสถานะการส่งต่อ", "Track a referral"),
    "track_help": ("กรอกรหัสติดตาม 16 ตัวอักษรที่พิมพ์อยู่บนใบส่งต่อบริการ", "Type the 16-character tracking code "
                   "printed on the referral slip."),
    "track_button": ("ดูสถานะ", "Show the status"),
    "track_none": ("ไม่พบรหัสติดตามนี้ กรุณาตรวจสอบรหัสบนใบส่งต่ออีกครั้ง", "No referral has this tracking code; "
                   "check the code on the slip."),
    "track_case_status": ("สถานะของเรื่อง", "Status of the case"),
    "track_updated": ("ปรับปรุงล่าสุด", "Last updated"),
    # dashboard
    "dashboard_title": ("แดชบอร์ดเครือข่าย", "Network dashboard"),
    "kpis": ("ตัวชี้วัดเทียบเป้าหมาย", "KPIs against targets"),
    "kpi": ("ตัวชี้วัด", "Indicator"),
    "value": ("ค่า", "Value"),
    "target": ("เป้าหมาย", "Target"),
    "gap_heatmap": ("แผนที่ความร้อนช่องว่างบริการ (จังหวัด x ประเภทบริการ)", "Gap heatmap (province x service)"),
    "gap_heatmap_alt": ("แผนภาพความครอบคลุมบริการรายจังหวัดและประเภทบริการ สีเข้มคือช่องว่าง",
                        "Coverage of each service in each province; dark cells are gaps"),
    "spof": ("จุดเสี่ยงที่มีผู้ให้บริการรายเดียว", "Single points of failure"),
    "rollout": ("แผนขยายจังหวัด", "Rollout plan"),
    "full_report": ("รายงานฉบับเต็ม", "Full report"),
    "analysis_unavailable": ("ส่วนวิเคราะห์ยังไม่พร้อม", "The analysis is not available yet."),
    "top_gaps": ("ช่องว่างสำคัญ", "Largest gaps"),
    "network_as_of": ("ตัวชี้วัดเป็นข้อมูลล่าสุด ส่วนการวิเคราะห์เครือข่ายด้านล่างคำนวณเมื่อ {at} และปรับให้ใหม่อัตโนมัติเมื่อข้อมูลเปลี่ยน",
                      "The KPIs are live; the network analyses below were computed at {at} and refresh by "
                      "themselves when the data change."),
}

STRINGS.update(DIRECTORY_STRINGS)
STRINGS.update(CASE_STRINGS)

ROLE_KEYS = {"desk": "role_desk", "member": "role_member", "analyst": "role_analyst", "admin": "role_admin"}

STATUS = {
    "sent": ("ส่งแล้ว", "sent"),
    "accepted": ("รับเรื่องแล้ว", "accepted"),
    "declined": ("ปฏิเสธ", "declined"),
    "in_progress": ("กำลังดำเนินการ", "in progress"),
    "completed": ("สำเร็จ", "completed"),
    "closed_unresolved": ("ปิดโดยไม่สำเร็จ", "closed unresolved"),
    "waiting": ("รอขั้นก่อนหน้า", "waiting for an earlier step"),
    "withdrawn": ("ยกเลิกโดยศูนย์บริการ", "withdrawn by the desk"),
    "needs_action": ("ต้องดำเนินการ", "needs action"),
    "closed_partly_met": ("ปิดเรื่องแล้ว แก้ไขได้บางส่วน", "closed, partly met"),
    "closed_unmet": ("ปิดแล้ว ไม่สำเร็จ", "closed, not met"),
    "met": ("สำเร็จแล้ว", "met"),
    "rematched": ("ส่งต่อใหม่", "re-matched"),
}

NEED_DETAILS = {
    "declined": ("สมาชิกปฏิเสธ", "declined by the member"),
    "closed_unresolved": ("สมาชิกปิดงานโดยไม่สำเร็จ", "closed unresolved by the member"),
    "withdrawn": ("ศูนย์บริการยกเลิกงาน", "withdrawn"),
    "not_accepted": ("ยังไม่รับเรื่องภายใน 3 วันทำการ", "not accepted within 3 working days"),
    "past_due": ("เกินระยะเวลาที่คาดไว้", "past its expected duration"),
    "unassigned": ("ยังไม่มีผู้ให้บริการ", "no member yet"),
    "blocked": ("ขั้นก่อนหน้าถูกปิดโดยไม่สำเร็จ", "an earlier step was closed unmet"),
    "sent": ("รอสมาชิกรับเรื่อง", "waiting for the member to accept"),
    "accepted": ("สมาชิกรับเรื่องแล้ว", "accepted"),
    "in_progress": ("กำลังดำเนินการ", "in progress"),
}

CLOSE_REASONS = {
    "enterprise_withdrew": ("ผู้ประกอบการขอยกเลิก", "the enterprise withdrew"),
    "met_elsewhere": ("ผู้ประกอบการได้รับบริการจากที่อื่นแล้ว", "met elsewhere"),
    "no_provider": ("ไม่มีผู้ให้บริการในเครือข่าย", "no provider in the network"),
    "not_needed": ("ไม่จำเป็นแล้ว", "no longer needed"),
    "other": ("อื่นๆ", "other"),
}

DECLINE_REASONS = {
    "no_capacity": ("งานเต็ม รับเพิ่มไม่ได้", "no capacity"),
    "out_of_scope": ("ไม่ตรงกับบริการที่ให้", "out of scope"),
    "out_of_area": ("อยู่นอกพื้นที่ให้บริการ", "out of area"),
    "missing_documents": ("เอกสารไม่ครบ", "missing documents"),
    "other": ("อื่นๆ", "other"),
}

LEADING_VOWELS = "เแโใไ"


def thai_sort_key(text: str) -> str:
    """Dictionary order for Thai words: a leading vowel (เ แ โ ใ ไ) sorts after its consonant."""
    if len(text) > 1 and text[0] in LEADING_VOWELS:
        return text[1] + text[0] + text[2:]
    return text


def current_language() -> str:
    lang = session.get("lang") if _has_request() else None
    return lang if lang in LANGUAGES else DEFAULT


def _has_request() -> bool:
    return bool(request)


def pick(pair: tuple[str, str], lang: str | None = None) -> str:
    return pair[LANGUAGES.index(lang or current_language())]


def t(key: str, **values) -> str:
    """The string ``key`` in the current language, with ``{name}`` placeholders filled."""
    text = pick(STRINGS[key])
    return text.format(**values) if values else text


def both(key: str, **values) -> str:
    """Thai and English together (for messages whose reader is unknown, e.g. logs or flashes)."""
    th, en = STRINGS[key]
    return f"{th.format(**values)} / {en.format(**values)}"


def localized(row: dict | None, field: str = "name") -> str:
    """``row[field_th]`` or ``row[field_en]`` for the current language, falling back to the other one."""
    if not row:
        return ""
    lang = current_language()
    other = "en" if lang == "th" else "th"
    return row.get(f"{field}_{lang}") or row.get(f"{field}_{other}") or row.get(field) or ""


THAI_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_when(value) -> str:
    """An ISO timestamp as desk staff read it: ``22 พ.ย. 2569 14:05`` (Buddhist era) or ``22 Nov 2026 14:05``
    in Thailand's time (Asia/Bangkok), whatever offset the timestamp carries; text that is not a timestamp is
    returned."""
    from datetime import datetime

    from matcher import clock
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if when.tzinfo is not None:
        when = when.astimezone(clock.BANGKOK)
    if current_language() == "th":
        return f"{when.day} {THAI_MONTHS[when.month - 1]} {when.year + 543} {when:%H:%M}"
    return f"{when.day} {EN_MONTHS[when.month - 1]} {when.year} {when:%H:%M}"


def status_label(status: str) -> str:
    return pick(STATUS[status]) if status in STATUS else status


def detail_label(code: str | None) -> str:
    """Why a need is where it is (its leg's state, the overdue kind, or the desk's closing reason)."""
    if not code:
        return ""
    pair = NEED_DETAILS.get(code) or CLOSE_REASONS.get(code)
    return pick(pair) if pair else code


def close_reason_label(code: str) -> str:
    return pick(CLOSE_REASONS[code]) if code in CLOSE_REASONS else code


def reason_label(code: str) -> str:
    return pick(DECLINE_REASONS[code]) if code in DECLINE_REASONS else code


def message(error) -> str:
    """A user-facing text for an engine error: its Thai/English text when it carries one, else its message
    (a rate limit is said in the page's language only)."""
    lang = current_language()
    if getattr(error, "status", None) == 429:
        specific = getattr(error, f"message_{lang}", None)
        wait = re.search(r"(\d+)\s*s\b", error.message)
        return specific or t("err_too_many", seconds=wait.group(1) if wait else "60")
    for attr in (f"message_{lang}", lang):
        text = getattr(error, attr, None)
        if isinstance(text, str) and text:
            return text
    return error.message
