"""The OpenAPI description states the real rules: what the marshmallow schemas say, plus what they cannot.

Applied once to the generated document (``app.spec_processor``):

- Reference data as enums: a field marked ``metadata={"x-reference": NAME}`` accepts the values of
  ``REFERENCE_SETS[NAME]`` (category codes, provinces by code, English or Thai name, hub provinces, agency
  kinds, sectors), read from the same reference tables the engine checks against.
- Objects keyed by service category (``assignment``): ``minProperties``/``maxProperties`` and
  ``propertyNames`` instead of string lengths.
- Request bodies refuse properties they do not define (``additionalProperties: false``), as the schemas do.
- Identifiers in paths: database ids are 1 to 2^63 - 1; member ids, usernames and cluster ids have their
  patterns.
- Every status an operation can answer is listed: 400 for a body that is not JSON (or is nested too deeply),
  401/429 on keyed operations, 422 where there is input, 503 when the store cannot serve the request.

Two rules JSON Schema cannot compute are named as formats, described in words: ``thai-id`` (13 digits whose
last is the check digit of the Thai national and tax id) and ``past-date-time`` (an ISO 8601 date and time
since 2000 and not in the future).
"""

from __future__ import annotations

from .context import get_reference

MAX_ID = 2 ** 63 - 1
MEMBER_ID = r"^[AC][0-9]{4,6}$"
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$"
YEAR_MONTH_DAY = {"anyOf": [{"type": "string", "format": "date"},
                            {"type": "string", "pattern": r"^(?!0000)[0-9]{4}$"},
                            {"type": "string", "pattern": r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])$"}]}
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
COMMON = {400: "The body is not valid JSON, or nests too deeply or holds a number too long",
          401: "No API key, or an unknown or revoked one", 422: "Invalid input; the error names the field and the fix",
          414: "The address is longer than the server reads (gunicorn: 4,094 bytes for the request line)",
          429: "Too many requests; Retry-After says when to try again",
          503: "The database cannot serve the request right now (missing, read-only, full or busy)"}
PATH_PATTERNS = {"member_id": MEMBER_ID, "username": USERNAME, "cluster_id": SLUG}


def provinces(ref) -> list[str]:
    return [name for p in ref.provinces for name in (p["code"], p["name_en"], p["name_th"])]


def hubs(ref) -> list[str]:
    return [name for p in ref.provinces if p["is_hub"] for name in (p["code"], p["name_en"], p["name_th"])]


REFERENCE_SETS = {
    "category": lambda ref: list(ref.category_codes),
    "province": provinces,
    "hub": hubs,
    "kind": lambda ref: [k["code"] for k in ref.agency_kinds],
    "sector": lambda ref: list(ref.sector_codes),
}


def with_reference(node, ref) -> None:
    """Replace every ``x-reference`` marker under ``node`` by the enum it names (in place)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.pop("x-reference", None)
            if name is not None:
                item["enum"] = REFERENCE_SETS[name](ref) + ([None] if _nullable(item) else [])
                if not item.pop("minLength", 0):
                    item["x-empty"] = True  # the field has no minimum length: "" reads as "not given"
                item.pop("maxLength", None)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _nullable(schema: dict) -> bool:
    kind = schema.get("type")
    return isinstance(kind, list) and "null" in kind


def objects_by_category(schemas: dict) -> None:
    """``assignment``-like properties (objects whose keys are categories): object keywords, not string ones."""
    for schema in schemas.values():
        for prop in (schema.get("properties") or {}).values():
            kinds = prop.get("type")
            if kinds == "object" or (isinstance(kinds, list) and "object" in kinds):
                if "minLength" in prop:
                    prop["minProperties"] = prop.pop("minLength")
                if "maxLength" in prop:
                    prop["maxProperties"] = prop.pop("maxLength")


def closed_bodies(spec: dict) -> None:
    """``additionalProperties: false`` on every schema a JSON request body uses, and on its nested ones."""
    schemas = spec.get("components", {}).get("schemas", {})
    names = set()
    for path in spec.get("paths", {}).values():
        for op in path.values():
            content = (op.get("requestBody") or {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref:
                names.add(ref.rsplit("/", 1)[1])
    while names:
        name = names.pop()
        schema = schemas.get(name)
        if schema is None or schema.get("additionalProperties") is False:
            continue
        schema["additionalProperties"] = False
        for prop in (schema.get("properties") or {}).values():
            for node in (prop, *(prop.get("anyOf") or []), *(prop.get("oneOf") or []), *(prop.get("allOf") or [])):
                if isinstance(node, dict) and "$ref" in node:
                    names.add(node["$ref"].rsplit("/", 1)[1])


def parameters(op: dict) -> None:
    """Path identifiers get their bounds or patterns; an empty query filter means no filter, as the views
    read it, so the reference enums of query parameters accept ""."""
    for param in op.get("parameters", []):
        if param.get("schema", {}).pop("x-empty", False) and param.get("in") == "query":
            param["schema"]["enum"] = ["", *param["schema"]["enum"]]
        if param.get("in") != "path":
            continue
        schema = param.setdefault("schema", {})
        if schema.get("type") == "integer":
            schema.update(minimum=1, maximum=MAX_ID)
        elif param["name"] in PATH_PATTERNS:
            schema["pattern"] = PATH_PATTERNS[param["name"]]


def documented_statuses(op: dict) -> None:
    responses = op.setdefault("responses", {})
    wanted = [414, 503]
    if op.get("requestBody"):
        wanted += [400, 422]
    if op.get("parameters"):
        wanted.append(422)
    if op.get("security"):
        wanted += [401, 429]
    for status in wanted:
        content = "text/html" if status == 414 else "application/json"  # 414 comes from gunicorn itself
        schema = {"type": "string"} if status == 414 else ERROR_REF
        responses.setdefault(str(status), {"description": COMMON[status], "content": {content: {"schema": schema}}})


_FILLED = {"type": "string", "pattern": "\\S"}
# Rules between fields, which marshmallow checks in code and JSON Schema states with if/then and oneOf.
SCHEMA_RULES = {
    "MatchIn": {"required": ["province"], "anyOf": [{"required": ["needs"]}, {"required": ["text"]}]},
    "ConsentIn": {"if": {"required": ["given"], "properties": {"given": {"const": True}}},
                  "then": {"required": ["by", "at", "scope"],
                           "properties": {"by": _FILLED, "at": {"type": "string"}, "scope": {"type": "string"}}}},
    "ReferralIn": {"allOf": [
        {"oneOf": [{"required": ["enterprise"], "properties": {"enterprise": {"type": "object"},
                                                              "enterprise_id": {"type": "null"}}},
                   {"required": ["enterprise_id"], "properties": {"enterprise_id": {"type": "integer"},
                                                                 "enterprise": {"type": "null"}}}]},
        # Contact data or an id go to the members only with consent given (PDPA).
        {"if": {"required": ["enterprise"], "properties": {"enterprise": {"type": "object", "anyOf": [
            {"required": ["tax_id"], "properties": {"tax_id": _FILLED}},
            {"required": ["contact"], "properties": {"contact": {"type": "object", "anyOf": [
                {"required": [name], "properties": {name: _FILLED}} for name in ("name", "phone", "email")]}}}]}}},
         "then": {"required": ["consent"], "properties": {"consent": {
             "type": "object", "required": ["given"], "properties": {"given": {"const": True}}}}}},
    ]},
    # A channel needs its address in the same request (the stored one is not visible to the description).
    "SettingsIn": {"allOf": [
        {"if": {"required": ["channels"], "properties": {"channels": {"contains": {"const": channel}}}},
         "then": {"required": [field], "properties": {field: {"type": "string", "minLength": 1}}}}
        for channel, field in (("email", "email"), ("webhook", "webhook_url"))]},
    "LegIn": {"allOf": [
        {"if": {"properties": {"status": {"const": "declined"}}},
         "then": {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
         "else": {"properties": {"reason": {"type": "null"}}}},
        {"if": {"properties": {"status": {"const": "completed"}}},
         "then": {"required": ["value_baht", "note"], "properties": {"value_baht": {"type": "number"}, "note": _FILLED}},
         "else": {"properties": {"value_baht": {"type": "null"}}}},
        {"if": {"required": ["reason"], "properties": {"reason": {"const": "other"}}},
         "then": {"required": ["note"], "properties": {"note": _FILLED}}},
    ]},
}
# Objects keyed by need: which of their properties, and what the member ids look like.
KEYED_BY_NEED = {"ReferralIn": "assignment", "RematchIn": "assignment"}


def keyed_by_need(schemas: dict, ref) -> None:
    for name, prop in KEYED_BY_NEED.items():
        node = schemas.get(name, {}).get("properties", {}).get(prop)
        if node is not None:
            node["propertyNames"] = {"enum": list(ref.category_codes)}
            node["additionalProperties"] = {"type": "string", "pattern": MEMBER_ID}


def register(app) -> None:
    @app.spec_processor
    def real_rules(spec: dict) -> dict:
        with app.app_context():
            ref = get_reference()
        with_reference(spec, ref)
        schemas = spec.get("components", {}).get("schemas", {})
        objects_by_category(schemas)
        keyed_by_need(schemas, ref)
        for name, rules in SCHEMA_RULES.items():
            if name in schemas:
                schemas[name].update(rules)
        closed_bodies(spec)
        for schema in schemas.values():
            for prop in (schema.get("properties") or {}).values():
                prop.pop("x-empty", None)
        for path in spec.get("paths", {}).values():
            for op in path.values():
                parameters(op)
                documented_statuses(op)
                if op.get("requestBody"):  # every body the service takes is needed
                    op["requestBody"]["required"] = True
        return spec
