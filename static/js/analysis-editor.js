/* Analysis page of a camera: zone, mask and line editor on its snapshot, rules, models, recording, health.
 *
 * Everything drawn is kept in image pixels of the snapshot: the <svg> has the image's size as its
 * viewBox and is stretched over the <img>, so the display scales and the stored numbers do not.
 * Saving sends the whole settings object to /api/analysis-settings/ (POST the first time, then
 * PATCH); a 400 names the list and the item ("zones.2.polygon: ..."), shown next to that item,
 * and nothing drawn is lost. Every text comes translated from the page (config.labels). */
(function () {
  "use strict";
  var node = document.getElementById("analysis-config");
  if (!node) { return; }
  var config = JSON.parse(node.textContent);
  var L = config.labels;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var COLOURS = { intrusion: "#d7301f", sidewalk: "#f0a202", roadway: "#7b3294", privacy: "#111", ignore: "#6b7b8c", line: "#0b3d91" };

  var s = config.settings;
  var state = {
    id: s.id,
    masks: (s.masks || []).map(clone), zones: (s.zones || []).map(clone), lines: (s.lines || []).map(clone), rules: (s.rules || []).map(clone),
    width: s.image_width || 1280, height: s.image_height || 720, hasImage: false
  };
  var drawing = null; // {tool: "zone"|"mask"|"line", points: [[x, y], ...]}
  var selected = null; // {list: "zones", index: 2}
  var errors = {}; // "zones.2" -> [messages], "zones" -> [messages]

  var svg = document.getElementById("an-svg");
  var stage = document.getElementById("an-stage");
  var img = document.getElementById("an-background");
  var hint = document.getElementById("an-hint");
  var status = document.getElementById("an-status");

  function clone(o) { return JSON.parse(JSON.stringify(o)); }
  function fmt(t, v) { return String(t).replace(/%\((\w+)\)s/g, function (_, k) { return v[k] == null ? "" : v[k]; }); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k in e && k !== "list") { e[k] = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  // --- The image and its size ---------------------------------------------------------------
  function setSize(w, h) {
    state.width = w; state.height = h;
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    stage.style.aspectRatio = w + " / " + h;
    document.getElementById("an-size").textContent = w + " × " + h + " px";
    render();
  }
  if (config.background) {
    img.onload = function () {
      state.hasImage = true;
      img.hidden = false;
      var old = s.image_width && s.image_height ? s.image_width + "×" + s.image_height : null;
      var now = img.naturalWidth + "×" + img.naturalHeight;
      if (old && old !== now && (state.zones.length || state.lines.length || state.masks.length)) {
        showStatus(fmt(L.sizeChanged, { old: old, "new": now }), "error");
      }
      setSize(img.naturalWidth, img.naturalHeight);
    };
    img.src = config.background + (config.background.indexOf("?") < 0 ? "?" : "&") + "t=" + Date.now();
  } else {
    hint.textContent = L.noSnapshot;
  }
  setSize(state.width, state.height);

  function toImage(event) {
    var rect = svg.getBoundingClientRect();
    var x = (event.clientX - rect.left) * state.width / rect.width;
    var y = (event.clientY - rect.top) * state.height / rect.height;
    return [Math.round(Math.min(Math.max(x, 0), state.width)), Math.round(Math.min(Math.max(y, 0), state.height))];
  }

  // --- Drawing ----------------------------------------------------------------------------------
  var tools = document.querySelectorAll("[data-tool]");
  var finishButton = document.getElementById("an-finish");
  var cancelButton = document.getElementById("an-cancel");

  function setTool(tool) {
    drawing = tool ? { tool: tool, points: [] } : null;
    Array.prototype.forEach.call(tools, function (b) { b.setAttribute("aria-pressed", String(b.dataset.tool === tool)); });
    stage.classList.toggle("drawing", !!tool);
    if (finishButton) { finishButton.disabled = !tool || tool === "line"; cancelButton.disabled = !tool; }
    hint.textContent = tool === "zone" ? L.drawZone : tool === "mask" ? L.drawMask : tool === "line" ? L.drawLine : "";
    render();
  }
  Array.prototype.forEach.call(tools, function (b) {
    b.addEventListener("click", function () { setTool(drawing && drawing.tool === b.dataset.tool ? null : b.dataset.tool); });
  });
  if (finishButton) {
    finishButton.addEventListener("click", finishShape);
    cancelButton.addEventListener("click", function () { setTool(null); });
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && drawing) { setTool(null); }
    if (e.key === "Enter" && drawing && drawing.tool !== "line" && e.target === document.body) { finishShape(); }
  });

  function uniqueName(list, base) {
    var names = {};
    state[list].forEach(function (item) { names[item.name] = true; });
    for (var n = state[list].length + 1; ; n++) { if (!names[base + " " + n]) { return base + " " + n; } }
  }

  svg.addEventListener("click", function (event) {
    if (!drawing || !config.canEdit) { return; }
    if (event.detail > 1) { return; } // the second click of a double-click: the dblclick closes the shape
    drawing.points.push(toImage(event));
    if (drawing.tool === "line" && drawing.points.length === 2) {
      var a = drawing.points[0], b = drawing.points[1];
      if (a[0] === b[0] && a[1] === b[1]) { drawing.points.pop(); return; }
      state.lines.push({ name: uniqueName("lines", L.line.toLowerCase()), points: [a, b], forward: "in", backward: "out" });
      selected = { list: "lines", index: state.lines.length - 1 };
      setTool(null);
      renderLists();
      return;
    }
    render();
  });
  svg.addEventListener("dblclick", function (event) {
    if (drawing && drawing.tool !== "line") { event.preventDefault(); finishShape(); }
  });

  function finishShape() {
    if (!drawing || drawing.tool === "line") { return; }
    if (drawing.points.length < 3) { hint.textContent = L.needThree; return; }
    var list = drawing.tool === "zone" ? "zones" : "masks";
    var item = drawing.tool === "zone"
      ? { name: uniqueName("zones", L.zone.toLowerCase()), kind: "intrusion", polygon: drawing.points }
      : { name: uniqueName("masks", L.mask.toLowerCase()), kind: "privacy", polygon: drawing.points };
    state[list].push(item);
    selected = { list: list, index: state[list].length - 1 };
    setTool(null);
    renderLists();
  }

  // --- Rendering the drawing --------------------------------------------------------------------
  function pointsAttr(points) { return points.map(function (p) { return p[0] + "," + p[1]; }).join(" "); }

  function render() {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    if (!state.hasImage) { svg.appendChild(svgEl("rect", { x: 0, y: 0, width: state.width, height: state.height, fill: "#dfe4ea" })); }
    var stroke = Math.max(2, state.width / 400);
    ["masks", "zones"].forEach(function (list) {
      state[list].forEach(function (item, i) {
        var colour = COLOURS[item.kind] || "#0b3d91";
        var isSel = selected && selected.list === list && selected.index === i;
        var poly = svgEl("polygon", {
          points: pointsAttr(item.polygon || []), fill: colour, "fill-opacity": list === "masks" && item.kind === "privacy" ? 0.6 : 0.25,
          stroke: colour, "stroke-width": isSel ? stroke * 2 : stroke, "data-list": list, "data-index": i, "class": "an-shape"
        });
        if (list === "masks") { poly.setAttribute("stroke-dasharray", stroke * 3 + " " + stroke * 2); }
        svg.appendChild(poly);
        label(item.name, (item.polygon || [[0, 0]])[0], colour);
      });
    });
    state.lines.forEach(function (line, i) {
      var isSel = selected && selected.list === "lines" && selected.index === i;
      drawLine(line, isSel ? stroke * 2.5 : stroke * 1.5);
    });
    if (drawing && drawing.points.length) {
      var colour = drawing.tool === "mask" ? COLOURS.privacy : drawing.tool === "line" ? COLOURS.line : COLOURS.intrusion;
      svg.appendChild(svgEl("polyline", { points: pointsAttr(drawing.points), fill: "none", stroke: colour, "stroke-width": stroke, "class": "an-draft" }));
      drawing.points.forEach(function (p) { svg.appendChild(svgEl("circle", { cx: p[0], cy: p[1], r: stroke * 2, fill: colour })); });
    }
  }

  function label(text, at, colour) {
    var size = Math.max(12, state.width / 60);
    var t = svgEl("text", { x: at[0] + size / 3, y: at[1] - size / 3, fill: "#fff", stroke: colour, "stroke-width": size / 6,
      "paint-order": "stroke", "font-size": size, "font-family": "sans-serif", "pointer-events": "none" });
    t.textContent = text;
    svg.appendChild(t);
  }

  // The forward side is to the right of A→B as seen on screen (y down): direction (-dy, dx).
  function drawLine(line, width) {
    var a = line.points[0], b = line.points[1];
    var colour = COLOURS.line;
    svg.appendChild(svgEl("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: colour, "stroke-width": width, "class": "an-shape" }));
    var dx = b[0] - a[0], dy = b[1] - a[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
    var nx = -dy / len, ny = dx / len;
    var mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
    var arrow = Math.max(24, state.width / 25);
    var tipX = mx + nx * arrow, tipY = my + ny * arrow;
    svg.appendChild(svgEl("line", { x1: mx, y1: my, x2: tipX, y2: tipY, stroke: colour, "stroke-width": width }));
    var head = arrow / 3, ux = dx / len, uy = dy / len;
    svg.appendChild(svgEl("polygon", {
      points: pointsAttr([[tipX + nx * head, tipY + ny * head], [tipX + ux * head * 0.7, tipY + uy * head * 0.7], [tipX - ux * head * 0.7, tipY - uy * head * 0.7]]),
      fill: colour, "class": "an-arrow"
    }));
    label(line.name + " → " + (line.forward || "in"), [tipX, tipY + arrow / 2], colour);
    svg.appendChild(svgEl("circle", { cx: a[0], cy: a[1], r: width * 1.5, fill: colour }));
  }

  // --- Lists of zones, lines, masks -------------------------------------------------------------
  function errorBox(key) {
    var box = el("div", { "class": "an-item-errors" });
    (errors[key] || []).forEach(function (m) { box.appendChild(el("p", { "class": "error", text: m })); });
    return box;
  }

  function renameReferences(list, oldName, newName) {
    if (list === "masks") { return; }
    state.rules.forEach(function (rule) {
      var refs = rule[list];
      if (!refs) { return; }
      rule[list] = refs.map(function (n) { return n === oldName ? newName : n; });
    });
  }

  function nameInput(list, item) {
    var input = el("input", { type: "text", value: item.name, maxLength: 64, "aria-label": L.name, "class": "an-name" });
    input.addEventListener("change", function () {
      var old = item.name;
      item.name = input.value.trim();
      renameReferences(list, old, item.name);
      render(); renderRules();
    });
    return input;
  }

  function kindSelect(item, kinds) {
    var select = el("select", { "aria-label": L.kind, "class": "an-kind" });
    Object.keys(kinds).forEach(function (k) { select.appendChild(el("option", { value: k, text: kinds[k], selected: item.kind === k })); });
    select.addEventListener("change", function () { item.kind = select.value; render(); });
    return select;
  }

  function deleteButton(list, index) {
    var b = el("button", { type: "button", "class": "link an-delete", text: L.delete });
    b.addEventListener("click", function () {
      var removed = state[list].splice(index, 1)[0];
      if (list !== "masks") {
        state.rules.forEach(function (rule) { if (rule[list]) { rule[list] = rule[list].filter(function (n) { return n !== removed.name; }); } });
      }
      selected = null;
      renderLists();
    });
    return b;
  }

  function renderList(list, empty) {
    var ol = document.getElementById("an-" + list);
    ol.innerHTML = "";
    if (!state[list].length) { ol.appendChild(el("li", { "class": "muted", text: empty })); }
    state[list].forEach(function (item, i) {
      var li = el("li", { "class": "an-item", "data-index": i });
      if (selected && selected.list === list && selected.index === i) { li.classList.add("selected"); }
      li.addEventListener("focusin", function () { selected = { list: list, index: i }; render(); });
      var row = el("div", { "class": "an-item-row" });
      row.appendChild(el("span", { "class": "an-swatch", style: "background:" + (list === "lines" ? COLOURS.line : COLOURS[item.kind] || "#0b3d91") }));
      row.appendChild(nameInput(list, item));
      if (list === "zones") { row.appendChild(kindSelect(item, config.zoneKinds)); }
      if (list === "masks") { row.appendChild(kindSelect(item, config.maskKinds)); }
      if (config.canEdit) { row.appendChild(deleteButton(list, i)); }
      li.appendChild(row);
      if (list === "lines") {
        var labels = el("div", { "class": "an-item-row" });
        ["forward", "backward"].forEach(function (side) {
          var input = el("input", { type: "text", value: item[side] || (side === "forward" ? "in" : "out"), maxLength: 64, "class": "an-" + side });
          input.addEventListener("change", function () { item[side] = input.value.trim(); render(); });
          labels.appendChild(el("label", { "class": "an-inline" }, [document.createTextNode(L[side] + " "), input]));
        });
        if (config.canEdit) {
          var swap = el("button", { type: "button", "class": "link", text: L.swap });
          swap.addEventListener("click", function () { item.points.reverse(); render(); });
          labels.appendChild(swap);
        }
        li.appendChild(labels);
      }
      li.appendChild(errorBox(list + "." + i));
      ol.appendChild(li);
    });
    disableIfReadOnly(ol);
  }

  function renderLists() {
    renderList("zones", L.noZones);
    renderList("lines", L.noLines);
    renderList("masks", L.noMasks);
    renderRules();
    render();
  }

  // --- Rules ------------------------------------------------------------------------------------
  var ruleTypes = {};
  config.ruleTypes.forEach(function (t) { ruleTypes[t.type] = t; });

  function checkboxGroup(legend, options, chosen, onChange) {
    var fs = el("fieldset", { "class": "an-checks" }, [el("legend", { text: legend })]);
    options.forEach(function (o) {
      var box = el("input", { type: "checkbox", value: o.value, checked: chosen.indexOf(o.value) >= 0 });
      box.addEventListener("change", function () {
        var picked = Array.prototype.filter.call(fs.querySelectorAll("input"), function (b) { return b.checked; }).map(function (b) { return b.value; });
        onChange(picked);
      });
      fs.appendChild(el("label", {}, [box, document.createTextNode(" " + o.label)]));
    });
    return fs;
  }

  function renderRules() {
    var ol = document.getElementById("an-rules");
    ol.innerHTML = "";
    if (!state.rules.length) { ol.appendChild(el("li", { "class": "muted", text: L.noRules })); }
    state.rules.forEach(function (rule, i) {
      var type = ruleTypes[rule.type] || { label: rule.type, params: [], zones: false, lines: false, classes: null };
      var li = el("li", { "class": "an-rule", "data-index": i });
      var head = el("div", { "class": "an-item-row" }, [el("strong", { text: type.label })]);
      var name = el("input", { type: "text", value: rule.name || rule.type, maxLength: 64, "aria-label": L.name, "class": "an-name" });
      name.addEventListener("change", function () { rule.name = name.value.trim(); });
      head.appendChild(name);
      if (config.canEdit) {
        var del = el("button", { type: "button", "class": "link an-delete", text: L.delete });
        del.addEventListener("click", function () { state.rules.splice(i, 1); renderRules(); });
        head.appendChild(del);
      }
      li.appendChild(head);
      var params = el("div", { "class": "an-params" });
      type.params.forEach(function (p) {
        var value = rule[p.name] != null ? rule[p.name] : p.default;
        var input;
        if (p.kind === "bool") {
          input = el("input", { type: "checkbox", checked: !!value });
          input.addEventListener("change", function () { rule[p.name] = input.checked; });
        } else if (p.kind === "list") {
          input = el("input", { type: "text", value: (value || []).join(", "), "data-param": p.name });
          input.addEventListener("change", function () {
            var items = input.value.split(",").map(function (v) { return v.trim(); }).filter(Boolean);
            if (items.length) { rule[p.name] = items; } else { delete rule[p.name]; }
          });
        } else {
          input = el("input", { type: p.kind === "number" ? "number" : "text", value: value == null ? "" : value, step: p.integer ? 1 : "any", "data-param": p.name });
          if (p.min != null) { input.min = p.min; }
          if (p.max != null) { input.max = p.max; }
          input.addEventListener("change", function () {
            if (input.value === "") { delete rule[p.name]; return; }
            rule[p.name] = p.kind === "number" ? Number(input.value) : input.value;
          });
        }
        var lab = el("label", { "class": "an-param", title: p.help || "" }, [el("span", { text: p.label }), input]);
        params.appendChild(lab);
      });
      if (type.params.length) { li.appendChild(params); }
      if (type.zones) {
        rule.zones = rule.zones || [];
        li.appendChild(checkboxGroup(L.zonesUsed, state.zones.map(function (z) { return { value: z.name, label: z.name }; }), rule.zones,
          function (picked) { rule.zones = picked; }));
      }
      if (type.lines) {
        rule.lines = rule.lines || [];
        li.appendChild(checkboxGroup(L.linesUsed, state.lines.map(function (l) { return { value: l.name, label: l.name }; }), rule.lines,
          function (picked) { rule.lines = picked; }));
      }
      if (type.objects !== false) {
        var classes = rule.classes !== undefined ? rule.classes : type.classes;
        li.appendChild(checkboxGroup(L.classes, config.classes, classes || [], function (picked) { rule.classes = picked.length ? picked : null; }));
      }
      if (type.objects !== false) {
        var anchor = el("select", { "class": "an-anchor" });
        Object.keys(config.anchors).forEach(function (k) { anchor.appendChild(el("option", { value: k, text: config.anchors[k], selected: (rule.anchor || type.anchor) === k })); });
        anchor.addEventListener("change", function () { rule.anchor = anchor.value; });
        li.appendChild(el("label", { "class": "an-param" }, [el("span", { text: L.anchor }), anchor]));
      }
      li.appendChild(errorBox("rules." + i));
      ol.appendChild(li);
    });
    disableIfReadOnly(ol);
  }

  var typeSelect = document.getElementById("an-rule-type");
  if (typeSelect) {
    config.ruleTypes.forEach(function (t) { typeSelect.appendChild(el("option", { value: t.type, text: t.label })); });
    document.getElementById("an-add-rule").addEventListener("click", function () {
      var t = ruleTypes[typeSelect.value];
      var names = state.rules.map(function (r) { return r.name; });
      var name = t.type, n = 2;
      while (names.indexOf(name) >= 0) { name = t.type + " " + n++; }
      var rule = { type: t.type, name: name };
      if (t.zones) { rule.zones = state.zones.length && t.zonesRequired ? [state.zones[0].name] : []; }
      if (t.lines) { rule.lines = state.lines.length ? [state.lines[0].name] : []; }
      state.rules.push(rule);
      renderRules();
    });
  }

  // --- Models, flags, recording -----------------------------------------------------------------
  var modelsBox = document.getElementById("an-models");
  var chosenModels = s.detectors || [];
  config.models.concat(chosenModels.filter(function (m) { return config.models.indexOf(m) < 0; })).forEach(function (name) {
    var box = el("input", { type: "checkbox", value: name, checked: chosenModels.indexOf(name) >= 0, "class": "an-model" });
    var isDefault = config.defaultModels.indexOf(name) >= 0;
    modelsBox.appendChild(el("label", {}, [box, document.createTextNode(" " + name + (isDefault ? " *" : ""))]));
  });
  var flags = {
    live: document.getElementById("an-live"), read_plates: document.getElementById("an-read-plates"),
    detect_faces: document.getElementById("an-detect-faces"), record: document.getElementById("an-record")
  };
  Object.keys(flags).forEach(function (k) { flags[k].checked = !!s[k]; });
  var segment = document.getElementById("an-segment");
  var retention = document.getElementById("an-retention");
  segment.value = s.segment_seconds;
  retention.value = s.retention_days;
  if (!config.facesEnabled) { flags.detect_faces.disabled = true; }

  function disableIfReadOnly(root) {
    if (config.canEdit) { return; }
    Array.prototype.forEach.call(root.querySelectorAll("input, select, button"), function (e) { e.disabled = true; });
  }
  disableIfReadOnly(document.querySelector(".an-models").parentNode);

  // --- Health -----------------------------------------------------------------------------------
  var dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || "vi", {
    timeZone: config.timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });
  function showHealth(h) {
    var cells = {};
    Array.prototype.forEach.call(document.querySelectorAll("[data-health]"), function (dd) { cells[dd.dataset.health] = dd; });
    if (!h) { cells.connected.textContent = L.neverWatched; return; }
    cells.connected.innerHTML = "";
    cells.connected.appendChild(el("span", { "class": "dot status-" + (h.connected ? "online" : "offline") }));
    cells.connected.appendChild(document.createTextNode(h.connected ? L.connected : L.disconnected));
    cells.last_frame_at.textContent = h.last_frame_at ? dateFormat.format(new Date(h.last_frame_at)) : "–";
    cells.fps.textContent = h.fps != null ? Number(h.fps).toFixed(1) : "–";
    cells.lag_s.textContent = h.lag_s != null ? Number(h.lag_s).toFixed(2) + " s" : "–";
    cells.reconnects.textContent = h.reconnects;
    cells.error.textContent = h.error || "–";
    cells.recording.textContent = h.recording ? L.recording : L.notRecording;
    cells.worker.textContent = h.worker || "–";
  }
  showHealth(s.health);
  setInterval(function () {
    if (!state.id || document.hidden) { return; }
    fetch(config.detailUrl.replace("/0/", "/" + state.id + "/"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { showHealth(data.health); } })
      .catch(function () { /* the next tick tries again */ });
  }, 15000);

  // --- Saving -----------------------------------------------------------------------------------
  function showStatus(text, kind) {
    status.textContent = text;
    status.className = "an-status" + (kind ? " " + kind : "");
  }

  function payload() {
    var data = {
      live: flags.live.checked, read_plates: flags.read_plates.checked, detect_faces: flags.detect_faces.checked, record: flags.record.checked,
      detectors: Array.prototype.filter.call(document.querySelectorAll(".an-model"), function (b) { return b.checked; }).map(function (b) { return b.value; }),
      segment_seconds: Number(segment.value), retention_days: Number(retention.value),
      masks: state.masks, zones: state.zones, lines: state.lines, rules: state.rules
    };
    if (state.hasImage) { data.image_width = state.width; data.image_height = state.height; }
    if (!state.id) { data.camera = s.camera; }
    return data;
  }

  function showErrors(body) {
    errors = {};
    var general = [];
    Object.keys(body).forEach(function (field) {
      var messages = Array.isArray(body[field]) ? body[field] : [String(body[field])];
      messages.forEach(function (m) {
        m = String(m);
        var match = /^(masks|zones|lines|rules)\.(\d+)/.exec(m);
        var key = match ? match[1] + "." + match[2] : field;
        (errors[key] = errors[key] || []).push(m);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-errors-for]"), function (box) {
      var key = box.dataset.errorsFor;
      box.innerHTML = "";
      (errors[key] || []).forEach(function (m) { box.appendChild(el("p", { "class": "error", text: m })); });
    });
    var known = { masks: 1, zones: 1, lines: 1, rules: 1, detectors: 1, segment_seconds: 1, retention_days: 1 };
    Object.keys(errors).forEach(function (key) { if (!known[key] && !/^\w+\.\d+$/.test(key)) { general = general.concat(errors[key]); } });
    var box = document.getElementById("an-errors");
    box.innerHTML = "";
    general.forEach(function (m) { box.appendChild(el("p", { text: m })); });
    box.hidden = !general.length;
    renderLists();
  }

  var saveButton = document.getElementById("an-save");
  if (saveButton) {
    saveButton.addEventListener("click", function () {
      var token = document.querySelector("#an-csrf [name=csrfmiddlewaretoken]").value;
      var url = state.id ? config.detailUrl.replace("/0/", "/" + state.id + "/") : config.listUrl;
      saveButton.disabled = true;
      showStatus(L.saving, "");
      fetch(url, {
        method: state.id ? "PATCH" : "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
        body: JSON.stringify(payload())
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) {
            state.id = body.id;
            s = body;
            showErrors({});
            showHealth(body.health);
            showStatus(L.saved, "ok");
          } else if (response.status === 400) {
            showErrors(body);
            showStatus(L.fixErrors, "error");
            var first = document.querySelector("#an-errors:not([hidden]), .an-item-errors .error, .an-field-errors .error");
            if (first) { first.scrollIntoView({ block: "center" }); }
          } else {
            showErrors(body.detail ? { detail: [body.detail] } : {});
            showStatus(fmt(L.failed, { status: response.status }), "error");
          }
        });
      }).catch(function () {
        showStatus(L.offline, "error");
      }).then(function () { saveButton.disabled = false; });
    });
  }

  renderLists();
})();
