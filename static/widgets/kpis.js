/*
 * opsite KPI widget: fills <span data-opsite-kpi="users.monthly_active">6,500</span> on any page
 * with the live figure from this site's public API. Any key of the answer works, dotted for
 * nesting: communities.active, communities.countries, hubs.active, users.monthly_active,
 * contributions.merged_pull_requests, as_of, ... (see /api/public/docs/).
 *
 * One request per page, however many elements and however many copies of this script; no
 * cookies; no dependency. When the API cannot be reached, each element keeps the text it had.
 *
 *   <script src="https://<this site>/widgets/kpis.js" async></script>
 *
 * data-api on the script element names another KPI address (a proxy, say).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var api = (script && script.getAttribute("data-api")) ||
    (script && script.src ? new URL("/api/v1/public/kpis/", script.src).href : "/api/v1/public/kpis/");
  var shared = (window.__opsiteKpis = window.__opsiteKpis || {});

  function answer() {
    if (!shared[api]) {
      shared[api] = fetch(api, { credentials: "omit", mode: "cors", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("opsite KPIs: HTTP " + response.status);
          return response.json();
        });
    }
    return shared[api];
  }

  function read(figures, path) {
    return path.split(".").reduce(function (value, key) {
      return value !== null && typeof value === "object" && Object.prototype.hasOwnProperty.call(value, key)
        ? value[key] : undefined;
    }, figures);
  }

  function shown(value) {
    if (typeof value === "number") return value.toLocaleString(document.documentElement.lang || undefined);
    if (typeof value === "string") return value;
    return null;
  }

  function fill(figures) {
    var elements = document.querySelectorAll("[data-opsite-kpi]");
    for (var i = 0; i < elements.length; i++) {
      var text = shown(read(figures, elements[i].getAttribute("data-opsite-kpi")));
      if (text !== null) {
        elements[i].textContent = text;
        elements[i].setAttribute("data-opsite-live", "");
      }
    }
  }

  function start() {
    if (!document.querySelector("[data-opsite-kpi]")) return;
    answer().then(fill, function () { /* unreachable: keep the text already there */ });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
