/* The leader's coverage map: grids and villages coloured by coverage (a
   choropleth), must-visit villages outlined (dashed until visited), and,
   zoomed in, households as covered / not covered points. Data from
   /api/coverage/map.geojson; no personal data reaches the browser. */
var zoufangLeaderMap = (function () {
  "use strict";
  var api = {loads: 0};

  function ramp(c) {  // 0 → red, 0.5 → amber, 1 → green
    c = Math.max(0, Math.min(1, c || 0));
    var r = c < 0.5 ? 215 : Math.round(215 - (c - 0.5) * 2 * 171);
    var g = c < 0.5 ? Math.round(48 + c * 2 * 140) : Math.round(188 - (c - 0.5) * 2 * 28);
    return "rgb(" + r + "," + g + ",40)";
  }

  function pct(c) { return Math.round((c || 0) * 100) + "%"; }

  function popup(p, label) {
    return "<div class='zf-popup'><h4>" + label + "</h4><dl>" +
      "<dt>" + api.labels.coverage + "</dt><dd>" + pct(p.coverage) + "</dd>" +
      "<dt>" + api.labels.households + "</dt><dd>" + p.households_covered + " / " + p.households + "</dd>" +
      "<dt>" + api.labels.not_home + "</dt><dd>" + p.not_home_backlog + "</dd></dl></div>";
  }

  function get(layer, extra) {
    var url = api.config.url + "?layer=" + layer + (extra || "");
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); });
  }

  api.init = function (map, config) {
    api.map = map;
    api.config = config;
    api.labels = config.labels;
    var grids = L.featureGroup().addTo(map);
    var villages = L.featureGroup().addTo(map);
    var households = L.featureGroup().addTo(map);
    var heat = L.featureGroup();
    var overlays = {};
    overlays[config.labels.heat] = heat;
    overlays[config.labels.grids] = grids;
    overlays[config.labels.villages] = villages;
    overlays[config.labels.points] = households;
    L.control.layers(null, overlays, {collapsed: window.innerWidth < 600}).addTo(map);
    var pending = 3;
    function done() {
      pending -= 1;
      if (pending === 0) { map.getContainer().dataset.zfLoaded = "1"; api.loads += 1; }
    }
    get("grids").then(function (fc) {
      L.geoJSON(fc, {
        style: function (f) {
          return {className: "zf-cov-grid", color: "#555", weight: 1, fillColor: ramp(f.properties.coverage), fillOpacity: 0.55};
        },
        onEachFeature: function (f, l) { l.bindPopup(popup(f.properties, config.labels.grid + " " + f.properties.grid_id)); }
      }).addTo(grids);
      done();
    });
    get("villages").then(function (fc) {
      L.geoJSON(fc, {
        style: function (f) {
          var p = f.properties;
          var must = p.village_visits_due > 0;
          var cls = "zf-cov-village" + (must ? " zf-must-village" + (p.village_visits_done >= p.village_visits_due ? " zf-done" : " zf-todo") : "");
          return {className: cls, color: must ? "#6a3d9a" : "#333", weight: must ? 4 : 2,
                  dashArray: must && p.village_visits_done < p.village_visits_due ? "8 6" : null, fill: false};
        },
        onEachFeature: function (f, l) { l.bindPopup(popup(f.properties, f.properties.name)); }
      }).addTo(villages);
      done();
    });
    get("heat").then(function (fc) {
      var max = 1;
      var pts = fc.features.map(function (f) {
        max = Math.max(max, f.properties.missing);
        return [f.geometry.coordinates[1], f.geometry.coordinates[0], f.properties.missing];
      });
      if (pts.length && L.heatLayer) {
        L.heatLayer(pts, {radius: 40, blur: 30, max: max, minOpacity: 0.3}).addTo(heat);
      }
      api.heatPoints = pts.length;
      done();
    });
    function points() {
      households.clearLayers();
      if (map.getZoom() < config.points_zoom) { return; }
      get("households", "&bbox=" + map.getBounds().toBBoxString()).then(function (fc) {
        L.geoJSON(fc, {
          pointToLayer: function (f, ll) {
            var ok = f.properties.covered;
            return L.circleMarker(ll, {radius: 5, weight: 1, color: "#fff", fillOpacity: 0.9,
                                       className: ok ? "zf-hh-covered" : "zf-hh-missing",
                                       fillColor: ok ? config.colours.covered : config.colours.missing});
          }
        }).addTo(households);
      });
    }
    map.on("moveend", points);
    points();
  };
  return api;
})();
