/* Operations room.
 *
 * window.MatThan holds what the ops page and the live wall share: text formatting, times in
 * Asia/Ho_Chi_Minh, and AlertSocket, the client of /ws/alerts/ (session auth, resume by the last
 * event id kept in sessionStorage, reconnect with backoff, connection state shown in #ops-conn).
 * The ops page itself runs when #ops-config is on the page. Every text shown comes from the page
 * (translated there): config.labels, config.choices, data-* attributes. */
(function () {
  "use strict";
  var MT = window.MatThan = window.MatThan || {};

  MT.fmt = function (template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_, key) { return values[key] == null ? "" : values[key]; });
  };

  MT.escapeHtml = function (text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  };

  // Times in the ward's timezone whatever the browser's; today's show the time only.
  MT.times = function (timeZone) {
    var lang = document.documentElement.lang || "vi";
    var day = new Intl.DateTimeFormat(lang, { timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    var time = new Intl.DateTimeFormat(lang, { timeZone: timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    var full = new Intl.DateTimeFormat(lang, {
      timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
    });
    return {
      short: function (iso) {
        if (!iso) { return ""; }
        var d = new Date(iso);
        return day.format(d) === day.format(new Date()) ? time.format(d) : full.format(d);
      },
      full: function (iso) { return iso ? full.format(new Date(iso)) : ""; },
      time: function (d) { return time.format(d); }
    };
  };

  MT.getJson = function (url, accept) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: accept || "application/json" } }).then(function (response) {
      if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
      return response.json();
    });
  };

  /* The alert socket. options: path, ward, events (the event log URL), labels (config.connection),
   * onHello(first), onEvent(payload, replaying).
   * The first connection of a page sends "resume" only when this tab already has a last event id;
   * every reconnection sends it, so nothing missed while away is lost. */
  MT.AlertSocket = function (options) {
    this.options = options;
    this.key = "matthan.alerts." + options.ward + ".lastEventId";
    this.first = true;
    this.replaying = false;
    this.delay = 1000;
    this.ws = null;
    this.lastMessageAt = 0;
    this.stateEl = document.getElementById("ops-conn");
  };

  MT.AlertSocket.prototype.lastId = function () {
    var value = parseInt(window.sessionStorage.getItem(this.key) || "0", 10);
    return isFinite(value) && value > 0 ? value : 0;
  };

  MT.AlertSocket.prototype.remember = function (eventId) {
    if (typeof eventId === "number" && eventId > this.lastId()) { window.sessionStorage.setItem(this.key, String(eventId)); }
  };

  // A new tab starts from the newest event id, so its first reconnect resumes from there, not from the start.
  MT.AlertSocket.prototype.baseline = function () {
    var self = this;
    var url = this.options.events + "?ward=" + encodeURIComponent(this.options.ward) + "&page_size=1&page=last";
    MT.getJson(url).then(function (data) {
      var last = (data.results || [])[0];
      if (last) { self.remember(last.id); }
    }).catch(function () { /* a reconnect then replays more than needed, nothing is lost */ });
  };

  MT.AlertSocket.prototype.state = function (state, text) {
    if (!this.stateEl) { return; }
    this.stateEl.dataset.state = state;
    this.stateEl.querySelector(".conn-text").textContent = text;
  };

  MT.AlertSocket.prototype.connect = function () {
    var self = this;
    var labels = this.options.labels;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    this.state("connecting", labels.connecting);
    var ws = this.ws = new WebSocket(scheme + window.location.host + this.options.path);
    ws.onmessage = function (message) {
      self.lastMessageAt = Date.now();
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data.type === "hello") {
        self.delay = 1000;
        var first = self.first;
        self.first = false;
        var last = self.lastId();
        if (!first || last) {
          self.replaying = true;
          self.state("replaying", labels.replaying);
          ws.send(JSON.stringify({ type: "resume", last_event_id: last }));
        } else {
          self.state("live", labels.live);
          self.baseline();
        }
        self.options.onHello(first);
      } else if (data.type === "alert") {
        self.remember(data.event_id);
        self.options.onEvent(data, self.replaying);
      } else if (data.type === "replayed") {
        self.replaying = false;
        self.remember(data.last_event_id);
        self.state("live", labels.live);
      } else if (data.type === "error" && window.console) {
        window.console.warn("alert socket:", data.detail);
      }
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) { return; }
      self.ws = null;
      self.replaying = false;
      // 4401/4403: not signed in, or no ward to watch; retrying fast would not help.
      var refused = event.code === 4401 || event.code === 4403;
      var wait = refused ? 30000 : self.delay;
      self.delay = Math.min(self.delay * 2, 30000);
      var until = Date.now() + wait;
      var tick = function () {
        var left = Math.ceil((until - Date.now()) / 1000);
        if (left <= 0) { self.connect(); return; }
        self.state(refused ? "refused" : "retry", refused ? labels.refused : MT.fmt(labels.retry, { s: left }));
        self.timer = window.setTimeout(tick, 1000);
      };
      tick();
    };
    if (!this.watchdog) {
      // The server sends a heartbeat; a socket silent for long is dead even if the browser thinks not.
      this.watchdog = window.setInterval(function () {
        if (!self.ws || self.ws.readyState !== WebSocket.OPEN) { return; }
        var silent = Date.now() - self.lastMessageAt;
        if (silent > 70000) { self.ws.close(); } else if (silent > 25000) { self.ws.send(JSON.stringify({ type: "ping" })); }
      }, 5000);
    }
  };

  var opsConfig = document.getElementById("ops-config");
  if (!opsConfig) { return; }

  // ------------------------------------------------------------------------------------------
  // The ops page
  var config = JSON.parse(opsConfig.textContent);
  var L10N = config.labels;
  var times = MT.times(config.timeZone);
  var fmt = MT.fmt;
  var esc = MT.escapeHtml;
  var CLOSED = ["escalated", "dismissed"];
  var baseTitle = document.title;
  var csrf = document.querySelector("#raise-form input[name=csrfmiddlewaretoken]").value;

  var alerts = {};          // id -> alert (one shape for REST rows and socket payloads)
  var order = [];           // ids, newest raised first
  var shown = [];           // ids passing the filters, in order
  var selectedId = null;
  var feedLoaded = false;
  var pending = [];         // socket events that arrived before the first list
  var unread = 0;
  var fresh = {};           // ids raised while the page was open: highlighted for a while
  var history = { alert: null, events: {} };
  var mapApi = null;        // set once the map is ready
  var cameraIndex = {};     // id -> camera feature; code -> feature

  var el = function (id) { return document.getElementById(id); };
  var feedEl = el("feed");
  var feedStatus = el("feed-status");
  var filters = { type: el("filter-type"), severity: el("filter-severity"), status: el("filter-status") };

  function label(kind, value, fallback) {
    var table = config.choices[kind] || {};
    return table[String(value)] || fallback || String(value);
  }

  function fromRest(row) {
    return {
      id: row.id, type: row.type, severity: row.severity, status: row.status, note: row.note || "", count: row.count,
      raised_at: row.raised_at, last_seen_at: row.last_seen_at, assigned_to: row.assigned_to, incident: row.incident,
      snapshot: row.snapshot, dismiss_reason: row.dismiss_reason || "",
      // camera is null for a watchlist hit seen by another ward's camera: code and name describe that one.
      camera: { id: row.camera, code: row.camera_code, name: row.camera_name }
    };
  }

  function fromEvent(payload) {
    var a = payload.alert;
    var known = alerts[a.id] || {};
    return {
      id: a.id, type: a.type, severity: a.severity, status: a.status, note: a.note || "", count: a.count,
      raised_at: a.raised_at, last_seen_at: a.last_seen_at, assigned_to: a.assigned_to, incident: a.incident,
      snapshot: a.snapshot,
      dismiss_reason: payload.event === "dismissed" ? payload.event_note : (known.dismiss_reason || ""),
      camera: { id: a.camera.id, code: a.camera.code, name: a.camera.name, location: a.camera.location }
    };
  }

  // REST rows carry local times, socket payloads UTC: compare instants, never the strings.
  function newerFirst(a, b) {
    var ta = Date.parse(a.raised_at);
    var tb = Date.parse(b.raised_at);
    if (ta !== tb) { return tb - ta; }
    return b.id - a.id;
  }

  function upsert(alert) {
    var isNew = !alerts[alert.id];
    alerts[alert.id] = alert;
    if (isNew) { order.push(alert.id); }
    order.sort(function (x, y) { return newerFirst(alerts[x], alerts[y]); });
    return isNew;
  }

  function passes(alert) {
    var type = filters.type.value;
    var severity = parseInt(filters.severity.value || "0", 10);
    var status = filters.status.value;
    if (type && alert.type !== type) { return false; }
    if (severity && alert.severity < severity) { return false; }
    if (status === "open") { return CLOSED.indexOf(alert.status) < 0; }
    return !status || alert.status === status;
  }

  function itemHtml(alert) {
    var a = alert;
    var count = a.count > 1 ? ' <span class="ai-count">' + esc(fmt(L10N.times, { n: a.count })) + "</span>" : "";
    var isFresh = fresh[a.id] && fresh[a.id] > Date.now();
    return '<li class="alert-item sev-' + a.severity + " st-" + esc(a.status) + (isFresh ? " fresh" : "") + '" role="option" id="alert-' + a.id +
      '" data-id="' + a.id + '" data-status="' + esc(a.status) + '" aria-selected="' + (a.id === selectedId) + '">' +
      '<span class="sev-bar" title="' + esc(label("severity", a.severity)) + '"></span>' +
      '<span class="ai-main"><span class="ai-top"><strong class="ai-type">' + esc(label("type", a.type)) + "</strong>" + count +
      '<time datetime="' + esc(a.raised_at) + '">' + esc(times.short(a.raised_at)) + "</time></span>" +
      '<span class="ai-cam">' + esc(a.camera.code) + " · " + esc(a.camera.name) + "</span>" +
      (a.note ? '<span class="ai-note">' + esc(a.note) + "</span>" : "") + "</span>" +
      '<span class="st-badge st-' + esc(a.status) + '" title="' + esc(label("status", a.status)) + '">' + esc(label("statusShort", a.status)) + "</span></li>";
  }

  function renderFeed(scroll) {
    shown = order.filter(function (id) { return passes(alerts[id]); });
    feedEl.innerHTML = shown.map(function (id) { return itemHtml(alerts[id]); }).join("");
    feedEl.setAttribute("aria-activedescendant", selectedId && shown.indexOf(selectedId) >= 0 ? "alert-" + selectedId : "");
    feedStatus.textContent = shown.length ? fmt(L10N.loaded, { n: shown.length, total: order.length }) : L10N.empty;
    feedEl.dataset.count = String(shown.length);
    var item = scroll && selectedId && el("alert-" + selectedId);
    if (item && item.scrollIntoView) { item.scrollIntoView({ block: "nearest" }); }
  }

  // ---- selection and the detail panel ------------------------------------------------------
  function select(id) {
    if (!alerts[id]) { return; }
    var changed = id !== selectedId;
    selectedId = id;
    renderFeed(true);
    renderDetail();
    if (changed) {
      el("d-message").textContent = "";
      loadHistory(id);
    }
    if (mapApi) { mapApi.focus(alerts[id], true); }
  }

  function move(step) {
    if (!shown.length) { return; }
    var at = shown.indexOf(selectedId);
    var next = at < 0 ? 0 : Math.min(Math.max(at + step, 0), shown.length - 1);
    select(shown[next]);
  }

  function fact(name, value) {
    return "<dt>" + esc(name) + "</dt><dd>" + value + "</dd>";
  }

  function renderDetail() {
    var a = alerts[selectedId];
    el("detail").hidden = !a;
    el("detail-empty").hidden = !!a;
    if (!a) { return; }
    el("detail").dataset.alert = String(a.id);
    el("detail").dataset.status = a.status;
    var sev = el("d-severity");
    sev.className = "sev-badge sev-" + a.severity;
    sev.textContent = label("severity", a.severity);
    el("d-title").textContent = label("type", a.type) + " #" + a.id;
    var st = el("d-status");
    st.className = "st-badge st-" + a.status;
    st.textContent = label("statusShort", a.status);
    st.title = label("status", a.status);
    var place = esc(a.camera.code) + " · " + esc(a.camera.name);
    if (a.camera.id !== null && a.camera.id !== undefined) {
      var cameraLink = config.cameraPage.replace("/0/", "/" + encodeURIComponent(a.camera.id) + "/");
      place = '<a href="' + esc(cameraLink) + '">' + esc(a.camera.code) + "</a> · " + esc(a.camera.name);
    }
    var html = fact(L10N.camera, place) +
      fact(L10N.raisedAt, esc(times.full(a.raised_at))) +
      (a.count > 1 ? fact(L10N.lastSeen, esc(times.full(a.last_seen_at))) + fact(L10N.count, esc(a.count)) : "") +
      fact(L10N.assignedTo, a.assigned_to ? esc(a.assigned_to) : '<span class="muted">' + esc(L10N.nobody) + "</span>") +
      (a.note ? fact(L10N.note, esc(a.note)) : "") +
      (a.dismiss_reason ? fact(L10N.reason, esc(a.dismiss_reason)) : "") +
      (a.incident ? fact(L10N.incidentLabel, esc(fmt(L10N.incident, { id: a.incident }))) : "");
    el("d-facts").innerHTML = html;
    var img = el("d-snapshot");
    if (a.snapshot) {
      if (img.getAttribute("src") !== a.snapshot) {
        img.onerror = function () {
          img.hidden = true;
          el("d-nosnap").textContent = L10N.snapshotFailed;
          el("d-nosnap").hidden = false;
          el("d-figure").classList.add("empty");
        };
        img.src = a.snapshot;
      }
      img.hidden = false;
      el("d-nosnap").hidden = true;
      el("d-figure").classList.remove("empty");
    } else {
      el("d-figure").classList.add("empty");
      el("d-nosnap").textContent = L10N.noSnapshot;
      img.hidden = true;
      img.removeAttribute("src");
      el("d-nosnap").hidden = false;
    }
    var closed = CLOSED.indexOf(a.status) >= 0;
    document.querySelector(".act-ack").disabled = a.status !== "new";
    document.querySelector(".act-esc").disabled = closed;
    document.querySelector(".act-dis").disabled = closed;
    el("assignee").disabled = closed;
    document.querySelector("#assign-form button").disabled = closed;
    if (a.assigned_to) { el("assignee").value = a.assigned_to; }
  }

  function renderHistory() {
    var list = el("d-history");
    var events = Object.keys(history.events).map(function (k) { return history.events[k]; });
    events.sort(function (x, y) { return x.id - y.id; });
    if (!events.length) { list.innerHTML = '<li class="muted">' + esc(L10N.historyEmpty) + "</li>"; return; }
    list.innerHTML = events.map(function (e) {
      return '<li><time datetime="' + esc(e.at) + '">' + esc(times.short(e.at)) + "</time> <strong>" + esc(label("event", e.kind)) + "</strong> " +
        '<span class="muted">' + esc(fmt(L10N.by, { user: e.actor || L10N.system })) + "</span>" +
        (e.note ? '<span class="h-note">' + esc(e.note) + "</span>" : "") + "</li>";
    }).join("");
  }

  function loadHistory(id) {
    history = { alert: id, events: {} };
    renderHistory();
    MT.getJson(config.events + "?alert=" + encodeURIComponent(id) + "&page_size=200").then(function (data) {
      if (history.alert !== id) { return; }
      (data.results || []).forEach(function (e) { history.events[e.id] = e; });
      renderHistory();
    }).catch(function (error) {
      el("d-history").innerHTML = '<li class="error">' + esc(fmt(L10N.failed, { error: error.message })) + "</li>";
    });
  }

  // ---- handling: the REST actions ------------------------------------------------------------
  function apiError(data, fallback) {
    if (!data || typeof data !== "object") { return fallback; }
    if (data.detail) { return String(data.detail); }
    var parts = [];
    Object.keys(data).forEach(function (key) {
      var value = data[key];
      var text = Array.isArray(value) ? value.join(" ") : (typeof value === "object" ? apiError(value, "") : String(value));
      parts.push(key === "non_field_errors" ? text : key + ": " + text);
    });
    return parts.join(" ") || fallback;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) { throw new Error(apiError(data, response.status + " " + response.statusText)); }
        return data;
      });
    });
  }

  function message(text, isError) {
    var out = el("d-message");
    out.textContent = text;
    out.classList.toggle("error", !!isError);
  }

  function act(action, body) {
    var a = alerts[selectedId];
    if (!a) { return; }
    var url = config.alertAction.replace("%(action)s", action).replace("/0/", "/" + a.id + "/");
    message("…");
    return post(url, body).then(function (row) {
      upsert(fromRest(row));
      renderFeed();
      renderDetail();
      message(fmt(L10N.done, { what: label("event", { acknowledge: "acknowledged", assign: "assigned", note: "noted", escalate: "escalated", dismiss: "dismissed" }[action]) }));
      loadHistory(a.id);
    }).catch(function (error) { message(error.message, true); });
  }

  var dialog = el("text-dialog");
  var dialogAction = null;

  function askText(action) {
    var a = alerts[selectedId];
    if (!a) { return; }
    if (action !== "note" && CLOSED.indexOf(a.status) >= 0) { message(L10N.closed, true); return; }
    dialogAction = action;
    el("text-title").textContent = dialog.dataset["title" + action.charAt(0).toUpperCase() + action.slice(1)];
    el("text-hint").textContent = dialog.dataset["hint" + action.charAt(0).toUpperCase() + action.slice(1)];
    el("text-input").value = "";
    el("text-error").textContent = "";
    dialog.showModal();
    el("text-input").focus();
  }

  el("text-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = el("text-input").value.trim();
    if (dialogAction === "dismiss" && !text) { el("text-error").textContent = L10N.reasonRequired; return; }
    if (dialogAction === "note" && !text) { el("text-error").textContent = L10N.noteRequired; return; }
    dialog.close();
    act(dialogAction, dialogAction === "dismiss" ? { reason: text } : { note: text });
  });
  el("text-cancel").addEventListener("click", function () { dialog.close(); });

  Array.prototype.forEach.call(document.querySelectorAll(".ops-actions .act"), function (button) {
    button.addEventListener("click", function () {
      var action = button.dataset.action;
      if (action === "acknowledge") { act("acknowledge"); } else { askText(action); }
    });
  });

  el("assign-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var who = el("assignee").value;
    if (!who) { message(L10N.chooseOfficer, true); return; }
    act("assign", { assignee: who });
  });

  feedEl.addEventListener("click", function (event) {
    var item = event.target.closest(".alert-item");
    if (item) { select(parseInt(item.dataset.id, 10)); }
  });
  Object.keys(filters).forEach(function (name) { filters[name].addEventListener("change", function () { renderFeed(true); }); });

  // ---- keyboard ------------------------------------------------------------------------------
  var help = el("help-dialog");
  el("help-open").addEventListener("click", function () { help.showModal(); });

  function button(key) {
    return document.querySelector('.ops-actions [aria-keyshortcuts="' + key + '"]');
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (document.querySelector("dialog[open]")) { return; }
    if (target.closest && (target.closest("input, textarea, select, [contenteditable], .leaflet-container"))) { return; }
    var handled = true;
    switch (event.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      // The same as the buttons, and like them nothing when the alert's state does not allow it.
      case "a": case "e": case "d": case "n": button(event.key).click(); break;
      case "?": help.showModal(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // ---- attention: sound, desktop notification, unread count in the title -----------------------
  var soundButton = el("sound-toggle");
  var soundOn = window.localStorage.getItem("matthan.ops.sound") !== "off";
  var audio = null;

  function showSound() {
    soundButton.setAttribute("aria-pressed", String(soundOn));
    soundButton.textContent = soundOn ? L10N.soundOn : L10N.soundOff;
  }
  soundButton.addEventListener("click", function () {
    soundOn = !soundOn;
    window.localStorage.setItem("matthan.ops.sound", soundOn ? "on" : "off");
    showSound();
    if (soundOn) { beep(3); }
  });
  showSound();

  // Browsers start audio only after a user gesture: make the context on the first one.
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) { audio = new Context(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
  }
  document.addEventListener("pointerdown", unlockAudio);
  document.addEventListener("keydown", unlockAudio);

  function beep(severity) {
    if (!soundOn || !audio || audio.state !== "running") { return; }
    var pulses = severity >= 4 ? 3 : 2;
    for (var i = 0; i < pulses; i++) {
      var start = audio.currentTime + i * 0.22;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = severity >= 4 ? 1046 : 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.18);
    }
  }

  var notifyButton = el("notify-enable");
  function showNotify() {
    notifyButton.hidden = !("Notification" in window) || window.Notification.permission !== "default";
  }
  notifyButton.addEventListener("click", function () {
    window.Notification.requestPermission().then(function (permission) {
      message(permission === "granted" ? L10N.notifyOn : L10N.notifyDenied, permission !== "granted");
      showNotify();
    });
  });
  showNotify();

  function notify(alert) {
    if (!("Notification" in window) || window.Notification.permission !== "granted") { return; }
    var n = new window.Notification(fmt(L10N.notifyTitle, { type: label("type", alert.type), camera: alert.camera.code }), {
      body: [label("severity", alert.severity), alert.camera.name, alert.note].filter(Boolean).join(" · "),
      tag: "matthan-alert-" + alert.id
    });
    n.onclick = function () { window.focus(); select(alert.id); n.close(); };
  }

  function showUnread() {
    document.title = (unread ? "(" + unread + ") " : "") + baseTitle;
  }
  function seen() {
    if (!document.hidden) { unread = 0; showUnread(); }
  }
  window.addEventListener("focus", seen);
  document.addEventListener("visibilitychange", seen);

  // ---- the live feed -------------------------------------------------------------------------
  function onEvent(payload, replaying) {
    if (!feedLoaded) { pending.push([payload, replaying]); return; }
    apply(payload, replaying);
  }

  function apply(payload, replaying) {
    var alert = fromEvent(payload);
    var isNew = upsert(alert);
    if (payload.event === "raised" && isNew) {
      fresh[alert.id] = Date.now() + 15000;
      if (document.hidden || !document.hasFocus()) { unread += 1; showUnread(); }
      if (alert.severity >= 3 && !replaying) { beep(alert.severity); notify(alert); }
      if (mapApi) { mapApi.flash(alert); }
    } else if (payload.event === "grouped") {
      fresh[alert.id] = Date.now() + 5000;
    }
    if (history.alert === alert.id) {
      history.events[payload.event_id] = { id: payload.event_id, kind: payload.event, actor: payload.actor, note: payload.event_note, at: payload.at };
      renderHistory();
    }
    if (selectedId === null && isNew) { selectedId = alert.id; loadHistory(alert.id); if (mapApi) { mapApi.focus(alert, false); } }
    renderFeed();
    if (selectedId === alert.id) { renderDetail(); }
  }

  function loadFeed() {
    feedStatus.textContent = L10N.loading;
    var url = config.alerts + "?ward=" + encodeURIComponent(config.ward) + "&page_size=100";
    return MT.getJson(url).then(function (data) {
      (data.results || []).forEach(function (row) { upsert(fromRest(row)); });
      feedLoaded = true;
      var queued = pending;
      pending = [];
      queued.forEach(function (item) { apply(item[0], item[1]); });
      if (selectedId === null && order.length) { select(order[0]); } else { renderFeed(); }
      feedEl.dataset.ready = "1";
    }).catch(function (error) {
      feedStatus.textContent = fmt(L10N.failed, { error: error.message });
      feedStatus.classList.add("error");
    });
  }

  var socket = new MT.AlertSocket({
    path: config.socket, ward: config.ward, labels: config.connection, events: config.events, onEvent: onEvent,
    onHello: function (first) { if (first) { loadFeed(); } }
  });
  socket.connect();
  window.setInterval(function () { if (document.querySelector(".alert-item.fresh")) { renderFeed(false); } }, 5000);

  // ---- manual alert --------------------------------------------------------------------------
  el("raise-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var out = el("raise-message");
    var typed = form.camera.value.trim();
    var camera = cameraIndex["code:" + typed];
    var body = { camera: camera ? camera.id : typed, type: form.type.value, note: form.note.value.trim() };
    if (form.severity.value) { body.severity = parseInt(form.severity.value, 10); }
    if (!typed) { out.textContent = L10N.unknownCamera; out.classList.add("error"); return; }
    out.textContent = "…";
    out.classList.remove("error");
    post(config.alerts, body).then(function (row) {
      out.textContent = fmt(L10N.raised, { id: row.id });
      form.note.value = "";
      upsert(fromRest(row));
      select(row.id);
    }).catch(function (error) { out.textContent = error.message; out.classList.add("error"); });
  });

  // ---- the map -------------------------------------------------------------------------------
  var STATUS_COLOURS = { online: "#1b9e4b", offline: "#d7301f", maintenance: "#f0a202", to_restore: "#7b3294", planned: "#6b7b8c" };

  function fetchFeatures(url, features) {
    features = features || [];
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.json();
      })
      .then(function (data) {
        features = features.concat(data.features || []);
        return data.next ? fetchFeatures(data.next, features) : features;
      });
  }

  window.initOpsMap = function (map) {
    var statusEl = el("map-status");
    map.options.zoomSnap = 0.25;  // let the ward fill the panel
    var renderer = L.canvas({ padding: 0.5 });
    var cameras = L.layerGroup().addTo(map);
    var selectedPulse = null;
    var flashes = L.layerGroup().addTo(map);

    function latLng(alert) {
      var feature = cameraIndex[alert.camera.id];
      var c = feature ? feature.geometry.coordinates : alert.camera.location;
      return c ? L.latLng(c[1], c[0]) : null;
    }

    function pulseIcon(alert, kind) {
      return L.divIcon({ className: "pulse-icon " + kind + " sev-" + alert.severity, iconSize: [34, 34], html: "<span></span><span></span>" });
    }

    mapApi = {
      focus: function (alert, pan) {
        var at = latLng(alert);
        if (selectedPulse) { map.removeLayer(selectedPulse); selectedPulse = null; }
        if (!at) { return; }
        selectedPulse = L.marker(at, { icon: pulseIcon(alert, "pulse-selected"), interactive: false, keyboard: false, zIndexOffset: 1000 }).addTo(map);
        map.getContainer().dataset.pulse = String(alert.camera.id);
        if (pan && !map.getBounds().pad(-0.15).contains(at)) { map.panTo(at); }
      },
      flash: function (alert) {
        var at = latLng(alert);
        if (!at) { return; }
        var marker = L.marker(at, { icon: pulseIcon(alert, "pulse-new"), interactive: false, keyboard: false, zIndexOffset: 900 });
        flashes.addLayer(marker);
        window.setTimeout(function () { flashes.removeLayer(marker); }, 60000);
      }
    };

    var wardLayer = L.geoJSON(null, { style: { color: "#0b3d91", weight: 3, fill: false }, interactive: false }).addTo(map);
    var wardShape = fetch(config.wardShape, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (shape) { if (shape) { wardLayer.addData(shape); } })
      .catch(function () { /* the cameras still show where the ward is */ });

    Promise.all([fetchFeatures(config.cameras), wardShape]).then(function (loaded) {
      var features = loaded[0];
      var options = [];
      var bounds = [];
      features.forEach(function (feature) {
        var p = feature.properties;
        var id = feature.id != null ? feature.id : p.id;
        cameraIndex[id] = feature;
        cameraIndex["code:" + p.code] = { id: id };
        options.push('<option value="' + esc(p.code) + '">' + esc(p.name) + "</option>");
        var c = feature.geometry.coordinates;
        var marker = L.circleMarker([c[1], c[0]], {
          renderer: renderer, radius: p.kind === "ai" ? 6 : 4.5, weight: 1.5, color: "#0f1b2d",
          fillColor: STATUS_COLOURS[p.status] || "#555", fillOpacity: 0.9
        });
        marker.bindTooltip(esc(p.code) + " · " + esc(p.name) + " · " + esc(p.status_label));
        marker.on("click", function () {
          el("raise").open = true;
          el("raise-camera").value = p.code;
        });
        cameras.addLayer(marker);
        bounds.push([c[1], c[0]]);
      });
      el("camera-codes").innerHTML = options.join("");
      var wardBounds = wardLayer.getBounds();
      if (wardBounds.isValid()) { map.fitBounds(wardBounds, { padding: [10, 10] }); } else if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); }
      statusEl.hidden = true;
      if (selectedId !== null && alerts[selectedId]) { mapApi.focus(alerts[selectedId], true); }
      map.getContainer().dataset.ready = "1";
    }).catch(function (error) {
      statusEl.textContent = fmt(L10N.mapFailed, { error: error.message });
      statusEl.classList.add("error");
    });
  };
})();
