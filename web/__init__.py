"""zoufang's web site: an app factory, one blueprint per audience, a JSON API.

Shaped like Flask's tutorial app (flaskr)::

    app = create_app({"CAMPAIGN_PATH": "campaign.gpkg"})

Blueprints: ``auth`` (/login, /logout), ``planner`` (/planner/), ``cadre``
(/cadre/), ``leader`` (/leader/), ``admin`` (/admin/) and ``api`` (/api/). The site works with no internet: every
JS/CSS asset is served from ``static/vendor/`` and a Content-Security-Policy
forbids the browser to fetch from any other host (except a configured tile
server).

Configuration keys (defaults in :data:`DEFAULTS`):

``CAMPAIGN_PATH``   the campaign GeoPackage (or ``CAMPAIGN``: a ready Campaign)
``PLAN_PATH``       optional plan GeoPackage with an ``assignment`` layer (or ``PLAN``: a DataFrame)
``TILE_URL``        optional tile layer URL template; none by default (offline)
``TILE_ATTRIBUTION`` its attribution text
``TILE_CRS``        ``wgs84`` or ``gcj02`` (Amap/Tencent tiles: our layers are shifted)
``LANGUAGE``        ``zh`` (default) or ``en``; ``?lang=`` switches per session
``ZOOM_VILLAGE_COUNTS``, ``ZOOM_GRID_COUNTS``, ``ZOOM_POINTS``, ``ZOOM_ALL_ROADS``  see :class:`web.data.Zoom`
``API_MAX_FEATURES`` most features one layer request returns
``DATABASE_URL``    the app database (default: zoufang.sqlite beside the campaign); see :mod:`web.db`
``RULES_PATH``      campaign rules TOML for planning runs (or ``RULES``: ready Rules)
``PLAN_FOLDER``, ``UPLOAD_FOLDER``  where runs write plans and uploads land (default:
                    ``zoufang-plans/``, ``zoufang-uploads/`` beside the campaign file)
``UPLOAD_KEEP_HOURS``  how long a validated campaign upload that was not made the site's campaign
                    is kept (default 24); refused uploads and uploaded plans are removed at once
``TODAY``           pin "today" (ISO date) for demos and tests
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, redirect, render_template, request

DEFAULTS = {
    "SECRET_KEY": "dev",
    "CAMPAIGN_PATH": None,
    "PLAN_PATH": None,
    "TILE_URL": None,
    "TILE_ATTRIBUTION": None,
    "TILE_CRS": "wgs84",
    "LANGUAGE": "zh",
    "ZOOM_VILLAGE_COUNTS": 11,
    "ZOOM_GRID_COUNTS": 13,
    "ZOOM_POINTS": 16,
    "ZOOM_ALL_ROADS": 14,
    "API_MAX_FEATURES": 20000,
    "MAX_CONTENT_LENGTH": 1024 * 1024 * 1024,  # campaign uploads up to 1 GiB
}


def create_app(test_config: dict | None = None, *, overrides: dict | None = None) -> Flask:
    """Create and configure the site (flaskr's factory shape).

    Without ``test_config`` the instance folder's ``config.py`` is read if
    present, then ``ZOUFANG_*`` environment variables (e.g.
    ``ZOUFANG_SECRET_KEY``, ``ZOUFANG_CAMPAIGN_PATH``), then ``overrides``
    (what ``zoufang serve`` was told on its command line).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("ZOUFANG")
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(overrides or {})
    app.json.sort_keys = False  # GeoJSON keeps its natural key order, and it is faster

    from web import auth, data, db, i18n

    i18n.init_app(app)
    data.init_app(app)
    db.init_app(app)
    auth.init_app(app)

    from web import admin, api, cadre, leader, planner

    app.register_blueprint(planner.bp)
    app.register_blueprint(cadre.bp)
    app.register_blueprint(leader.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)

    from web import problems, visits_api, visits_pages  # issue 6: visits, problems, warnings, reports

    visits_api.init_app(app)
    problems.init_app(app)
    visits_pages.init_app(app)

    from web import shared  # issue 7: the campaign in the shared database, roll-ups from area_counters

    shared.init_app(app)

    @app.route("/")
    def index():
        """Each role to its home page, an anonymous visitor to /login."""
        return redirect(auth.home_url())

    @app.errorhandler(data.NoCampaignError)
    def no_campaign(exc):
        return render_template("no_campaign.html"), 503

    @app.errorhandler(404)
    def not_found(exc):
        if request.path.startswith("/api/"):
            return api.not_found(exc)
        return exc

    app.after_request(_security_headers)
    return app


def _security_headers(response):
    """Forbid the browser any host but ours (and the tile server, if any)."""
    from flask import current_app

    img = ["'self'", "data:"]
    tile_url = current_app.config.get("TILE_URL")
    if tile_url:
        parts = urlsplit(tile_url)
        host = parts.netloc
        if "{" in host:  # subdomain template, e.g. {s}.tile.example.org
            host = "*." + host.split(".", 1)[-1]
        img.append(f"{parts.scheme}://{host}" if parts.scheme else host)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        "script-src 'self' 'unsafe-inline'; "  # folium writes inline scripts
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {' '.join(img)}; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
