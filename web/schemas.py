"""Request schemas (APIFlask / marshmallow): they validate input and describe it in the OpenAPI document.

Values that depend on the data (category codes, provinces by any name, member ids) are checked by the
engine, whose errors name the accepted values.
"""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, String
from apiflask.validators import Length, OneOf, Range, Regexp

from matcher.engine.request import KINDS
from matcher.vocabulary import (
    MAX_MEMBER_IDS,
    MAX_NEEDS,
    MAX_OFFSET,
    MAX_PAGE,
    MAX_TOP_K,
)


class Page(Schema):
    limit = Integer(load_default=50, validate=Range(1, MAX_PAGE), metadata={"description": f"page size (1-{MAX_PAGE})"})
    offset = Integer(load_default=0, validate=Range(0, MAX_OFFSET), metadata={"description": "rows to skip"})


# Text as the boundary accepts it (matcher.hygiene): no control characters; a line has something besides spaces.
_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
LINE = f"^[^{_CONTROL}]*$"                                  # one line, may be empty
FILLED_LINE = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"  # one line with a visible character
_TEXT_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
TEXT = f"^[^{_TEXT_CONTROL}]*$"                             # free text: line breaks and tabs allowed
MEMBER_ID = "^[AC][0-9]{4,6}$"
# Contact fields as the referral parser reads them: surrounding spaces dropped, then empty or well formed.
_SPACE = "[ \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000]"  # whitespace that is not a control
PHONE = f"^{_SPACE}*([0-9+().-]([0-9+().-]|{_SPACE}){{1,38}}[0-9+().-])?{_SPACE}*$"
EMAIL = f"^{_SPACE}*([^@\\s{_CONTROL}]+@[^@\\s{_CONTROL}]+)?{_SPACE}*$"
SLUG = "^[a-z0-9][a-z0-9_-]{0,63}$"
MEMBER_ID_ERROR = "Not a member id: use A followed by 4 digits for an agency (A0001) or C for a consultant (C0001)."


class MemberQuery(Page):
    province = String(metadata={"description": "province code, English or Thai name (e.g. TH-50, Chiang Mai, "
                                               "เชียงใหม่)", "x-reference": "province"})
    category = String(metadata={"description": "service category code (GET /api/v1/taxonomy)",
                                "x-reference": "category"})


class AgencyQuery(MemberQuery):
    kind = String(metadata={"description": "agency kind code", "x-reference": "kind"})


class IntakeIn(Schema):
    text = String(required=True, validate=Length(1, 2000), metadata={
        "description": "what the enterprise says, in Thai or English (1-2000 characters, not only spaces)",
        "pattern": "\\S", "example": "ขนมเปี๊ยะขึ้นราภายใน 3 วัน ส่งไปขายต่างจังหวัดไม่ได้"})


class MatchIn(Schema):
    needs = List(String(validate=Length(1, 64), metadata={"x-reference": "category"}), validate=Length(1, MAX_NEEDS),
                 metadata={"description": f"service category codes (1-{MAX_NEEDS}); or give text instead",
                           "example": ["gmp_haccp", "loan"]})
    text = String(validate=Length(1, 2000),
                  metadata={"description": "instead of needs: what the enterprise says (Thai or English); it is "
                                          "classified (POST /api/v1/intake/classify) and its needs are matched",
                            "pattern": "\\S", "example": "มีเลข อย. แล้ว แต่ห้างขอ GMP"})
    province = String(validate=Length(1, 100),
                      metadata={"description": "the enterprise's province: code, English or Thai name (with text, "
                                               "the province the text names is used when this is absent)",
                                "example": "เชียงใหม่", "x-reference": "province"})
    sector = String(validate=Length(0, 64), allow_none=True,
                    metadata={"description": "the enterprise's sector, e.g. food", "example": "food"})
    top_k = Integer(load_default=3, validate=Range(1, MAX_TOP_K), metadata={"description": "bundles to return"})
    cluster = String(validate=Regexp(SLUG, error="Not a cluster id: lower-case letters, digits, '_' and '-' (GET "
                                                 "/api/v1/clusters lists them)."), allow_none=True,
                     metadata={"description": "the enterprise's SME cluster id (its sector counts for sector fit; "
                                              "an unknown id answers 404)", "example": "herbs"})
    exclude = List(String(validate=Regexp(MEMBER_ID, error=MEMBER_ID_ERROR)), load_default=list,
                   validate=Length(0, MAX_MEMBER_IDS),
                   metadata={"description": "member ids that must not be in any bundle (an unknown id answers 404)"})
    include = List(String(validate=Regexp(MEMBER_ID, error=MEMBER_ID_ERROR)), load_default=list,
                   validate=Length(0, MAX_NEEDS),
                   metadata={"description": "member ids that must be in every bundle (each takes at least one need; "
                                            "409 when the network cannot honour it)"})
    coordinate_with = List(String(validate=Regexp(MEMBER_ID, error=MEMBER_ID_ERROR)), load_default=list,
                           validate=Length(0, MAX_MEMBER_IDS),
                           metadata={"description": "members already working on the case: their past joint work "
                                                    "with the proposed members counts, they take no need and are "
                                                    "never proposed"})
    max_members = Integer(allow_none=True, validate=Range(1, MAX_NEEDS),
                          metadata={"description": "largest bundle (members); default: no limit"})
    local_only = Boolean(load_default=False,
                         metadata={"description": "only members in the enterprise's own province"})
    kinds = String(load_default="all", validate=OneOf(list(KINDS)),
                   metadata={"description": "all: agencies and consultants; agencies: agencies (BDSPs) only"})
    explain = Boolean(load_default=False,
                      metadata={"description": "also return the candidate pool's leg logits, the weights of the "
                                               "bundle terms and the joint-work counts, to recompute and check "
                                               "each bundle"})
    province_assumed = Boolean(load_default=False,
                               metadata={"description": "the province is a default (e.g. the desk's own), not the "
                                                        "enterprise's: distances are not offered as reasons"})


class StrictBoolean(Boolean):
    """A JSON ``true`` or ``false`` and nothing else (marshmallow's Boolean also takes "yes", "1", 1...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
