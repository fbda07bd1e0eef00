"""The desk: web pages for one-stop-service staff, members and analysts (Thai first, English switch).

Pages (all server-rendered, no CDN; a little vanilla JS in ``web/static/desk.js``):

- ``/`` the signed-in account's home; ``/desk/signin``, ``/desk/signout``, ``/desk/lang/<th|en>``
- ``/desk/cases/new`` -> ``/desk/cases/<draft>/needs`` -> ``.../bundles`` -> ``.../consent`` -> send: a new case
  to a sent referral, each step a page of its own (POST-redirect-GET, the draft kept in the store)
- ``/desk/referrals`` (a desk's list), ``/desk/referrals/<id>`` (legs, timeline, actions), ``/desk/inbox``
- ``/desk/dashboard`` (KPIs, gap heatmap, single points of failure, rollout plan)
- ``/desk/directory`` (search the members, a tile map of matches) and ``/desk/directory/<id>`` (a member)

Every POST carries the session's CSRF token (``csrf.py``); errors render as HTML pages in the layout with
no stack trace (``common.register_error_pages``).
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import flash, redirect, request, url_for

bp = APIBlueprint("desk", __name__, enable_openapi=False)

from . import common, csrf, i18n  # noqa: E402


@bp.before_request
def _before():
    if request.method == "POST" and request.endpoint != "desk.signin_post" and common.current_user() is None:
        # The session ended (or never began): nothing will be done, so ask for a sign-in, not a token.
        flash(i18n.t("signin_required"), "error")
        return redirect(url_for("desk.signin"))
    csrf.check()


bp.context_processor(common.template_context)
bp.add_app_template_filter(common.category_label, "category_label")
bp.add_app_template_filter(common.province_name, "province_name")
bp.record_once(common.configure_app)
common.register_error_pages(bp)

from . import analyst_pages, auth_pages, cases, dashboard, directory_pages, followup_pages, referrals_pages  # noqa: E402,F401
