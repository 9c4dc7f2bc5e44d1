"""Leader pages (/leader/): coverage, progress and warnings.

Placeholder until visits are recorded and coverage computed (web issue, point 5).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from web.auth import require_role
from web.i18n import gettext as _

bp = Blueprint("leader", __name__, url_prefix="/leader")
bp.before_request(require_role("leader", "admin"))


@bp.route("/")
def home():
    return render_template(
        "placeholder.html",
        section="leader",
        title=_("Leader"),
        text=_(
            "Leader pages: coverage map and heat map, roll-up by town, village and grid, "
            "progress against the deadline and warnings for units behind schedule."
        ),
    )
