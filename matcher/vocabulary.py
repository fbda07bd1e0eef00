"""The product's vocabulary in one place: roles and what each may do, personal-data fields and consent
scopes, and the limits every caller shares (the API schemas, the desk pages and the engine read them here).

Statuses and their transitions are in :mod:`matcher.lifecycle` (a state machine as data); provinces,
categories, agency kinds and sectors are reference data (``data/*.csv``, :mod:`matcher.reference`).
"""

from __future__ import annotations

# -- roles and permissions ------------------------------------------------------------------------------

ROLES = ("desk", "member", "analyst", "admin")
ROLE_TH = {"desk": "จุดบริการ", "member": "หน่วยงานหรือที่ปรึกษา", "analyst": "นักวิเคราะห์", "admin": "ผู้ดูแลระบบ"}

# action -> (roles allowed, Thai / English wording of the action for error messages). The API's decorators
# and the engine's access checks both read this table; an admin may do everything.
PERMISSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "create_referral": (("desk", "admin"), "ส่งต่อบริการ / create referrals"),
    "view_referral": (("desk", "member", "admin"), "ดูรายการส่งต่อรายเรื่อง / view a single referral"),
    "list_referrals": (ROLES, "ดูรายการส่งต่อ / list referrals"),
    "move_leg": (("desk", "member", "admin"), "เปลี่ยนสถานะการส่งต่อ / move a referral leg"),
    "rematch": (("desk", "admin"), "จับคู่ใหม่ / re-match a referral leg"),
    "read_personal_log": (("admin",), "ดูบันทึกการเข้าถึงข้อมูลส่วนบุคคล / read the personal-data read log"),
    "export_monitoring": (("analyst", "admin"), "ส่งออกข้อมูลติดตามผล / export monitoring data"),
    "export_personal": (("admin",), "ส่งออกข้อมูลส่วนบุคคล / export personal data"),
    "import_members": (("admin",), "นำเข้าข้อมูลสมาชิก / import members"),
    "close_need": (("desk", "admin"), "ปิดหรือเปิดความต้องการอีกครั้ง / close or re-open a need"),
    "record_satisfaction": (("desk", "admin"), "บันทึกความพึงพอใจของผู้ประกอบการ / record the enterprise's satisfaction"),
    "print_slip": (("desk", "admin"), "พิมพ์ใบส่งต่อบริการ / print a referral slip"),
    "view_queue": (("desk", "admin"), "ดูรายการที่ต้องดำเนินการ / view the needs-action queue"),
    "manage_notifications": (("desk", "member", "admin"), "ตั้งค่าและอ่านการแจ้งเตือน / manage notifications"),
    "replay_deliveries": (("admin",), "ส่งการแจ้งเตือนที่ค้างอีกครั้ง / replay dead deliveries"),
    "end_sessions": (("admin",), "ยุติการเข้าสู่ระบบของผู้ใช้ / end a user's desk sessions"),
}


def roles_for(action: str) -> tuple[str, ...]:
    """The roles that may do ``action`` (a key of ``PERMISSIONS``)."""
    return PERMISSIONS[action][0]


# -- personal data (Thailand's PDPA) ----------------------------------------------------------------------

CONTACT_FIELDS = ("name", "phone", "email")
# Consent scope -> the personal parts a member on the referral may see.
CONSENT_SCOPES = {
    "share_contact_with_bundle_members": ("contact",),
    "share_contact_and_tax_id_with_bundle_members": ("contact", "tax_id"),
}
PERSONAL_PARTS = ("contact", "tax_id", "consent_by")
# Enterprise columns that hold personal data, by the part they belong to.
ENTERPRISE_PERSONAL_COLUMNS = {"contact_name": "contact", "contact_phone": "contact", "contact_email": "contact",
                               "tax_id": "tax_id"}

# -- limits ---------------------------------------------------------------------------------------------

MAX_NEEDS = 8          # needs per case (a match, a referral, the desk's need chips)
MAX_TOP_K = 10         # bundles one match returns
MAX_MEMBER_IDS = 100   # member ids in exclude / include / coordinate_with
MAX_PAGE = 500         # rows per page of a list
MAX_OFFSET = 2 ** 31 - 1
MAX_TEXT = 5000        # a case's free-text description
MAX_NOTE = 2000        # a note on a leg
MAX_VALUE_BAHT = 1e12  # economic value recorded on a completed leg
SATISFACTION = (1, 5)  # the enterprise's satisfaction after its case closes, lowest and highest score
