"""Cadre pages (/cadre/), phone-first: today's route, stops, recording visits.

Placeholder until the schedule and visits exist (web issue, point 4).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web.auth import require_role
from web.i18n import gettext as _

bp = Blueprint("cadre", __name__, url_prefix="/cadre")
bp.before_request(require_role("cadre", "admin"))


@bp.route("/")
def home():
    return render_template(
        "placeholder.html",
        section="cadre",
        title=_("Cadre"),
        text=_(
            "Cadre pages: today's route and stop list, GPX and walk sheet downloads, "
            "and recording each visit's outcome and the problems raised."
        ),
    )
