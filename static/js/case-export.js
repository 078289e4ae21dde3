// The export controls of a case page: queue an export, follow its progress, offer the download.
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  if (!form) return;
  var labels = JSON.parse(document.getElementById("export-labels").textContent);
  var box = document.getElementById("export-status");
  var bar = document.getElementById("export-progress");
  var text = document.getElementById("export-text");
  var error = document.getElementById("export-error");
  var link = document.getElementById("export-download");
  var button = document.getElementById("export-start");

  function fill(template, values) {
    // Python-format labels: %(name)s is a value, %% a literal percent sign.
    return template.replace(/%\((\w+)\)s|%%/g, function (match, key) { return key ? values[key] : "%"; });
  }

  function messages(body) {
    if (!body || typeof body !== "object") return "";
    return Object.keys(body).map(function (k) { return [].concat(body[k]).join(" "); }).join(" ");
  }

  function show(job) {
    box.hidden = false;
    bar.setAttribute("aria-valuenow", job.progress);
    bar.firstElementChild.style.width = job.progress + "%";
    error.textContent = "";
    if (job.status === "queued") text.textContent = labels.queued;
    else if (job.status === "running") text.textContent = fill(labels.running, { progress: job.progress });
    else if (job.status === "done") {
      text.textContent = labels.done;
      link.href = job.download;
      link.hidden = false;
      button.disabled = false;
      return false;
    } else {
      text.textContent = labels.failed;
      error.textContent = job.error || "";
      button.disabled = false;
      return false;
    }
    return true;
  }

  function poll(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
      .then(function (job) { if (show(job)) window.setTimeout(function () { poll(url); }, 1000); })
      .catch(function (e) { error.textContent = fill(labels.error, { error: e.message }); window.setTimeout(function () { poll(url); }, 3000); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    link.hidden = true;
    var payload = { reason: form.elements.reason.value, redacted: form.elements.redacted.checked };
    fetch(form.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
      },
      body: JSON.stringify(payload),
    })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(messages(body) || r.status + " " + r.statusText);
          return body;
        });
      })
      .then(function (job) { if (show(job)) poll(form.dataset.jobUrl + job.id + "/"); })
      .catch(function (e) { box.hidden = false; error.textContent = fill(labels.error, { error: e.message }); button.disabled = false; });
  });
})();
