"""The strings of the new-case steps added with their own pages (merged into ``i18n.STRINGS``)."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "draft_sent": ("เรื่องนี้ส่งต่อแล้ว (รายการส่งต่อเลขที่ {id})", "This case has been sent already (referral {id})."),
    "draft_gone": ("ไม่พบร่างเรื่องนี้แล้ว (ร่างเก็บไว้ 12 ชั่วโมง) กรุณาเริ่มรับเรื่องใหม่",
                   "This draft is no longer kept (drafts last 12 hours); please start the case again."),
    "province_differs": ("สถานประกอบการอยู่ที่{name} ซึ่งไม่ใช่จังหวัดของศูนย์ ({desk}) ระบบจึงค้นหาสมาชิกโดยอิงจังหวัด{name}",
                         "The enterprise is in {name}, not in the desk's province ({desk}); members are matched "
                         "for {name}."),
    "province_conflict": ("คำบรรยายระบุว่าอยู่ที่{named} แต่จังหวัดที่เลือกไว้คือ{name} โปรดตรวจสอบ",
                          "The description names {named}, but {name} is chosen; please check."),
    "fix_province": ("แก้ไขจังหวัด", "Change the province"),
    "change_details": ("แก้ไขรายละเอียดหรือจังหวัด", "Change the details or the province"),
    "change_bundle": ("เลือกชุดบริการอื่น", "Choose another bundle"),
    "consent_given_at": ("ได้รับความยินยอมจากสถานประกอบการแล้ว เมื่อ {at}", "Consent given by the enterprise on {at}"),
    "joint_pair": ("{a} และ {b} เคยทำงานร่วมกันมาแล้ว {n} เรื่อง", "{a} and {b} have worked together on {n} past referrals"),
    "compare_title": ("เทียบชุดบริการแบบย่อ", "The bundles at a glance"),
    "compare_caption": ("ใครรับความต้องการแต่ละด้านในแต่ละชุด และตัวเลขที่ทำให้ชุดต่างกัน",
                        "Who takes each need in each bundle, and the figures that set the bundles apart"),
    "compare_need": ("ความต้องการ", "Need"),
    "compare_same": ("เหมือนกันทุกชุด", "the same in every bundle"),
    "compare_same_line": ("ทุกชุดใช้สมาชิกเดียวกันสำหรับ: {needs}", "Every bundle uses the same member for: {needs}"),
    "compare_differ_line": ("ชุดต่างกันที่: {needs}", "The bundles differ in: {needs}"),
    "compare_all_differ": ("ทุกความต้องการมีสมาชิกต่างกันในแต่ละชุด", "Each need has a different member in each bundle."),
    "compare_none_left": ("ไม่มีสมาชิก", "no member"),
    "cmp_members": ("จำนวนสมาชิก (ราย)", "Members"),
    "cmp_joint": ("เคยทำงานร่วมกันระหว่างสมาชิกในชุด (เรื่อง)", "Past joint work between its members (referrals)"),
    "cmp_distance": ("ระยะทางเฉลี่ยจากจังหวัดของสถานประกอบการ (กม.)", "Average distance from the enterprise's province (km)"),
    "cmp_steps": ("จำนวนขั้นของการส่งต่อ", "Steps of the referral plan"),
    "chance_short": ("โอกาสที่ทุกความต้องการจะได้รับการแก้ไข", "Chance that every need is met"),
    "value_hint": ("พิมพ์เป็นตัวเลข (บาท) เช่น 200000 หรือ 200,000 ไม่ต้องพิมพ์เป็นตัวหนังสือ",
                   "Type digits (baht), e.g. 200000 or 200,000, not words."),
}
