/* Live wall: the ward's cameras in pages of 4, 9 or 16, each with its latest frame, status and last alert.
 *
 * Frames come from /cameras/<id>/live.jpg, the file the stream supervisor keeps current: the wall
 * never connects to a camera. Each visible tile asks once a second (one request in flight per tile;
 * after a 404 it waits 5 s). Status and last alert follow the alert socket (MatThan.AlertSocket,
 * in ops.js). Every text shown comes from the page (translated there). */
(function () {
  "use strict";
  var MT = window.MatThan;
  var config = JSON.parse(document.getElementById("wall-config").textContent);
  var L10N = config.labels;
  var times = MT.times(config.timeZone);
  var fmt = MT.fmt;
  var esc = MT.escapeHtml;
  var el = function (id) { return document.getElementById(id); };
  var grid = el("wall-grid");
  var single = el("wall-single");
  var pageEl = el("wall-page");
  var STALE_MS = 10000;
  var MISSING_RETRY_MS = 5000;

  var cameras = [];        // features in code order
  var byId = {};
  var lastAlert = {};      // camera id -> {id, type, severity, status, raised_at}
  var alertsComplete = false;
  var asked = {};
  var frames = {};         // camera id -> {busy, retryAt, url, at, missing}
  var alerting = {};       // camera id -> until (ms)
  var perPage = parseInt(window.localStorage.getItem("matthan.wall.size") || "9", 10);
  if (config.pageSizes.indexOf(perPage) < 0) { perPage = 9; }
  var page = parseInt(window.sessionStorage.getItem("matthan.wall.page") || "0", 10) || 0;
  var focusId = null;

  function label(kind, value, fallback) {
    return (config.choices[kind] || {})[String(value)] || fallback || String(value);
  }

  function pages() { return Math.max(1, Math.ceil(cameras.length / perPage)); }

  function onPage() {
    return cameras.slice(page * perPage, (page + 1) * perPage).map(function (f) { return f.id; });
  }

  function liveUrl(id) { return config.liveImage.replace("/0/", "/" + encodeURIComponent(id) + "/"); }

  function statusHtml(feature) {
    var s = feature.properties.status;
    return '<span class="cam-status status-' + esc(s) + '">' + esc(label("cameraStatus", s, feature.properties.status_label)) + "</span>";
  }

  function alertHtml(id) {
    var a = lastAlert[id];
    if (!a) { return '<span class="muted">' + esc(L10N.noAlert) + "</span>"; }
    var closed = a.status === "dismissed" || a.status === "escalated";
    return '<span class="tile-alert-text' + (closed ? " closed" : "") + '" title="' + esc(L10N.lastAlert + ": " + label("status", a.status)) + '">' +
      '<span class="sev-dot sev-' + a.severity + '"></span>' + esc(label("type", a.type)) + " · " +
      '<time datetime="' + esc(a.raised_at) + '">' + esc(times.short(a.raised_at)) + "</time></span>";
  }

  function tileHtml(feature) {
    var p = feature.properties;
    return '<article class="tile" tabindex="0" role="button" data-id="' + feature.id + '" aria-label="' + esc(p.code + " · " + p.name) + '">' +
      '<div class="tile-frame"><img alt="" hidden><span class="no-image">' + esc(L10N.noImage) + "</span></div>" +
      '<div class="tile-head"><span class="tile-code">' + esc(p.code) + '</span><span class="tile-name">' + esc(p.name) + "</span>" +
      '<span class="tile-status">' + statusHtml(feature) + "</span></div>" +
      '<div class="tile-foot"><span class="tile-alert">' + alertHtml(feature.id) + '</span><span class="tile-time"></span></div></article>';
  }

  function renderGrid() {
    page = Math.min(Math.max(page, 0), pages() - 1);
    window.sessionStorage.setItem("matthan.wall.page", String(page));
    grid.dataset.size = String(perPage);
    Array.prototype.forEach.call(document.querySelectorAll(".wall-sizes [data-size]"), function (b) {
      b.setAttribute("aria-pressed", String(parseInt(b.dataset.size, 10) === perPage));
    });
    if (!cameras.length) {
      grid.innerHTML = '<p class="wall-empty">' + esc(L10N.empty) + "</p>";
      pageEl.textContent = L10N.empty;
      return;
    }
    grid.innerHTML = onPage().map(function (id) { return tileHtml(byId[id]); }).join("");
    pageEl.textContent = fmt(L10N.page, { page: page + 1, pages: pages(), total: cameras.length });
    el("wall-prev").disabled = page === 0;
    el("wall-next").disabled = page >= pages() - 1;
    onPage().forEach(function (id) { showFrame(id); showInfo(id); });
    askMissingAlerts(onPage());
    refresh();
  }

  function tileOf(id) { return grid.querySelector('.tile[data-id="' + id + '"]'); }

  function showInfo(id) {
    var feature = byId[id];
    if (!feature) { return; }
    var tile = tileOf(id);
    if (tile) {
      tile.querySelector(".tile-status").innerHTML = statusHtml(feature);
      tile.querySelector(".tile-alert").innerHTML = alertHtml(id);
      tile.classList.toggle("alerting", (alerting[id] || 0) > Date.now());
    }
    if (focusId === id) {
      el("single-status").innerHTML = statusHtml(feature);
      el("single-alert").innerHTML = L10N.lastAlert + ": " + alertHtml(id);
    }
  }

  function showFrame(id) {
    var f = frames[id] || {};
    var stale = f.at && Date.now() - f.at.getTime() > STALE_MS;
    var timeText = f.at ? fmt(L10N.updated, { time: times.time(f.at) }) : "";
    var targets = [];
    var tile = tileOf(id);
    if (tile) { targets.push([tile.querySelector("img"), tile.querySelector(".no-image"), tile.querySelector(".tile-time"), tile]); }
    if (focusId === id) { targets.push([el("single-img"), el("single-none"), el("single-time"), single]); }
    targets.forEach(function (t) {
      var img = t[0];
      if (f.url && !f.missing) {
        if (img.src !== f.url) { img.src = f.url; }
        img.hidden = false;
        t[1].hidden = true;
      } else {
        img.hidden = true;
        t[1].hidden = false;
      }
      t[2].textContent = f.missing ? "" : timeText;
      t[2].classList.toggle("stale", !!stale);
      t[3].dataset.frame = f.missing ? "missing" : (f.url ? (stale ? "stale" : "live") : "loading");
    });
  }

  function load(id) {
    var f = frames[id] || (frames[id] = {});
    if (f.busy || (f.retryAt && f.retryAt > Date.now())) { return; }
    f.busy = true;
    fetch(liveUrl(id), { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (response.status === 404) { return null; }
      if (!response.ok) { throw new Error(response.status); }
      var modified = response.headers.get("Last-Modified");
      return response.blob().then(function (blob) { return { blob: blob, at: modified ? new Date(modified) : new Date() }; });
    }).then(function (got) {
      var old = f.url;
      if (got) {
        f.url = URL.createObjectURL(got.blob);
        f.at = got.at;
        f.missing = false;
        f.retryAt = 0;
      } else {
        f.url = null;
        f.missing = true;
        f.retryAt = Date.now() + MISSING_RETRY_MS;
      }
      showFrame(id);
      if (old) { window.setTimeout(function () { URL.revokeObjectURL(old); }, 3000); }
    }).catch(function () {
      // The server is unreachable: keep the last frame, its time shows how old it is.
      f.retryAt = Date.now() + 2000;
      showFrame(id);
    }).then(function () { f.busy = false; });
  }

  function refresh() {
    if (document.hidden) { return; }
    (focusId !== null ? [focusId] : onPage()).forEach(load);
  }
  window.setInterval(refresh, 1000);

  // ---- last alerts ---------------------------------------------------------------------------
  function keep(alert) {
    if (alert.camera === null || alert.camera === undefined) { return; }  // seen by another ward's camera: no tile
    var known = lastAlert[alert.camera];
    // REST rows carry local times, socket payloads UTC: compare instants, never the strings.
    if (!known || known.id === alert.id || Date.parse(alert.raised_at) >= Date.parse(known.raised_at)) { lastAlert[alert.camera] = alert; }
  }

  function loadRecentAlerts() {
    return MT.getJson(config.recentAlerts).then(function (data) {
      (data.results || []).slice().reverse().forEach(function (row) {
        keep({ id: row.id, camera: row.camera, type: row.type, severity: row.severity, status: row.status, raised_at: row.raised_at });
      });
      alertsComplete = !data.next;
      onPage().forEach(showInfo);
      askMissingAlerts(onPage());
    }).catch(function () { /* tiles say "no alerts"; the socket still updates them */ });
  }

  // When the ward has more recent alerts than one list holds, ask per camera for the ones shown.
  function askMissingAlerts(ids) {
    if (alertsComplete) { return; }
    ids.forEach(function (id) {
      if (lastAlert[id] || asked[id]) { return; }
      asked[id] = true;
      MT.getJson(fmt(config.alertsForCamera, { id: id })).then(function (data) {
        var row = (data.results || [])[0];
        if (row) { keep({ id: row.id, camera: row.camera, type: row.type, severity: row.severity, status: row.status, raised_at: row.raised_at }); showInfo(id); }
      }).catch(function () { asked[id] = false; });
    });
  }

  function onEvent(payload) {
    var a = payload.alert;
    var id = a.camera.id;
    if (id === null) { return; }  // a watchlist hit seen by another ward's camera: no tile of ours
    keep({ id: a.id, camera: id, type: a.type, severity: a.severity, status: a.status, raised_at: a.raised_at });
    var feature = byId[id];
    if (feature && (payload.event === "raised" || payload.event === "grouped")) {
      if (a.type === "camera_offline") { feature.properties.status = "offline"; }
      if (a.type === "camera_online") { feature.properties.status = "online"; }
    }
    if (payload.event === "raised" && a.severity >= 3) {
      alerting[id] = Date.now() + 15000;
      window.setTimeout(function () { showInfo(id); }, 15100);
    }
    showInfo(id);
  }

  // ---- single view ---------------------------------------------------------------------------
  function open(id) {
    var feature = byId[id];
    if (!feature) { return; }
    focusId = id;
    var p = feature.properties;
    el("single-title").textContent = p.code + " · " + p.name;
    el("single-link").href = config.cameraPage.replace("/0/", "/" + encodeURIComponent(id) + "/");
    el("single-img").alt = p.code + " · " + p.name;
    single.hidden = false;
    grid.hidden = true;
    single.dataset.id = String(id);
    showInfo(id);
    showFrame(id);
    refresh();
    el("single-close").focus();
  }

  function close() {
    var was = focusId;
    focusId = null;
    single.hidden = true;
    grid.hidden = false;
    var index = cameras.indexOf(byId[was]);
    if (index >= 0) { page = Math.floor(index / perPage); }
    renderGrid();
    var tile = tileOf(was);
    if (tile) { tile.focus(); }
  }

  function step(delta) {
    if (focusId !== null) {
      var index = cameras.indexOf(byId[focusId]);
      var next = cameras[Math.min(Math.max(index + delta, 0), cameras.length - 1)];
      if (next && next.id !== focusId) { open(next.id); }
      return;
    }
    var target = Math.min(Math.max(page + delta, 0), pages() - 1);
    if (target !== page) { page = target; renderGrid(); }
  }

  grid.addEventListener("click", function (event) {
    var tile = event.target.closest(".tile");
    if (tile) { open(parseInt(tile.dataset.id, 10)); }
  });
  grid.addEventListener("keydown", function (event) {
    var tile = event.target.closest(".tile");
    if (tile && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); open(parseInt(tile.dataset.id, 10)); }
  });
  el("single-close").addEventListener("click", close);
  el("wall-prev").addEventListener("click", function () { step(-1); });
  el("wall-next").addEventListener("click", function () { step(1); });
  Array.prototype.forEach.call(document.querySelectorAll(".wall-sizes [data-size]"), function (button) {
    button.addEventListener("click", function () {
      var first = page * perPage;
      perPage = parseInt(button.dataset.size, 10);
      window.localStorage.setItem("matthan.wall.size", String(perPage));
      page = Math.floor(first / perPage);
      if (focusId !== null) { close(); } else { renderGrid(); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target.closest && event.target.closest("input, textarea, select")) { return; }
    if (event.key === "Escape" && focusId !== null) { close(); }
    else if (event.key === "PageDown" || event.key === "ArrowRight") { step(1); }
    else if (event.key === "PageUp" || event.key === "ArrowLeft") { step(-1); }
    else { return; }
    event.preventDefault();
  });
  document.addEventListener("visibilitychange", refresh);

  // ---- start ---------------------------------------------------------------------------------
  function fetchFeatures(url, features) {
    features = features || [];
    return MT.getJson(url, "application/geo+json").then(function (data) {
      features = features.concat(data.features || []);
      return data.next ? fetchFeatures(data.next, features) : features;
    });
  }

  fetchFeatures(config.cameras).then(function (features) {
    features.forEach(function (f) {
      if (f.id == null) { f.id = f.properties.id; }
      byId[f.id] = f;
    });
    cameras = features.slice().sort(function (a, b) { return a.properties.code < b.properties.code ? -1 : a.properties.code > b.properties.code ? 1 : 0; });
    renderGrid();
    grid.dataset.ready = "1";
  }).catch(function (error) {
    pageEl.textContent = fmt(L10N.failed, { error: error.message });
    pageEl.classList.add("error");
  });

  var socket = new MT.AlertSocket({
    path: config.socket, ward: config.ward, labels: config.connection, events: config.events, onEvent: onEvent,
    onHello: function (first) { if (first) { loadRecentAlerts(); } }
  });
  socket.connect();
})();
