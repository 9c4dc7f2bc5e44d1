"""Planner pages (/planner/): the campaign map today; later upload and
validation, assignment and scheduling runs, hand edits, downloads."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

from web import maps
from web.auth import require_role
from web.data import POINT_LAYERS, get_data
from web.i18n import ZH, get_language, messages

bp = Blueprint("planner", __name__, url_prefix="/planner")
bp.before_request(require_role("planner", "admin"))

#: layers loaded once; the others are reloaded for the view on every move
STATIC_LAYERS = ("towns", "villages", "grids")


@bp.route("/")
def home():
    return redirect(url_for("planner.map_page"))


@bp.route("/map")
def map_page():
    """Villages (must-visit ones outlined), grids coloured by team, towns,
    roads, and households counted by grid until zoomed in."""
    data = get_data()
    config = current_app.config
    cmap = maps.campaign_map(
        data, tile_url=config.get("TILE_URL"), tile_attribution=config.get("TILE_ATTRIBUTION")
    )
    parts = cmap.render_parts()
    colours = maps.team_colours(data.teams)
    js_config = {
        "lang": get_language(),
        "layers": {
            name: {
                "url": url_for("api.layer", name=name),
                "dynamic": name not in STATIC_LAYERS,
                "points": name in POINT_LAYERS,
            }
            for name in data.layers
        },
        "teams": {tid: {"name": data.teams[tid], "colour": colours[tid]} for tid in data.teams},
        "colours": {
            "unassigned": maps.UNASSIGNED_COLOUR,
            "weak": maps.WEAK_COLOUR,
            "resettlement": maps.RESETTLEMENT_COLOUR,
        },
        # every message is offered; campaign_map.js picks what it needs
        "labels": messages(ZH),
    }
    legend_teams = [(data.teams[tid], colours[tid]) for tid in data.teams] if data.plan is not None else []
    return render_template(
        "planner/map.html",
        folium=parts,
        js_config=js_config,
        summary=data.summary(),
        legend_teams=legend_teams,
        colours=js_config["colours"],
    )
