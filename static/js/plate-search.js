/* Plate search page: search by the REST API, results grouped by plate, one plate's route on the map
 * (times on the markers, dashed where the vehicle was out of sight long) with a timeline below, and
 * "add to case". Every text shown comes from the page (translated there): config.labels. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("plate-config").textContent);
  var L_ = config.labels;
  var map = null;
  var areaLayer = null;
  var routeLayer = null;
  var lastSearch = null;
  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    timeZone: config.timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit"
  });

  function $(id) { return document.getElementById(id); }

  function fmt(template, values) {
    // Python-format labels: %(name)s is a value, %% a literal percent sign.
    return template.replace(/%\((\w+)\)s|%%/g, function (match, key) { return key ? values[key] : "%"; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function when(iso) { return timeFormat.format(new Date(iso)); }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The form's local times are ward time: Asia/Ho_Chi_Minh is UTC+7 all year.
  function wardTime(value) { return value ? value + (value.length === 16 ? ":00" : "") + "+07:00" : ""; }

  function crop(url) {
    return url ? el("img", { src: url, alt: L_.noImage, loading: "lazy" }) : el("span", { class: "muted", text: L_.noImage });
  }

  function showErrors(data) {
    var box = $("ps-errors");
    box.textContent = "";
    if (!data || typeof data !== "object") { return; }
    var list = el("ul");
    Object.keys(data).forEach(function (field) {
      var messages = Array.isArray(data[field]) ? data[field] : [String(data[field])];
      messages.forEach(function (m) { list.appendChild(el("li", { text: field + ": " + m })); });
    });
    box.appendChild(list);
  }

  function getJSON(url, accept) {
    var headers = { Accept: accept || "application/json" };
    return fetch(url, { credentials: "same-origin", headers: headers }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    });
  }

  function searchParams() {
    var form = $("plate-form");
    var params = new URLSearchParams();
    params.set("plate", form.plate.value.trim());
    params.set("match", form.querySelector("input[name=match]:checked").value);
    params.set("since", wardTime(form.since.value));
    params.set("until", wardTime(form.until.value));
    params.set("reason", form.reason.value.trim());
    params.set("ward", String(config.ward));
    if (form.cameras.value.trim()) { params.set("cameras", form.cameras.value.trim()); }
    if (areaLayer) { params.set("area", JSON.stringify(areaLayer.toGeoJSON().geometry)); }
    return params;
  }

  function search(event) {
    event.preventDefault();
    var params = searchParams();
    lastSearch = params;
    params.set("group", "plate");
    params.set("page_size", "500");
    $("ps-status").textContent = L_.searching;
    $("ps-results").textContent = "";
    showErrors(null);
    getJSON(config.search + "?" + params.toString()).then(function (answer) {
      if (!answer.ok) {
        $("ps-status").textContent = fmt(L_.failed, { error: answer.status });
        showErrors(answer.data);
        return;
      }
      renderGroups(answer.data);
    }).catch(function (error) { $("ps-status").textContent = fmt(L_.failed, { error: error }); });
  }

  function renderGroups(data) {
    var groups = data.groups || [];
    var box = $("ps-results");
    box.textContent = "";
    if (!data.count) { $("ps-status").textContent = L_.none; return; }
    var status = fmt(L_.found, { n: data.count, plates: groups.length });
    if (data.count > data.results.length) { status += " " + fmt(L_.more, { shown: data.results.length, n: data.count }); }
    $("ps-status").textContent = status;
    var byText = {};
    data.results.forEach(function (read) { (byText[read.text] = byText[read.text] || []).push(read); });
    groups.forEach(function (group) {
      var button = el("button", { type: "button", class: "button small", text: L_.route });
      button.addEventListener("click", function () { showRoute(group.text); });
      var items = (byText[group.text] || []).map(function (read) {
        return el("li", {}, [crop(read.crop), el("span", { text: when(read.seen_at) }), el("span", { class: "muted", text: read.camera_code || "" })]);
      });
      box.appendChild(el("section", { class: "plate-group" }, [
        el("header", {}, [
          el("span", { class: "plate-text", text: group.text }),
          el("span", { class: "muted", text: fmt(L_.sightings, { n: group.reads }) + " · " + fmt(L_.cameras, { n: group.cameras }) }),
          button
        ]),
        el("ul", {}, items)
      ]));
    });
  }

  function showRoute(text) {
    var params = new URLSearchParams(lastSearch.toString());
    ["group", "page_size", "cameras", "area"].forEach(function (k) { params.delete(k); });
    params.set("plate", text);
    params.set("match", params.get("match") === "fuzzy" ? "fuzzy" : "exact");
    getJSON(config.route + "?" + params.toString()).then(function (answer) {
      if (!answer.ok) { showErrors(answer.data); return; }
      drawRoute(text, answer.data);
    });
  }

  function drawRoute(text, data) {
    if (routeLayer) { routeLayer.remove(); }
    routeLayer = L.featureGroup().addTo(map);
    var sightings = data.features.filter(function (f) { return f.properties.kind === "sighting"; });
    var timeline = $("ps-timeline");
    timeline.textContent = "";
    var previous = null;
    sightings.forEach(function (f, i) {
      var p = f.properties;
      var latlng = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
      var marker = L.circleMarker(latlng, { radius: 7, color: "#0b3d91", fillColor: i === 0 ? "#1b9e4b" : "#0b3d91", fillOpacity: 0.9 });
      marker.bindTooltip((i + 1) + ". " + when(p.seen_at), { permanent: true, direction: "right", className: "route-label" });
      marker.bindPopup(el("div", {}, [el("strong", { text: p.text }), el("div", { text: when(p.seen_at) }),
        el("div", { text: p.camera_code + " · " + (p.camera_name || "") }), crop(p.crop)]));
      marker.addTo(routeLayer);
      if (previous) {
        var long = p.gap_s !== null && p.gap_s > config.longGap;
        L.polyline([previous, latlng], { color: "#0b3d91", weight: 3, dashArray: long ? "6 8" : null, opacity: long ? 0.6 : 0.9 }).addTo(routeLayer);
        if (long) {
          timeline.appendChild(el("li", { class: "gap", text: fmt(L_.longGap, { min: Math.round(p.gap_s / 60) }) }));
        }
      }
      previous = latlng;
      var box = el("input", { type: "checkbox", name: "read", value: String(p.read), checked: "checked" });
      var gap = p.gap_s === null ? "" : " · " + fmt(L_.gap, { min: (p.gap_s / 60).toFixed(1) });
      timeline.appendChild(el("li", {}, [
        el("label", {}, [box, el("span", { text: " " + when(p.seen_at) + " · " + p.camera_code + " · " + p.text })]),
        crop(p.crop),
        el("span", { class: "muted", text: fmt(L_.confidence, { pct: Math.round(p.confidence * 100) }) + gap })
      ]));
    });
    $("ps-route-title").textContent = fmt(L_.routeOf, { plate: text, n: sightings.length });
    $("ps-route").hidden = false;
    if (sightings.length) { map.fitBounds(routeLayer.getBounds(), { padding: [40, 40], maxZoom: 17 }); }
  }

  function loadCases() {
    getJSON(config.cases).then(function (answer) {
      if (!answer.ok) { return; }
      var select = $("ps-case");
      (answer.data.results || []).forEach(function (c) {
        select.appendChild(el("option", { value: String(c.id), text: (c.number ? c.number + " · " : "") + (c.title || c.id) }));
      });
    });
  }

  function addToCase(event) {
    event.preventDefault();
    var form = $("ps-case-form");
    var status = $("ps-case-status");
    var reads = Array.prototype.map.call(document.querySelectorAll("#ps-timeline input[name=read]:checked"), function (b) { return Number(b.value); });
    if (!form.case.value) { status.textContent = L_.chooseCase; return; }
    if (!reads.length) { status.textContent = L_.chooseSightings; return; }
    fetch(config.addToCase, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ case: Number(form.case.value), reads: reads, margin_s: Number(form.margin_s.value), reason: $("ps-reason").value })
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { showErrors(data); status.textContent = ""; return; }
        var label = form.case.options[form.case.selectedIndex].text;
        status.textContent = fmt(L_.added, { n: data.evidence.length, case: label });
        if (config.casePage) {
          status.appendChild(document.createTextNode(" "));
          status.appendChild(el("a", { href: config.casePage.replace("/0/", "/" + data.case + "/"), text: label }));
        }
      });
    });
  }

  window.initPlateMap = function (leafletMap) {
    map = leafletMap;
    getJSON(config.wardLayer, "application/geo+json").then(function (answer) {
      if (!answer.ok) { return; }
      var ward = L.geoJSON(answer.data, { style: { color: "#0b3d91", weight: 2, fill: false } }).addTo(map);
      map.fitBounds(ward.getBounds());
    });
    getJSON(config.cameras, "application/geo+json").then(function (answer) {
      if (!answer.ok) { return; }
      L.geoJSON(answer.data, {
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, { radius: 3, color: "#6b7b8c", weight: 1, fillOpacity: 0.5 })
            .bindTooltip(el("span", { text: feature.properties.code || "" }));  // a text node: codes are ward input
        }
      }).addTo(map);
    });
    var drawn = L.featureGroup().addTo(map);
    map.on(L.Draw.Event.CREATED, function (e) {
      drawn.clearLayers();
      areaLayer = e.layer;
      drawn.addLayer(areaLayer);
      $("ps-area").textContent = L_.areaSet;
    });
    $("ps-draw").addEventListener("click", function () {
      new L.Draw.Polygon(map, { shapeOptions: { color: "#f0a202" } }).enable();
    });
    $("ps-clear-area").addEventListener("click", function () {
      drawn.clearLayers();
      areaLayer = null;
      $("ps-area").textContent = L_.areaNone;
    });
  };

  $("plate-form").addEventListener("submit", search);
  $("ps-case-form").addEventListener("submit", addToCase);
  loadCases();
})();
