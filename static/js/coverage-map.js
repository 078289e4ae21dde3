/* Coverage map: every layer comes from the REST API by URL (GeoJSON), nothing is inlined.
 * Cameras are drawn on a canvas and grouped with markercluster so thousands stay smooth. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
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

  window.initCoverageMap = function (map) {
    var statusEl = document.getElementById("map-status");
    var renderer = L.canvas({ padding: 0.5 });
    var wardLayer = L.geoJSON(null, { style: { color: "#0b3d91", weight: 3, fill: false } }).addTo(map);
    var oldWardLayer = L.geoJSON(null, {
      style: { color: "#0b3d91", weight: 1, dashArray: "4 4", fillOpacity: 0.03 },
      onEachFeature: function (feature, layer) { layer.bindTooltip(escapeHtml(feature.properties.name), { sticky: true }); }
    }).addTo(map);
    var sectorLayer = L.geoJSON(null, {
      renderer: renderer, interactive: false,
      style: function (f) {
        return { color: STATUS_COLOURS[f.properties.status] || "#555", weight: 0.5, fillOpacity: 0.18 };
      }
    }).addTo(map);
    var cluster = L.markerClusterGroup({ disableClusteringAtZoom: 17, chunkedLoading: true, showCoverageOnHover: false });
    var plain = L.layerGroup();
    var cameraFeatures = [];
    var sectorFeatures = [];

    function popup(p) {
      var link = config.cameraPage.replace("/0/", "/" + p.id + "/");
      return "<strong>" + escapeHtml(p.code) + "</strong><br>" + escapeHtml(p.name) +
        "<br>" + escapeHtml(p.address) +
        "<br>" + escapeHtml(config.labels.status) + ": " + escapeHtml(p.status_label) +
        "<br>" + escapeHtml(config.labels.programme) + ": " + escapeHtml(p.programme_label) +
        "<br>" + escapeHtml(config.labels.range) + ": " + escapeHtml(p.range_m) + " m" +
        '<br><a href="' + link + '">' + escapeHtml(config.labels.details) + "</a>";
    }

    function marker(feature) {
      var p = feature.properties;
      var c = feature.geometry.coordinates;
      var m = L.circleMarker([c[1], c[0]], {
        renderer: renderer, radius: p.kind === "ai" ? 7 : 5, weight: 2,
        color: PROGRAMME_RINGS[p.programme] || "#222", fillColor: STATUS_COLOURS[p.status] || "#555", fillOpacity: 0.95
      });
      m.bindPopup(popup(p));
      m.feature = feature;
      return m;
    }

    function redraw() {
      var statuses = checked("status");
      var programmes = checked("programme");
      var keep = function (f) {
        return statuses.indexOf(f.properties.status) >= 0 && programmes.indexOf(f.properties.programme) >= 0;
      };
      var shown = cameraFeatures.filter(keep);
      var useCluster = document.getElementById("layer-cluster").checked;
      cluster.clearLayers();
      plain.clearLayers();
      var markers = shown.map(marker);
      if (useCluster) { cluster.addLayers(markers); map.removeLayer(plain); map.addLayer(cluster); }
      else { markers.forEach(function (m) { plain.addLayer(m); }); map.removeLayer(cluster); map.addLayer(plain); }
      sectorLayer.clearLayers();
      if (document.getElementById("layer-sectors").checked) { sectorLayer.addData(sectorFeatures.filter(keep)); }
      if (document.getElementById("layer-oldwards").checked) { map.addLayer(oldWardLayer); } else { map.removeLayer(oldWardLayer); }
      statusEl.textContent = fmt(config.labels.loaded, { n: shown.length, total: cameraFeatures.length });
      map.getContainer().dataset.cameras = String(shown.length);
    }

    Array.prototype.forEach.call(document.querySelectorAll(".map-panel input"), function (el) {
      el.addEventListener("change", redraw);
    });

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
