"""Request schemas (APIFlask / marshmallow): they validate input and describe it in the OpenAPI document.

Values that depend on the data (category codes, provinces by any name, member ids) are checked by the
engine, whose errors name the accepted values.
"""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, String
from apiflask.validators import Length, OneOf, Range

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


class MemberQuery(Page):
    province = String(metadata={"description": "province code, English or Thai name (e.g. TH-50, Chiang Mai, "
                                               "เชียงใหม่)"})
    category = String(metadata={"description": "service category code (GET /api/v1/taxonomy)"})
    kind = String(metadata={"description": "agency kind code (agencies only)"})


class IntakeIn(Schema):
    text = String(required=True, metadata={
        "description": "what the enterprise says, in Thai or English (1-2000 characters)",
        "example": "ขนมเปี๊ยะขึ้นราภายใน 3 วัน ส่งไปขายต่างจังหวัดไม่ได้"})


class MatchIn(Schema):
    needs = List(String(validate=Length(1, 64)), validate=Length(1, MAX_NEEDS),
                 metadata={"description": f"service category codes (1-{MAX_NEEDS}); or give text instead",
                           "example": ["gmp_haccp", "loan"]})
    text = String(metadata={"description": "instead of needs: what the enterprise says (Thai or English); it is "
                                          "classified (POST /api/v1/intake/classify) and its needs are matched",
                            "example": "มีเลข อย. แล้ว แต่ห้างขอ GMP"})
    province = String(validate=Length(1, 100),
                      metadata={"description": "the enterprise's province: code, English or Thai name (with text, "
                                               "the province the text names is used when this is absent)",
                                "example": "เชียงใหม่"})
    sector = String(validate=Length(0, 64), allow_none=True,
                    metadata={"description": "the enterprise's sector, e.g. food", "example": "food"})
    top_k = Integer(load_default=3, validate=Range(1, MAX_TOP_K), metadata={"description": "bundles to return"})
    cluster = String(validate=Length(1, 64), allow_none=True,
                     metadata={"description": "the enterprise's SME cluster id (its sector counts for sector fit)",
                               "example": "herbs"})
    exclude = List(String(validate=Length(1, 32)), load_default=list, validate=Length(0, MAX_MEMBER_IDS),
                   metadata={"description": "member ids that must not be in any bundle"})
    include = List(String(validate=Length(1, 32)), load_default=list, validate=Length(0, MAX_NEEDS),
                   metadata={"description": "member ids that must be in every bundle (each takes at least one need)"})
    coordinate_with = List(String(validate=Length(1, 32)), load_default=list, validate=Length(0, MAX_MEMBER_IDS),
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
