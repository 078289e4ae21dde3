/* Coverage map: every layer comes from the REST API by URL (GeoJSON), nothing is inlined.
 * Cameras are drawn on a canvas and grouped with markercluster so thousands stay smooth.
 * Every text shown here comes from the page (translated there): config.labels and data-* attributes. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var STATUS_ORDER = ["online", "maintenance", "offline", "to_restore", "planned"];
  var STATUS_COLOURS = {
    online: "#1b9e4b", offline: "#d7301f", maintenance: "#f0a202", to_restore: "#7b3294", planned: "#6b7b8c"
  };
  var PROGRAMME_RINGS = { ai_centre: "#0b3d91", city: "#ffffff", old_ward: "#222222", other: "#9aa5b1" };

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function round(value) {
    var n = Number(value);
    return isFinite(n) ? String(Math.round(n)) : "–";
  }

  // Follow "next" links so a layer bigger than one page still arrives whole.
  function fetchAll(url, features) {
    features = features || [];
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.json();
      })
      .then(function (data) {
        if (data.type === "Feature") { return [data]; }
        features = features.concat(data.features || []);
        return data.next ? fetchAll(data.next, features) : features;
      });
  }

  function checked(name) {
    return Array.prototype.map.call(document.querySelectorAll("input[name=" + name + "]:checked"), function (el) { return el.value; });
  }

  // A cluster is a neutral disc whose rim shows the share of its cameras by status.
  function clusterIcon(cluster) {
    var counts = {};
    cluster.getAllChildMarkers().forEach(function (m) {
      var s = m.feature.properties.status;
      counts[s] = (counts[s] || 0) + 1;
    });
    var n = cluster.getChildCount();
    var stops = [];
    var at = 0;
    STATUS_ORDER.forEach(function (s) {
      if (!counts[s]) { return; }
      var end = at + (counts[s] / n) * 360;
      stops.push(STATUS_COLOURS[s] + " " + at.toFixed(1) + "deg " + end.toFixed(1) + "deg");
      at = end;
    });
    var size = n < 10 ? 32 : n < 100 ? 38 : n < 1000 ? 44 : 50;
    return L.divIcon({
      html: '<div style="background: conic-gradient(' + (stops.join(", ") || "#6b7b8c 0deg 360deg") + ')"><span>' + n + "</span></div>",
      className: "marker-cluster cam-cluster",
      iconSize: L.point(size, size)
    });
  }

  // The legend is written (and translated) in the page; it is moved into a map control.
  function addLegend(map) {
    var source = document.getElementById("map-legend");
    if (!source) { return; }
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        source.hidden = false;
        L.DomEvent.disableClickPropagation(source);
        L.DomEvent.disableScrollPropagation(source);
        return source;
      }
    });
    map.addControl(new Legend());
  }

  // No internet, no tiles: say so once, the rest of the map still works.
  function watchTiles(map) {
    var note = document.getElementById("map-tiles-note");
    if (!note) { return; }
    map.eachLayer(function (layer) {
      if (layer instanceof L.TileLayer) {
        layer.on("tileerror", function () { note.hidden = false; });
        layer.on("tileload", function () { note.hidden = true; });
      }
    });
  }

  window.initCoverageMap = function (map) {
    var statusEl = document.getElementById("map-status");
    var text = {};
    Array.prototype.forEach.call(document.querySelectorAll("#map-text [data-key]"), function (el) {
      text[el.dataset.key] = el.textContent;
    });
    var renderer = L.canvas({ padding: 0.5 });
    var wardLayer = L.geoJSON(null, { style: { color: "#0b3d91", weight: 3, fill: false }, interactive: false }).addTo(map);
    var oldWardLayer = L.geoJSON(null, {
      // Solid and thin: dashes of two neighbouring old wards would fill each other's gaps.
      style: { color: "#3b6fc4", weight: 1.5, opacity: 0.9, fillOpacity: 0.03 },
      onEachFeature: function (feature, layer) { layer.bindTooltip(escapeHtml(feature.properties.name), { sticky: true }); }
    }).addTo(map);
    // Sectors and markers are built once per camera; a filter change only adds and removes them.
    var sectorLayer = L.layerGroup().addTo(map);
    var cluster = L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
      // Close up, only cameras a few metres apart stay grouped (and spread out when clicked).
      maxClusterRadius: function (zoom) { return zoom >= 17 ? 14 : 60; },
      iconCreateFunction: clusterIcon
    });
    var plain = L.layerGroup();
    var cameraFeatures = [];
    var sectorFeatures = [];

    function row(label, value) {
      return "<tr><th>" + escapeHtml(label) + "</th><td>" + value + "</td></tr>";
    }

    function popup(feature) {
      var p = feature.properties;
      var id = feature.id != null ? feature.id : p.id;
      var link = config.cameraPage.replace("/0/", "/" + encodeURIComponent(id) + "/");
      var fov = fmt(text.fov, { heading: round(p.heading), angle: round(p.fov_angle), range: round(p.range_m) });
      return '<div class="cam-popup"><p class="cam-popup-title"><strong>' + escapeHtml(p.code) + "</strong> " + escapeHtml(p.name) + "</p>" +
        (p.address ? '<p class="muted">' + escapeHtml(p.address) + "</p>" : "") +
        "<table>" +
        row(config.labels.status, '<span class="dot status-' + escapeHtml(p.status) + '"></span>' + escapeHtml(p.status_label)) +
        row(config.labels.programme, escapeHtml(p.programme_label)) +
        row(text.kind, escapeHtml(p.kind_label)) +
        row(text.fovLabel, escapeHtml(fov)) +
        "</table>" +
        '<p><a class="button small" href="' + escapeHtml(link) + '">' + escapeHtml(config.labels.details) + " →</a></p></div>";
    }

    function marker(feature) {
      if (feature._marker) { return feature._marker; }
      var p = feature.properties;
      var c = feature.geometry.coordinates;
      var m = L.circleMarker([c[1], c[0]], {
        renderer: renderer, radius: p.kind === "ai" ? 7 : 5, weight: 2,
        color: PROGRAMME_RINGS[p.programme] || "#222", fillColor: STATUS_COLOURS[p.status] || "#555", fillOpacity: 0.95
      });
      m.bindPopup(function () { return popup(feature); }, { minWidth: 260, maxWidth: 360 });
      m.feature = feature;
      feature._marker = m;
      return m;
    }

    function sector(feature) {
      if (feature._sector) { return feature._sector; }
      var colour = STATUS_COLOURS[feature.properties.status] || "#555";
      feature._sector = L.GeoJSON.geometryToLayer(feature, {
        renderer: renderer, interactive: false, color: colour, weight: 0.6, fillOpacity: 0.2
      });
      return feature._sector;
    }

    function redraw() {
      var statuses = checked("status");
      var programmes = checked("programme");
      var keep = function (f) {
        return statuses.indexOf(f.properties.status) >= 0 && programmes.indexOf(f.properties.programme) >= 0;
      };
      var shown = cameraFeatures.filter(keep);
      var useCluster = document.getElementById("layer-cluster").checked;
      map.closePopup();
      cluster.clearLayers();
      plain.clearLayers();
      var markers = shown.map(marker);
      if (useCluster) { cluster.addLayers(markers); map.removeLayer(plain); map.addLayer(cluster); }
      else { markers.forEach(function (m) { plain.addLayer(m); }); map.removeLayer(cluster); map.addLayer(plain); }
      sectorLayer.clearLayers();
      if (document.getElementById("layer-sectors").checked) { sectorFeatures.filter(keep).forEach(function (f) { sectorLayer.addLayer(sector(f)); }); }
      if (document.getElementById("layer-oldwards").checked) { map.addLayer(oldWardLayer); } else { map.removeLayer(oldWardLayer); }
      statusEl.textContent = fmt(config.labels.loaded, { n: shown.length, total: cameraFeatures.length });
      map.getContainer().dataset.cameras = String(shown.length);
    }

    Array.prototype.forEach.call(document.querySelectorAll(".map-panel input"), function (el) {
      el.addEventListener("change", redraw);
    });
    addLegend(map);
    watchTiles(map);

    Promise.all([fetchAll(config.ward), fetchAll(config.oldWards), fetchAll(config.cameras), fetchAll(config.sectors)])
      .then(function (layers) {
        wardLayer.addData(layers[0]);
        oldWardLayer.addData(layers[1]);
        cameraFeatures = layers[2];
        sectorFeatures = layers[3];
        var bounds = wardLayer.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); }
        redraw();
        map.getContainer().dataset.ready = "1";
      })
      .catch(function (error) {
        statusEl.textContent = fmt(config.labels.failed, { error: error.message });
        statusEl.classList.add("error");
      });
  };
})();
