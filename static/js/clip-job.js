// The clip job page while the job runs: poll the API, move the progress bar, reload when it ends.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("clip-config").textContent);
  var bar = document.getElementById("clip-progress");
  var text = document.getElementById("clip-progress-text");
  var cancel = document.getElementById("clip-cancel");
  var labels = config.labels;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function csrf() {
    var input = cancel && cancel.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function show(job) {
    if (["done", "failed", "cancelled"].indexOf(job.status) >= 0) {
      window.location.reload();
      return false;
    }
    bar.setAttribute("aria-valuenow", job.progress);
    bar.firstElementChild.style.width = job.progress + "%";
    if (job.status === "queued") {
      text.textContent = labels.queued;
    } else {
      var frames = (job.summary && job.summary.frames_analysed) || 0;
      text.textContent = fill(labels.progress, { progress: job.progress, frames: frames });
    }
    if (job.cancel_requested) text.textContent = labels.cancelling;
    if (job.model) document.getElementById("clip-model").textContent = job.model;
    return true;
  }

  function poll() {
    fetch(config.job, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
      .then(function (job) { if (show(job)) window.setTimeout(poll, 1000); })
      .catch(function (error) {
        text.textContent = fill(labels.failed, { error: error.message });
        window.setTimeout(poll, 3000);
      });
  }

  if (cancel) {
    cancel.addEventListener("submit", function (event) {
      event.preventDefault();
      cancel.querySelector("button").disabled = true;
      text.textContent = labels.cancelling;
      fetch(config.cancel, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf(), Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
        .then(show)
        .catch(function (error) {
          cancel.querySelector("button").disabled = false;
          text.textContent = fill(labels.failed, { error: error.message });
        });
    });
  }
  poll();
})();
