/* A background import's page: poll the job's status, move the progress bar, and show the result
   page when the job is done. Served by the site (the Content-Security-Policy runs no inline script). */
(function () {
  "use strict";
  var page = document.getElementById("import-job");
  if (!page || page.dataset.finished === "true") {
    return;
  }
  var bar = document.getElementById("import-job-progress");
  var count = document.getElementById("import-job-count");
  var state = document.getElementById("import-job-state");
  var url = page.dataset.statusUrl;
  var failures = 0;

  function show(status) {
    if (bar) {
      bar.max = Math.max(status.total, 1);
      bar.value = status.done;
    }
    if (count) {
      count.textContent = status.done.toLocaleString() + " of " + status.total.toLocaleString() + " rows";
    }
    if (state && status.state === "running") {
      state.textContent = status.stage === "preview" ? "checking…" : "importing…";
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (status) {
        failures = 0;
        show(status);
        if (status.finished) {
          window.location.replace(status.url);
        } else {
          window.setTimeout(poll, {{ poll_ms }});
        }
      })
      .catch(function () {
        failures += 1;
        window.setTimeout(poll, Math.min({{ poll_ms }} * (failures + 1), 15000));
      });
  }

  window.setTimeout(poll, {{ poll_ms }});
})();
