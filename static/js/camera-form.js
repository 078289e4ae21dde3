/* Camera form: the location widget also shows the ward boundary and a live preview of the
 * field of view (heading, angle, range), so an admin sees what the camera will cover. */
(function () {
  "use strict";
  var configEl = document.getElementById("camera-form-config");
  if (!configEl) { return; }
  var config = JSON.parse(configEl.textContent);
  var STATUS_COLOURS = {
    online: "#1b9e4b", offline: "#d7301f", maintenance: "#f0a202", to_restore: "#7b3294", planned: "#6b7b8c"
  };

  function number(id, fallback) {
    var el = document.getElementById(id);
    var value = el ? parseFloat(String(el.value).replace(",", ".")) : NaN;
    return isFinite(value) ? value : fallback;
  }

  // Sector from the camera position, clockwise from north, in metres (good enough at ward scale).
  function sector(latlng, heading, angle, range) {
    var mLat = 111320;
    var mLng = 111320 * Math.cos(latlng.lat * Math.PI / 180);
    function at(bearing) {
      var rad = bearing * Math.PI / 180;
      return [latlng.lat + (range * Math.cos(rad)) / mLat, latlng.lng + (range * Math.sin(rad)) / mLng];
    }
    var points = [];
    if (angle >= 360) {
      for (var b = 0; b < 360; b += 10) { points.push(at(b)); }
      return points;
    }
    points.push([latlng.lat, latlng.lng]);
    var steps = Math.max(2, Math.ceil(angle / 5));
    for (var i = 0; i <= steps; i++) { points.push(at(heading - angle / 2 + (angle * i) / steps)); }
    return points;
  }

  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    if (event.detail.id !== config.map) { return; }
    var preview = L.polygon([], { interactive: false, weight: 1.5, fillOpacity: 0.25 }).addTo(map);
    var field = null;

    function position() {
      if (!field) { return null; }
      var found = null;
      field.drawnItems.eachLayer(function (layer) { if (!found && layer.getLatLng) { found = layer.getLatLng(); } });
      return found;
    }

    function update() {
      var latlng = position();
      var statusEl = document.getElementById("id_status");
      var colour = STATUS_COLOURS[statusEl ? statusEl.value : ""] || "#0b3d91";
      preview.setStyle({ color: colour, fillColor: colour });
      if (!latlng) { preview.setLatLngs([]); return; }
      var angle = Math.min(360, Math.max(1, number("id_fov_angle", 90)));
      var range = Math.min(2000, Math.max(1, number("id_range_m", 50)));
      preview.setLatLngs(sector(latlng, number("id_heading", 0), angle, range));
    }

    map.on("map:loadfield", function (e) {
      field = e.field;
      var start = position();
      // The widget stops at zoom 15, where a sector of a few dozen metres is hard to see.
      if (start) { map.setView(start, Math.max(map.getZoom(), 18)); }
      update();
      fetch(config.ward, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var ward = L.geoJSON(data, { interactive: false, style: { color: "#0b3d91", weight: 2, fill: false, dashArray: "6 4" } }).addTo(map);
          ward.bringToBack();
          // A new camera has no position yet: show its ward rather than the default view.
          if (!position() && ward.getBounds().isValid()) { map.fitBounds(ward.getBounds(), { padding: [10, 10] }); }
        })
        .catch(function (error) { console.warn("ward boundary not shown:", error); });
    });
    map.on("draw:created draw:edited draw:deleted draw:editmove", function () { setTimeout(update, 0); });
    ["id_heading", "id_fov_angle", "id_range_m", "id_status"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("input", update); el.addEventListener("change", update); }
    });
  });
})();
