/* The leader's coverage map: grids and villages coloured by coverage (a
   choropleth), must-visit villages outlined (dashed until visited), a heat
   map of the households not yet covered and, zoomed in, households as
   covered / not covered points. No personal data reaches the browser.

   Fast at county scale (3,000 grids, 1,100 villages): the outlines
   (/api/coverage/shapes.geojson) and the figures (/api/coverage/figures.json,
   columns joined here by id) come separately, all five requests at once; their
   URLs carry the server's version (?v=) so a reload takes unchanged layers
   from the browser's cache. The map draws on a canvas (folium prefer_canvas):
   thousands of SVG paths were the slowest part of a load.

   When the grids, villages and heat are drawn, the map container gets
   data-zf-loaded="1" (tests and benchmarks wait on it); then the page's slow
   sections (.zf-part: weekly figures, roll-up) are fetched, and <body> gets
   data-zf-parts="1" when they are in. zoufangLeaderMap
   .timings holds milliseconds since navigation for each step, .drawn the
   number of features drawn per layer. */
var zoufangLeaderMap = (function () {
  "use strict";
  var api = {loads: 0, timings: {}, drawn: {}};

  function mark(name) { api.timings[name] = Math.round(performance.now()); }

  var PARTS_WAIT = 5000;
  var partsStarted = false;

  /* Fill each <div class="zf-part" data-part="URL"> with the HTML fragment at URL;
     <body data-zf-parts="1"> when all are in. */
  function loadParts() {
    if (partsStarted) { return; }
    partsStarted = true;
    var parts = Array.prototype.slice.call(document.querySelectorAll(".zf-part[data-part]"));
    Promise.all(parts.map(function (el) {
      return fetch(el.dataset.part, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      }).then(function (html) {
        el.innerHTML = html;
        el.setAttribute("aria-busy", "false");
        mark("part_" + el.dataset.part.split("/").pop());
      }).catch(function (err) {
        el.setAttribute("aria-busy", "false");
        el.innerHTML = "<p class='zf-note zf-bad'>" + esc(api.labels.part_failed || "") + "</p>";
        if (window.console) { console.error("leader page part " + el.dataset.part + ": " + err); }
      });
    })).then(function () { document.body.dataset.zfParts = "1"; mark("parts"); });
  }

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function ramp(c) {  // 0 → red, 0.5 → amber, 1 → green
    c = Math.max(0, Math.min(1, c || 0));
    var r = c < 0.5 ? 215 : Math.round(215 - (c - 0.5) * 2 * 171);
    var g = c < 0.5 ? Math.round(48 + c * 2 * 140) : Math.round(188 - (c - 0.5) * 2 * 28);
    return "rgb(" + r + "," + g + ",40)";
  }

  function popup(p, label) {
    var fmt = window.zoufangFormat;
    return "<div class='zf-popup'><h4>" + esc(label) + "</h4><dl>" +
      "<dt>" + esc(api.labels.coverage) + "</dt><dd>" + fmt.percent(p.coverage) + "</dd>" +
      "<dt>" + esc(api.labels.households) + "</dt><dd>" + fmt.number(p.households_covered) + " / " +
      fmt.number(p.households) + "</dd>" +
      "<dt>" + esc(api.labels.not_home) + "</dt><dd>" + fmt.number(p.not_home_backlog) + "</dd></dl></div>";
  }

  function getJSON(url, name) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error(name + ": HTTP " + r.status); }
      return r.json();
    }).then(function (body) { mark(name + "_fetched"); return body; });
  }

  // figures: {ids: [...], <figure>: [...]} → each shape's properties get its figures
  function join(shapes, figures) {
    var at = {};
    figures.ids.forEach(function (id, i) { at[id] = i; });
    var cols = Object.keys(figures).filter(function (k) { return Array.isArray(figures[k]) && k !== "ids"; });
    shapes.features.forEach(function (f) {
      var i = at[f.properties[figures.key]];
      cols.forEach(function (c) { f.properties[c] = i === undefined ? 0 : figures[c][i]; });
    });
    return shapes;
  }

  api.init = function (map, config) {
    mark("init");
    api.map = map;
    api.config = config;
    api.labels = config.labels;
    var urls = config.urls;
    var grids = L.featureGroup().addTo(map);
    var villages = L.featureGroup().addTo(map);
    var households = L.featureGroup().addTo(map);
    var heat = L.featureGroup();
    api.layers = {grids: grids, villages: villages, households: households, heat: heat};
    var overlays = {};
    overlays[config.labels.heat] = heat;
    overlays[config.labels.grids] = grids;
    overlays[config.labels.villages] = villages;
    overlays[config.labels.points] = households;
    L.control.layers(null, overlays, {collapsed: window.innerWidth < 600}).addTo(map);
    L.control.scale({imperial: false}).addTo(map);
    var pending = 3;
    function done(name) {
      mark(name + "_drawn");
      pending -= 1;
      if (pending === 0) {
        map.getContainer().dataset.zfLoaded = "1";
        api.loads += 1;
        mark("loaded");
        loadParts();
      }
    }
    function failed(err) {
      api.error = String(err);
      if (window.console) { console.error("coverage map: " + err); }
      loadParts();
    }
    // the page's slow sections (weekly figures, roll-up) come once the map is drawn
    // (or failed, or after PARTS_WAIT ms): on the server they would hold the map's layers back
    setTimeout(loadParts, PARTS_WAIT);

    Promise.all([getJSON(urls.grid_shapes, "grid_shapes"), getJSON(urls.grid_figures, "grid_figures")])
      .then(function (got) {
        var fc = join(got[0], got[1]);
        L.geoJSON(fc, {
          style: function (f) {
            return {className: "zf-cov-grid", color: "#555", weight: 1, fillColor: ramp(f.properties.coverage),
                    fillOpacity: 0.55};
          },
          onEachFeature: function (f, l) {
            l.bindPopup(function () { return popup(f.properties, config.labels.grid + " " + f.properties.grid_id); });
          }
        }).addTo(grids);
        api.drawn.grids = fc.features.length;
        done("grids");
      }).catch(failed);
    Promise.all([getJSON(urls.village_shapes, "village_shapes"), getJSON(urls.village_figures, "village_figures")])
      .then(function (got) {
        var fc = join(got[0], got[1]);
        var must = 0;
        L.geoJSON(fc, {
          style: function (f) {
            var p = f.properties;
            var isMust = p.village_visits_due > 0;
            var todo = isMust && p.village_visits_done < p.village_visits_due;
            var cls = "zf-cov-village" + (isMust ? " zf-must-village" + (todo ? " zf-todo" : " zf-done") : "");
            return {className: cls, color: isMust ? "#6a3d9a" : "#333", weight: isMust ? 4 : 2,
                    dashArray: todo ? "8 6" : null, fill: false};
          },
          onEachFeature: function (f, l) {
            if (f.properties.village_visits_due > 0) { must += 1; }
            l.bindPopup(function () { return popup(f.properties, f.properties.name); });
          }
        }).addTo(villages);
        api.drawn.villages = fc.features.length;
        api.drawn.mustVillages = must;
        done("villages");
      }).catch(failed);
    getJSON(urls.heat, "heat").then(function (fc) {
      var max = 1;
      var pts = fc.features.map(function (f) {
        max = Math.max(max, f.properties.missing);
        return [f.geometry.coordinates[1], f.geometry.coordinates[0], f.properties.missing];
      });
      if (pts.length && L.heatLayer) {
        L.heatLayer(pts, {radius: 40, blur: 30, max: max, minOpacity: 0.3}).addTo(heat);
      }
      api.heatPoints = pts.length;
      done("heat");
    }).catch(failed);

    function points() {
      households.clearLayers();
      if (map.getZoom() < config.points_zoom) { return; }
      getJSON(urls.households + "&bbox=" + map.getBounds().toBBoxString(), "households").then(function (fc) {
        L.geoJSON(fc, {
          pointToLayer: function (f, ll) {
            var ok = f.properties.covered;
            return L.circleMarker(ll, {radius: 5, weight: 1, color: "#fff", fillOpacity: 0.9,
                                       className: ok ? "zf-hh-covered" : "zf-hh-missing",
                                       fillColor: ok ? config.colours.covered : config.colours.missing});
          }
        }).addTo(households);
        api.drawn.households = fc.features.length;
      }).catch(failed);
    }
    map.on("moveend", points);
    points();
  };
  return api;
})();
