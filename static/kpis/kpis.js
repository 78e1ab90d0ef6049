/*
 * The /kpis/ page, enhanced: the figures and their tables are already in the HTML; this draws the
 * charts (Plotly's basic bundle, loaded once the charts come near the screen) and adds a "Copy"
 * button to each snippet. Without JavaScript, or if Plotly cannot load, the tables stay open.
 */
(function () {
  "use strict";

  var ACCENT = "#1f5f99";
  var COLORS = ["#1f5f99", "#2e7d32", "#6a3d9a", "#e0a800", "#c62828", "#00838f", "#8a4b08", "#5d6d7e", "#ad1457", "#558b2f"];
  var config = { responsive: true, displaylogo: false, displayModeBar: false };

  function narrow(element) {
    return element.clientWidth < 480;
  }

  function layout(element, extra) {
    var base = {
      margin: { l: narrow(element) ? 44 : 56, r: 12, t: 8, b: 40 },
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1b1f24" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      xaxis: { gridcolor: "#eaeef2" },
      yaxis: { gridcolor: "#eaeef2", rangemode: "tozero", separatethousands: true },
      showlegend: false,
      hovermode: "x unified"
    };
    return Object.assign(base, extra || {});
  }

  var draw = {
    users: function (element, data) {
      return [[{ x: data.x, y: data.y, type: "scatter", mode: "lines", line: { color: ACCENT, width: 2 },
        fill: "tozeroy", fillcolor: "rgba(31,95,153,0.12)", name: "monthly active users",
        hovertemplate: "%{y:,}<extra></extra>" }], layout(element)];
    },
    hubs: function (element, data) {
      return [[{ x: data.x, y: data.y, type: "scatter", mode: "lines", line: { color: "#2e7d32", width: 2 },
        name: "active hubs", hovertemplate: "%{y:,}<extra></extra>" }], layout(element)];
    },
    histogram: function (element, data) {
      // Horizontal bars: the bins' labels read on a phone too.
      return [[{ x: data.hubs, y: data.labels, type: "bar", orientation: "h", marker: { color: ACCENT },
        hovertemplate: "%{y} users: %{x} hubs<extra></extra>" }],
        layout(element, {
          margin: { l: 96, r: 12, t: 8, b: 40 },
          yaxis: { autorange: "reversed", automargin: true },
          xaxis: { gridcolor: "#eaeef2", rangemode: "tozero", title: { text: "hubs" } },
          hovermode: "closest"
        })];
    },
    pull_requests: function (element, data) {
      var traces = data.series.map(function (series, index) {
        return { x: data.x, y: series.y, type: "bar", name: series.name,
          marker: { color: COLORS[index % COLORS.length] } };
      });
      return [traces, layout(element, {
        barmode: "stack",
        // A label every year or so, not one per quarter.
        xaxis: { gridcolor: "#eaeef2", nticks: narrow(element) ? 5 : 9, tickangle: 0 },
        showlegend: true,
        legend: { orientation: "h", y: -0.18, font: { size: 11 } },
        margin: { l: 44, r: 12, t: 8, b: narrow(element) ? 120 : 80 }
      })];
    }
  };

  function drawCharts() {
    var source = document.getElementById("kpis-charts");
    if (!source || !window.Plotly) return;
    var charts = JSON.parse(source.textContent);
    document.querySelectorAll(".chart[data-chart]").forEach(function (figure) {
      var name = figure.getAttribute("data-chart");
      var data = charts[name];
      var plot = figure.querySelector(".plot");
      if (!data || !plot || !draw[name]) return;
      if ((data.x && !data.x.length) || (data.labels && !data.labels.length)) return;
      plot.hidden = false;
      var made = draw[name](plot, data);
      window.Plotly.newPlot(plot, made[0], made[1], config).then(function () {
        var numbers = figure.querySelector("details.numbers");
        if (numbers) numbers.open = false;
      });
    });
  }

  function loadPlotly() {
    var section = document.getElementById("charts");
    if (!section) return;
    var started = false;
    function start() {
      if (started) return;
      started = true;
      var script = document.createElement("script");
      script.src = section.getAttribute("data-plotly");
      script.onload = drawCharts;
      document.head.appendChild(script);
    }
    if (!("IntersectionObserver" in window)) return start();
    var observer = new IntersectionObserver(function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) {
        observer.disconnect();
        start();
      }
    }, { rootMargin: "400px" });
    observer.observe(section);
  }

  function copyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 2000);
        });
      });
    });
  }

  copyButtons();
  loadPlotly();
})();
