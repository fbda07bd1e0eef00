"""One place turns errors into responses, in one JSON shape:

``{"ok": false, "status": 422, "error": "message", "errors": [{"field", "message", "allowed"?}]}``

Engine errors (:class:`matcher.errors.RismepError`), request validation errors and HTTP errors (404,
405, malformed JSON, oversized bodies) all take this shape; unexpected exceptions become a 500 in the same
shape with no stack trace. Pages that are not under ``/api/`` or ``/hsds`` get the desk's styled HTML error
page instead, in the page's language, with no API instructions: the renderer the desk registers as
``app.extensions["html_error_page"]`` (``web.desk.common.styled_error_page``), else a plain page.
"""

from __future__ import annotations

import logging

from apiflask import HTTPError, Schema
from apiflask.fields import Boolean, Integer, List, Nested, Raw, String
from flask import current_app, jsonify, render_template_string, request

from matcher import store
from matcher.errors import RismepError

log = logging.getLogger(__name__)


class ErrorItem(Schema):
    field = String(allow_none=True, metadata={"description": "the bad field (dotted path), if any"})
    message = String(required=True)
    allowed = List(Raw(), metadata={"description": "accepted values, where they are few enough to list"})
    # A problem found in an imported file also says where it is and how to fix it, in English and Thai.
    sheet = String(metadata={"description": "imports: the sheet (or the CSV file's name)"})
    row = Integer(allow_none=True, metadata={"description": "imports: the spreadsheet row"})
    column = String(allow_none=True, metadata={"description": "imports: the column"})
    value = String(allow_none=True, metadata={"description": "imports: the cell's value as text"})
    code = String(metadata={"description": "imports: the kind of problem, e.g. missing_column"})
    problem = String(metadata={"description": "imports: what is wrong"})
    problem_th = String(metadata={"description": "imports: what is wrong, in Thai"})
    fix = String(metadata={"description": "imports: how to fix it"})
    fix_th = String(metadata={"description": "imports: how to fix it, in Thai"})


class ErrorOut(Schema):
    ok = Boolean(required=True, metadata={"example": False})
    status = Integer(required=True)
    error = String(required=True)
    errors = List(Nested(ErrorItem), required=True)


ERROR_SCHEMA = ErrorOut

HTML_ERROR = """<!doctype html><html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ status }}</title></head>
<body><main><h1>เกิดข้อผิดพลาด / Error {{ status }}</h1><p>กรุณาลองใหม่อีกครั้ง / Please try again.</p>
<p><a href="/">หน้าแรก / Home</a></p>
</main></body></html>"""


def error_body(status: int, message: str, errors: list[dict] | None = None) -> dict:
    return {"ok": False, "status": status, "error": message, "errors": errors or []}


def wants_html() -> bool:
    return not request.path.startswith(("/api/", "/hsds")) and request.accept_mimetypes.accept_html


def respond(status: int, message: str, errors=None, headers=None):
    if wants_html():
        return html_error_page(status, message), status, headers or {}
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def html_error_page(status: int, message: str = "") -> str:
    """The styled error page for a browser (its own words for the status; ``message`` is read only for a
    rate limit's wait), or the plain page when the styled one cannot be drawn."""
    renderer = current_app.extensions.get("html_error_page")
    if renderer is None:
        return plain_error_page(status)
    try:
        return renderer(status, message)
    except Exception:
        log.exception("styled error page failed for %s %s", request.method, request.path)
        return plain_error_page(status)


def plain_error_page(status: int) -> str:
    """The last-resort page: no layout, both languages, no detail."""
    return render_template_string(HTML_ERROR, status=status)


def validation_items(detail) -> list[dict]:
    """Flatten APIFlask/webargs validation detail ``{location: {field: [messages]}}`` into items."""
    items = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + [str(key)])
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            items.append({"field": ".".join(path) or None, "message": " ".join(node)})
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + [str(i)])
        else:
            items.append({"field": ".".join(path) or None, "message": str(node)})

    for location, fields in (detail or {}).items():
        walk(fields, [])
    return items


def retry_headers(error: RismepError) -> dict:
    """``Retry-After`` for a 429 (the limiter's wait) and a 503 (30 s)."""
    if error.status == 429:
        return {"Retry-After": str(int(getattr(error, "retry_after", 60) or 60))}
    if error.status == 503:
        return {"Retry-After": "30"}
    return {}


def register(app) -> None:
    @app.errorhandler(RismepError)
    def engine_error(error: RismepError):
        return respond(error.status, error.message, error.details(), retry_headers(error))

    @app.error_processor
    def http_error(error: HTTPError):
        status = error.status_code
        if status == 422 or (error.detail and status == 400):
            items = validation_items(error.detail)
            message = "; ".join(f"{i['field']}: {i['message']}" if i["field"] else i["message"] for i in items)
            return respond(status, f"Invalid request: {message}", items, error.headers)
        message = HTTP_MESSAGES.get(status, error.message or "Error").format(
            path=request.path, method=request.method, limit=current_app.config["MAX_CONTENT_LENGTH"])
        items = [{"field": "body", "message": message}] if status in (400, 413) else []
        return respond(status, message, items, error.headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        busy = store.unavailable(error)
        if busy is not None:
            log.error("store unavailable on %s %s: %s", request.method, request.path, error)
            return respond(503, busy.message, [{"field": None, "message": "store unavailable"}],
                           {"Retry-After": "30"})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return respond(500, "Internal error; it has been logged. Please try again or contact the administrator.")


HTTP_MESSAGES = {
    400: "The request body is not valid JSON or has the wrong content type; send a JSON object with "
         "Content-Type: application/json.",
    404: "No such resource: {path}. See /api/v1/docs for the available paths.",
    405: "Method {method} is not allowed on {path}.",
    413: "The request is too large; the limit is {limit:,} bytes.",
}
