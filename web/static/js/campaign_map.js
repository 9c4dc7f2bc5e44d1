/*
 * campaign_map.js: fills the folium campaign map's empty layers from the API.
 *
 * web/planner.py renders a folium map whose feature groups are empty, then calls
 *   zoufangMap.init(map, config, {villages: featureGroup, ...}, {layers: layerControl})
 * Towns, villages and grids are fetched once; roads, households and enterprises
 * are fetched for the visible area (bbox + zoom) after every move, and the server
 * decides whether points come as points or as counts per grid / village.
 * Nothing here knows personal data: the API never sends it.
 *
 * When a load round finishes the map container gets data-zf-loaded="1" (tests
 * and benchmarks wait on it) and zoufangMap.loads counts finished rounds.
 */
(function () {
  "use strict";

  // Drawing order: z-index of one Leaflet pane per layer (overlayPane is 400,
  // markerPane 600). Villages sit above grids so must-visit outlines show.
  var PANES = {
    towns: 402, grids: 404, villages: 406, roads: 408, households: 620, enterprises: 630
  };
  var MAJOR_ROADS = {
    motorway: 1, trunk: 1, primary: 1, secondary: 1, tertiary: 1,
    motorway_link: 1, trunk_link: 1, primary_link: 1, secondary_link: 1, tertiary_link: 1
  };

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // On a phone the legend and the layer list start folded away.
  var NARROW = 600;
  // Count bubbles closer than this (screen pixels) are merged; a merged
  // bubble's popup lists at most MERGE_LIST of its units.
  var MERGE_PX = 36;
  var MERGE_LIST = 12;

  function init(map, cfg, groups, controls) {
    var labels = cfg.labels || {};
    var villageNames = {};
    var pending = 0;
    var seq = {};
    var lastUrl = {};
    var moveTimer = null;
    var focusFitted = false;  // the focused team's territory is fitted once, not on every reload
    var container = map.getContainer();
    var status = document.getElementById("zf-status");

    function t(key) { return labels[key] || key; }

    L.control.scale({ imperial: false }).addTo(map);
    if (window.innerWidth < NARROW) {
      var legend = document.querySelector(".zf-legend");
      if (legend) { legend.open = false; }
      var layers = controls && controls.layers;
      if (layers) {
        layers.collapse();
        map.on("click", layers.collapse, layers);
      }
    }

    Object.keys(PANES).forEach(function (name) {
      map.createPane("zf-" + name).style.zIndex = PANES[name];
    });

    function team(id) { return (id && cfg.teams[id]) || null; }
    function teamColour(id) { var tm = team(id); return tm ? tm.colour : cfg.colours.unassigned; }
    function teamName(id) { var tm = team(id); return tm ? tm.name : id; }
    function yesNo(v) { return v ? t("yes") : t("no"); }

    // bubbles: 1.2万 / 12.3K from 10,000 up, else 9,876 (static/js/format.js)
    function formatCount(n) { return zoufangFormat.count(n, 10000, 1); }

    // rows: [label, value, optional css class]; empty values are left out
    function popup(title, rows) {
      var html = '<div class="zf-popup"><h4>' + esc(title) + "</h4><dl>";
      rows.forEach(function (row) {
        if (row[1] === null || row[1] === undefined || row[1] === "") { return; }
        html += "<dt>" + esc(row[0]) + "</dt><dd" + (row[2] ? ' class="' + row[2] + '"' : "") +
          ">" + esc(row[1]) + "</dd>";
      });
      return html + "</dl></div>";
    }

    function village(id) {
      return villageNames[id] ? villageNames[id] + " (" + id + ")" : id;
    }

    function unitLabel(p) {
      if (p.grid_id) { return t("Grid") + " " + p.grid_id; }
      if (p.village_id) { return t("Village") + " " + village(p.village_id); }
      return t("Town") + " " + (p.name || p.town_id);
    }

    // Counts whose bubbles would overlap on screen are shown as one bubble
    // (their sum), so a zoomed-out view stays readable. Bucketing by screen
    // cell keeps it linear in the number of units.
    function mergeOverlapping(features) {
      var cell = MERGE_PX;
      var buckets = {};
      var merged = [];
      features.forEach(function (f) {
        var c = f.geometry.coordinates;
        var pt = map.latLngToLayerPoint([c[1], c[0]]);
        var key = Math.floor(pt.x / cell) + ":" + Math.floor(pt.y / cell);
        var bucket = buckets[key];
        if (!bucket) {
          bucket = buckets[key] = { latlng: L.latLng(c[1], c[0]), count: 0, members: [] };
          merged.push(bucket);
        }
        bucket.count += f.properties.count;
        bucket.members.push(f.properties);
      });
      return merged;
    }

    function countLayer(name, data) {
      var cls = name === "enterprises" ? "zf-count zf-enterprise" : "zf-count";
      var what = name === "enterprises" ? t("Enterprises here") : t("Households here");
      var group = L.featureGroup();
      mergeOverlapping(data.features).forEach(function (bubble) {
        var marker = L.marker(bubble.latlng, {
          pane: "zf-" + name,
          icon: L.divIcon({
            className: "zf-count-icon zf-count-" + name,
            html: '<span class="' + cls + '">' + esc(formatCount(bubble.count)) + "</span>",
            iconSize: [0, 0]
          })
        });
        var p = bubble.members[0];
        var title, rows;
        if (bubble.members.length > 1) {
          title = what + " " + zoufangFormat.number(bubble.count);
          rows = bubble.members.slice(0, MERGE_LIST).map(function (m) { return [unitLabel(m), zoufangFormat.number(m.count)]; });
          if (bubble.members.length > MERGE_LIST) { rows.push(["…", zoufangFormat.number(bubble.members.length - MERGE_LIST)]); }
        } else if (p.grid_id) {
          title = unitLabel(p);
          rows = [[t("Village"), village(p.village_id)], [t("Team"), teamName(p.team_id)], [what, zoufangFormat.number(p.count)]];
        } else {
          title = unitLabel(p);
          rows = [[what, zoufangFormat.number(p.count)]];
        }
        marker.bindPopup(popup(title, rows));
        group.addLayer(marker);
      });
      return group;
    }

    var builders = {
      towns: function (data) {
        return L.geoJSON(data, {
          pane: "zf-towns",
          style: { color: "#555", weight: 2, dashArray: "6 4", fill: false, className: "zf-town" },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindPopup(popup(t("Town") + " " + (p.name || p.town_id), [[t("ID"), p.town_id], [t("Name"), p.name]]));
          }
        });
      },
      villages: function (data) {
        data.features.forEach(function (f) { villageNames[f.properties.village_id] = f.properties.name; });
        return L.geoJSON(data, {
          pane: "zf-villages",
          style: function (f) {
            var p = f.properties;
            var must = p.weak || p.resettlement;
            return {
              color: p.weak ? cfg.colours.weak : (p.resettlement ? cfg.colours.resettlement : "#333"),
              weight: must ? 4 : 1.5,
              dashArray: p.weak && p.resettlement ? "10 6" : null,
              fill: false,
              className: "zf-village" + (p.weak ? " zf-weak" : "") + (p.resettlement ? " zf-resettlement" : "")
            };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            var must = [];
            if (p.weak) { must.push(t("weak village")); }
            if (p.resettlement) { must.push(t("resettlement community")); }
            layer.bindPopup(popup(t("Village") + " " + (p.name || p.village_id), [
              [t("ID"), p.village_id], [t("Name"), p.name], [t("Kind"), t(p.kind)],
              [t("Town"), p.town_id], [t("Must visit"), must.join("、"), "zf-must"]
            ]));
          }
        });
      },
      grids: function (data) {
        var focus = cfg.focusTeam || null;  // ?team=ID: that team's territory outlined, the others dimmed
        var layerOut = L.geoJSON(data, {
          pane: "zf-grids",
          style: function (f) {
            var mine = focus && f.properties.team_id === focus;
            return {
              color: mine ? "#111" : "#fff", weight: mine ? 2.5 : 1, fillColor: teamColour(f.properties.team_id),
              fillOpacity: focus ? (mine ? 0.7 : 0.12) : 0.45,
              className: "zf-grid" + (focus ? (mine ? " zf-grid-focus" : " zf-grid-dim") : "")
            };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            var rows = [
              [t("ID"), p.grid_id], [t("Village"), village(p.village_id)],
              [t("Team"), p.team_id ? teamName(p.team_id) : t("Unassigned")]
            ];
            var facts = p.team_id && cfg.teamFacts ? cfg.teamFacts[p.team_id] : null;
            if (facts) {  // the team's load against its share and its pieces (see the plan page)
              rows.push([t("Load / share"), facts.ratio === null ? "" : facts.ratio.toFixed(3), facts.outside ? "zf-bad" : ""]);
              rows.push([t("Pieces"), String(facts.pieces), facts.pieces > 1 ? "zf-bad" : ""]);
              facts.why.forEach(function (w) { rows.push([t("Why"), w]); });
            }
            var html = popup(t("Grid") + " " + p.grid_id, rows);
            if (cfg.moveUrl && p.team_id) {  // hand edit: re-checked against the hard rules first
              html += '<p><a class="zf-move-link" href="' + cfg.moveUrl + "?grid=" +
                encodeURIComponent(p.grid_id) + '#move">' + esc(t("Move to another team")) + "</a></p>";
            }
            layer.bindPopup(html);
          }
        });
        if (focus) {
          var mineBounds = L.latLngBounds([]);
          layerOut.eachLayer(function (l) { if (l.feature.properties.team_id === focus) { mineBounds.extend(l.getBounds()); } });
          if (mineBounds.isValid() && !focusFitted) { focusFitted = true; map.fitBounds(mineBounds.pad(0.2)); }
        }
        return layerOut;
      },
      roads: function (data) {
        return L.geoJSON(data, {
          pane: "zf-roads",
          style: function (f) {
            var major = MAJOR_ROADS[f.properties.highway];
            return { color: major ? "#e67e22" : "#777", weight: major ? 3 : 1.5, className: "zf-road" };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindPopup(popup(t("Road") + (p.name ? " " + p.name : ""), [[t("Class"), p.highway]]));
          }
        });
      },
      households: function (data) {
        if (data.aggregation) { return countLayer("households", data); }
        return L.geoJSON(data, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {
              pane: "zf-households", radius: 5, weight: 1.5, color: "#222",
              fillColor: teamColour(f.properties.team_id), fillOpacity: 0.9, className: "zf-household"
            });
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindPopup(popup(t("Household") + " " + p.household_id, [
              [t("ID"), p.household_id], [t("Status"), p.status ? t(p.status) : null],
              [t("Grid"), p.grid_id], [t("Village"), village(p.village_id)], [t("Team"), teamName(p.team_id)]
            ]));
          }
        });
      },
      enterprises: function (data) {
        if (data.aggregation) { return countLayer("enterprises", data); }
        return L.geoJSON(data, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, {
              pane: "zf-enterprises", radius: 5, weight: 2, color: "#0d47a1",
              fillColor: teamColour(f.properties.team_id), fillOpacity: 0.9, className: "zf-enterprise"
            });
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindPopup(popup(t("Enterprise") + " " + (p.name || p.enterprise_id), [
              [t("ID"), p.enterprise_id], [t("Name"), p.name], [t("Listed"), yesNo(p.listed)],
              [t("Grid"), p.grid_id], [t("Village"), village(p.village_id)], [t("Team"), teamName(p.team_id)]
            ]));
          }
        });
      }
    };

    function showStatus(text) {
      if (!status) { return; }
      status.textContent = text;
      status.hidden = !text;
    }

    function begin() {
      pending += 1;
      container.setAttribute("data-zf-loaded", "0");
    }

    function end() {
      pending -= 1;
      if (pending === 0) {
        container.setAttribute("data-zf-loaded", "1");
        api.loads += 1;
      }
    }

    function load(name) {
      var spec = cfg.layers[name];
      var group = groups[name];
      if (!spec || !group || !builders[name]) { return Promise.resolve(); }
      var url = spec.url;
      if (spec.dynamic) {
        url += "?bbox=" + map.getBounds().pad(0.25).toBBoxString() + "&zoom=" + map.getZoom();
      }
      if (spec.dynamic && lastUrl[name] === url) { return Promise.resolve(); } // view unchanged
      lastUrl[name] = url;
      var mine = (seq[name] || 0) + 1;
      seq[name] = mine;
      begin();
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(url + ": HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (mine !== seq[name]) { return; } // a newer request for this layer won
          group.clearLayers();
          group.addLayer(builders[name](data));
        })
        .catch(function (err) {
          delete lastUrl[name];
          showStatus(t("Could not load a layer") + ": " + name);
          if (window.console) { window.console.error(err); }
        })
        .then(end, end);
    }

    function loadDynamic() {
      Object.keys(cfg.layers).forEach(function (name) {
        if (cfg.layers[name].dynamic && map.hasLayer(groups[name])) { load(name); }
      });
    }

    map.on("moveend", function () {
      if (moveTimer) { clearTimeout(moveTimer); }
      moveTimer = setTimeout(loadDynamic, 150);
    });
    map.on("overlayadd", function (e) {
      Object.keys(groups).forEach(function (name) {
        if (groups[name] === e.layer && cfg.layers[name] && cfg.layers[name].dynamic) { load(name); }
      });
    });

    // Villages first: the other layers' popups name them.
    begin();
    load("villages").then(function () {
      Object.keys(cfg.layers).forEach(function (name) {
        if (name !== "villages" && (!cfg.layers[name].dynamic || map.hasLayer(groups[name]))) { load(name); }
      });
      end();
    });
  }

  var api = { init: init, loads: 0 };
  window.zoufangMap = api;
})();
