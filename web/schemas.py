"""Request schemas (APIFlask / marshmallow): they validate input and describe it in the OpenAPI document.

Values that depend on the data (category codes, provinces by any name, member ids) are checked by the
engine, whose errors name the accepted values.
"""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, String
from apiflask.validators import Length, OneOf, Range


class Page(Schema):
    limit = Integer(load_default=50, validate=Range(1, 500), metadata={"description": "page size (1-500)"})
    offset = Integer(load_default=0, validate=Range(0), metadata={"description": "rows to skip"})


class MemberQuery(Page):
    province = String(metadata={"description": "province code, English or Thai name (e.g. TH-50, Chiang Mai, "
                                               "เชียงใหม่)"})
    category = String(metadata={"description": "service category code (GET /api/v1/taxonomy)"})
    kind = String(metadata={"description": "agency kind code (agencies only)"})


class MatchIn(Schema):
    needs = List(String(validate=Length(1, 64)), required=True, validate=Length(1, 8),
                 metadata={"description": "service category codes (1-8)", "example": ["gmp_haccp", "loan"]})
    province = String(required=True, validate=Length(1, 100),
                      metadata={"description": "the enterprise's province: code, English or Thai name",
                                "example": "เชียงใหม่"})
    sector = String(validate=Length(0, 64), allow_none=True,
                    metadata={"description": "the enterprise's sector, e.g. food", "example": "food"})
    top_k = Integer(load_default=3, validate=Range(1, 10), metadata={"description": "bundles to return"})
    exclude = List(String(validate=Length(1, 32)), load_default=list, validate=Length(0, 100),
                   metadata={"description": "member ids that must not be in any bundle"})
    explain = Boolean(load_default=False, metadata={"description": "return the pool and every objective term"})
