"""Folium maps that work offline, and the campaign map.

Folium points every map at CDNs (Leaflet, jQuery, Bootstrap, Font Awesome,
Leaflet.awesome-markers). :func:`offline` rewrites those links, on the map and
on every element in it, to the copies vendored in ``web/static/vendor/`` (see
the README there for versions, sources and licences); a CDN resource we have
not vendored raises :class:`MissingVendorAsset` instead of silently reaching
for the internet.

The campaign map itself carries no data: it is the frame (extent, layer
control, empty feature groups, optional tiles) that ``static/js/campaign_map.js``
fills from the JSON API (``/api/layers/<name>.geojson``).
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from flask import url_for

from web.data import CampaignData
from web.i18n import gettext as _

#: folium/branca resource name → path under ``static/``, or None to drop it.
VENDORED: dict[str, str | None] = {
    # JS
    "leaflet": "vendor/leaflet-1.9.4/leaflet.js",
    "jquery": "vendor/jquery-3.7.1/jquery.min.js",
    "bootstrap": "vendor/bootstrap-5.2.2/js/bootstrap.bundle.min.js",
    "awesome_markers": "vendor/leaflet.awesome-markers-2.0.5/leaflet.awesome-markers.js",
    # CSS
    "leaflet_css": "vendor/leaflet-1.9.4/leaflet.css",
    "bootstrap_css": "vendor/bootstrap-5.2.2/css/bootstrap.min.css",
    "awesome_markers_font_css": "vendor/fontawesome-free-6.2.0/css/all.min.css",
    "awesome_markers_css": "vendor/leaflet.awesome-markers-2.0.5/leaflet.awesome-markers.css",
    # Bootstrap 3 glyphicons and folium's icon-rotation CSS are only needed by
    # folium.Icon(prefix="glyphicon") and Icon(angle=...); we use neither, and
    # neither is published on npm, so they are dropped rather than vendored.
    "glyphicons_css": None,
    "awesome_rotate_css": None,
}

#: Colours of teams, in team order (cycled past 20). Tableau-20 reordered so
#: neighbours in the list differ strongly.
TEAM_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79",
)
UNASSIGNED_COLOUR = "#bdbdbd"
#: Outline colours of must-visit villages.
WEAK_COLOUR = "#d62728"  # 经济薄弱村
RESETTLEMENT_COLOUR = "#6a3d9a"  # 征收安置社区


class MissingVendorAsset(LookupError):
    """A map element wants a CDN resource that is not in :data:`VENDORED`."""


def is_external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def offline(m: folium.Map, *, static_url=None) -> folium.Map:
    """Point ``m`` and all its elements at our vendored assets (in place).

    ``static_url(path)`` makes the URL of a file under ``static/``; the
    default is Flask's ``url_for("static", filename=path)`` (needs an app or
    request context). Call after the last element is added.
    """
    if static_url is None:
        def static_url(path):
            return url_for("static", filename=path)

    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            # Assign a new list: folium's lists are class attributes shared by
            # every instance, and must not be modified in place.
            setattr(element, attr, [
                (name, _local(name, url, static_url, element))
                for name, url in links
                if not (is_external(url) and VENDORED.get(name, "") is None)
            ])
    return m


#: what a map drawn by our own JS needs of folium's assets (no markers, no popups' Bootstrap)
LEAFLET_ONLY = ("leaflet", "leaflet_css")


def leaflet_only(m: folium.Map) -> folium.Map:
    """Drop folium's jQuery, Bootstrap, Font Awesome and awesome-markers from
    ``m`` (in place): a map whose layers our JS draws needs only Leaflet, and the
    rest (≈ 500 kB to parse on every page view) only slows its first paint.
    Raises ValueError if an element of the map needs more than Leaflet."""
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None) or []
            extra = [name for name, _url in links if name not in LEAFLET_ONLY]
            if element is not m and extra:
                raise ValueError(f"{type(element).__name__} needs {', '.join(extra)}: keep folium's assets for this map")
            if element is m:
                setattr(element, attr, [(name, url) for name, url in links if name in LEAFLET_ONLY])
    return m


def _local(name, url, static_url, element):
    if not is_external(url):
        return url
    path = VENDORED.get(name)
    if path is None:
        raise MissingVendorAsset(
            f"{type(element).__name__} needs {name!r} from {url}; vendor it into "
            "web/static/vendor/ and add it to web.maps.VENDORED (see vendor/README.md)"
        )
    return static_url(path)


def _walk(element):
    yield element
    for child in element._children.values():
        yield from _walk(child)


def team_colours(teams: dict[str, str]) -> dict[str, str]:
    """team_id → colour, stable in the campaign's team order."""
    return {tid: TEAM_COLOURS[i % len(TEAM_COLOURS)] for i, tid in enumerate(teams)}


@dataclass
class CampaignMap:
    """A rendered-ready campaign map: the folium map and its empty layers."""

    map: folium.Map
    #: layer name → folium FeatureGroup filled by campaign_map.js
    groups: dict[str, folium.FeatureGroup]
    layer_control: folium.LayerControl

    def render_parts(self) -> dict[str, str]:
        """Header, body html and script, rendered separately (folium's Flask
        guide) for our own template, plus the JS names of the map and layers."""
        root = self.map.get_root()
        root.render()
        return {
            "header": root.header.render(),
            "html": root.html.render(),
            "script": root.script.render(),
            "map_name": self.map.get_name(),
            "group_names": {k: g.get_name() for k, g in self.groups.items()},
            "layer_control_name": self.layer_control.get_name(),
        }


#: layer → (English label, shown at start)
LAYER_LABELS = {
    "towns": ("Towns", True),
    "villages": ("Villages", True),
    "grids": ("Grids", True),
    "roads": ("Roads", True),
    "households": ("Households", True),
    "enterprises": ("Enterprises", False),
}


def campaign_map(
    data: CampaignData,
    *,
    tile_url: str | None = None,
    tile_attribution: str | None = None,
    static_url=None,
) -> CampaignMap:
    """The campaign map frame: fitted to the villages, one empty feature group
    per layer in the layer control, no tiles unless ``tile_url`` is given (the
    campaign's own villages, grids and roads are the base map offline)."""
    west, south, east, north = data.bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        zoom_start=13,
        control_scale=False,  # campaign_map.js adds a metric-only scale
        prefer_canvas=False,
    )
    if tile_url:
        # TODO(web): with GCJ-02 tiles (Amap, Tencent) set TILE_CRS="gcj02":
        # web.data then shifts our layers with geodata.crs.wgs84_to_gcj02.
        folium.TileLayer(
            tiles=tile_url,
            attr=tile_attribution or _("Base map"),
            name=_("Base map"),
            overlay=False,
            control=True,
            max_zoom=19,
        ).add_to(m)
    groups = {}
    for name in data.layers:
        label, show = LAYER_LABELS[name]
        groups[name] = folium.FeatureGroup(name=_(label), overlay=True, show=show).add_to(m)
    control = folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    offline(m, static_url=static_url)
    return CampaignMap(map=m, groups=groups, layer_control=control)
