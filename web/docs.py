"""Serves the interactive API documentation's assets from the installed swagger-ui-bundle (no CDN)."""

from __future__ import annotations

import swagger_ui_bundle
from apiflask import APIBlueprint
from flask import send_from_directory

bp = APIBlueprint("docs_assets", __name__, enable_openapi=False)


@bp.get("/api/v1/docs/assets/<path:filename>")
def asset(filename):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
