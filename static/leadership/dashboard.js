/* The leadership dashboard: draws the charts, and runs the what-if planner.
 *
 * Chart figures come from the page (json_script "dashboard-figures"); money arrives as decimal
 * strings and is turned into numbers only for drawing. The what-if planner posts the plan to the
 * preview endpoint, which writes nothing, and shows the answer on the scenario's card and in the
 * cash and money-flow charts; "Save to scenario" keeps it and comes back to the page on the same
 * scenario, saying what was saved where; "Discard" puts the page back.
 *
 * On a narrow screen (a phone) the charts get smaller type, tighter margins and fewer ticks, so
 * legends, axis labels and plots do not run into each other. Plotly's toolbar is hidden: its
 * buttons covered labels, and the table and the CSV download give the figures.
 */
(function () {
  "use strict";

  var figures = JSON.parse(document.getElementById("dashboard-figures").textContent);
  var state = JSON.parse(document.getElementById("what-if-state").textContent);
  var config = { responsive: true, displaylogo: false, displayModeBar: false };
  var NARROW = 560; // px of chart width below which the phone layout applies

  function toNumbers(values) {
    if (!Array.isArray(values)) return values;
    return values.map(function (value) {
      return typeof value === "string" && value !== "" && !isNaN(value) ? Number(value) : value;
    });
  }

  function prepare(trace) {
    var copy = Object.assign({}, trace);
    copy.y = toNumbers(copy.y);
    if (Array.isArray(copy.customdata)) copy.customdata = toNumbers(copy.customdata);
    return copy;
  }

  function chartElement(slug) {
    return document.querySelector('[data-chart="' + slug + '"]');
  }

  function isNarrow(element) {
    return element.clientWidth > 0 && element.clientWidth < NARROW;
  }

  // The figure's layout, narrowed for a phone: smaller type, tighter margins, fewer ticks.
  function layoutFor(slug, element) {
    var layout = figures[slug].layout;
    if (!isNarrow(element)) return Object.assign({}, layout, { autosize: true });
    var narrowed = Object.assign({}, layout, {
      autosize: true,
      font: Object.assign({}, layout.font, { size: 11 }),
      legend: Object.assign({}, layout.legend, { font: { size: 11 } }),
      margin: { l: 46, r: layout.yaxis2 ? 42 : 10, t: 8, b: 36 },
    });
    ["xaxis", "yaxis", "yaxis2"].forEach(function (name) {
      if (!layout[name]) return;
      var axis = Object.assign({}, layout[name]);
      if (name === "xaxis") axis.nticks = Math.min(axis.nticks || 6, 6);
      if (axis.title && axis.title.text) axis.title = Object.assign({}, axis.title, { font: { size: 11 } });
      narrowed[name] = axis;
    });
    if (layout.annotations) narrowed.annotations = withNoteSize(layout.annotations, 10);
    return narrowed;
  }

  function draw(slug) {
    var element = chartElement(slug);
    var figure = figures[slug];
    if (!element || !figure || !window.Plotly) return;
    element.dataset.narrow = String(isNarrow(element));
    window.Plotly.newPlot(element, figure.data.map(prepare), layoutFor(slug, element), config);
  }

  Object.keys(figures).forEach(draw);

  // Crossing the phone width (a rotated phone, a resized window) redraws with the other layout.
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      eachChart(function (element, slug) {
        if (element.dataset.narrow === String(isNarrow(element))) return;
        element.dataset.narrow = String(isNarrow(element));
        window.Plotly.react(element, element.data, layoutFor(slug, element), config);
      });
    }, 150);
  });

  // --- printing: tables open, charts redrawn at the printed size --------------------------------
  // Half an A4 page's width, small type: the legend and axes stay legible beside their table.
  function printLayout(slug) {
    var layout = figures[slug].layout;
    return {
      width: 340,
      height: 165,
      "font.size": 7,
      "legend.font.size": 6,
      margin: { l: 40, r: layout.yaxis2 ? 34 : 8, t: 4, b: 28 },
      annotations: withNoteSize(layout.annotations, 6),
    };
  }
  // The chart's notes (the comfort floor, today) at another type size; none when it has none.
  function withNoteSize(annotations, size) {
    return (annotations || []).map(function (note) {
      return Object.assign({}, note, { font: Object.assign({}, note.font, { size: size }) });
    });
  }
  function screenLayout(slug, element) {
    var layout = layoutFor(slug, element);
    return {
      width: null,
      height: null,
      autosize: true,
      "font.size": layout.font.size,
      "legend.font.size": layout.legend.font ? layout.legend.font.size : null,
      margin: layout.margin,
      annotations: layout.annotations || [],
    };
  }
  function eachChart(callback) {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      if (element.data) callback(element, element.getAttribute("data-chart"));
    });
  }

  var openedForPrint = [];
  function beforePrint() {
    document.querySelectorAll("details.chart-table:not([open])").forEach(function (details) {
      details.open = true;
      openedForPrint.push(details);
    });
    eachChart(function (element, slug) { window.Plotly.relayout(element, printLayout(slug)); });
    // A table wider than its half page is scaled down to fit rather than cut off.
    document.querySelectorAll(".chart-table table").forEach(function (table) {
      var room = table.parentElement.clientWidth;
      table.style.zoom = table.scrollWidth > room ? String(room / table.scrollWidth) : "";
    });
  }
  function afterPrint() {
    openedForPrint.forEach(function (details) { details.open = false; });
    openedForPrint = [];
    eachChart(function (element, slug) { window.Plotly.relayout(element, screenLayout(slug, element)); });
    document.querySelectorAll(".chart-table table").forEach(function (table) { table.style.zoom = ""; });
  }
  window.addEventListener("beforeprint", beforePrint);
  window.addEventListener("afterprint", afterPrint);

  // --- what-if planning -------------------------------------------------------------------------
  var form = document.getElementById("what-if-form");
  if (!form) return;
  var scenarioSelect = document.getElementById("what-if-scenario");
  var list = document.getElementById("what-if-list");
  var savedList = document.getElementById("what-if-saved");
  var errorsBox = document.getElementById("what-if-errors");
  var resultLine = document.getElementById("what-if-result");
  var saveButton = document.getElementById("what-if-save");
  var discardButton = document.getElementById("what-if-discard");
  var fields = ["kind", "label", "amount", "benefits_rate", "recurrence", "start_on", "end_on", "grant", "months"];

  var plan = { items: [], removed: [] };
  var originals = {}; // scenario slug -> the card's HTML before any what-if
  var flowsOriginal = figures.flows ? figures.flows.data : null;
  var fanOriginal = figures.odds ? figures.odds.data : null;
  var busy = 0;

  function csrfToken() {
    return form.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

  function scenario() {
    return scenarioSelect.value;
  }

  function scenarioName(slug) {
    var match = state.scenarios.filter(function (item) { return item.slug === slug; })[0];
    return match ? match.name : slug;
  }

  function readItem() {
    var item = {};
    fields.forEach(function (name) {
      var input = document.getElementById("what-if-" + name);
      if (input && input.value !== "") item[name] = input.value;
    });
    return item;
  }

  var MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // "2025-02-01" -> "1 Feb 2025", as the page writes days.
  function day(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return parts ? Number(parts[3]) + " " + MONTH_NAMES[Number(parts[2]) - 1] + " " + parts[1] : iso;
  }

  // "150000" -> "150,000.00 USD", as the page writes money (the decimal string, never a float).
  function money(amount) {
    var parts = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount).trim());
    if (!parts) return String(amount);
    var whole = parts[2].replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts[1] + whole + "." + (parts[3] || "").padEnd(2, "0") + " " + state.currency;
  }

  function describe(item) {
    var text = item.label || item.kind;
    if (item.amount) text += ", " + money(item.amount) + (item.kind === "hire" ? " a year" : "");
    if (item.start_on) text += " from " + day(item.start_on);
    if (item.months) text += ", " + item.months + " months";
    return text.replace(/\s+/g, " ").trim();
  }

  function payload(items, removed) {
    return {
      scenario: scenario(),
      adjustments: items.concat(removed.map(function (id) { return { remove: id }; })),
    };
  }

  function post(url, body) {
    busy += 1;
    form.setAttribute("aria-busy", "true");
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (json) {
        return { ok: response.ok, status: response.status, json: json };
      });
    }).finally(function () {
      busy -= 1;
      if (!busy) form.removeAttribute("aria-busy");
    });
  }

  function clearFieldErrors() {
    form.querySelectorAll(".field-error").forEach(function (node) {
      node.textContent = "";
      node.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && !/_error$/.test(id);
      });
      if (described.length) input.setAttribute("aria-describedby", described.join(" "));
      else input.removeAttribute("aria-describedby");
    });
  }

  // Show a message under its field when it is about the what-if being added (``number``), else
  // in the box above the plan. Returns whether it found its field.
  function showOnField(field, message, number) {
    var match = /^What-if (\d+): ([\s\S]*)$/.exec(message);
    if (!match || Number(match[1]) !== number) return false;
    var input = document.getElementById("what-if-" + field);
    var slot = document.getElementById("what-if-" + field + "_error");
    // A field the chosen kind does not show (its wrapper hidden) cannot carry the message.
    if (!input || !slot || slot.parentElement.closest("[hidden]")) return false;
    slot.textContent = slot.textContent ? slot.textContent + " " + match[2] : match[2];
    slot.hidden = false;
    input.setAttribute("aria-invalid", "true");
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(slot.id) < 0) described.unshift(slot.id);
    input.setAttribute("aria-describedby", described.join(" "));
    return true;
  }

  function showErrors(errors, number) {
    errorsBox.textContent = "";
    clearFieldErrors();
    if (!errors) {
      errorsBox.hidden = true;
      return;
    }
    var ul = document.createElement("ul");
    var first = null;
    Object.keys(errors).forEach(function (field) {
      errors[field].forEach(function (message) {
        if (showOnField(field, message, number)) {
          first = first || document.getElementById("what-if-" + field);
          return;
        }
        var li = document.createElement("li");
        li.textContent = (field === "__all__" ? "" : field.replace("_", " ") + ": ") + message;
        ul.appendChild(li);
      });
    });
    if (ul.children.length) {
      errorsBox.appendChild(ul);
      errorsBox.hidden = false;
    } else {
      errorsBox.hidden = true;
    }
    if (first) first.focus();
  }

  function renderPlan() {
    list.textContent = "";
    if (!plan.items.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "No what-ifs yet.";
      list.appendChild(none);
    }
    plan.items.forEach(function (item, index) {
      var li = document.createElement("li");
      var span = document.createElement("span");
      span.textContent = describe(item);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.textContent = "Remove";
      button.setAttribute("aria-label", "Remove what-if: " + describe(item));
      button.addEventListener("click", function () {
        var items = plan.items.slice();
        items.splice(index, 1);
        preview(items, plan.removed);
      });
      li.appendChild(span);
      li.appendChild(button);
      list.appendChild(li);
    });
    var changed = plan.items.length > 0 || plan.removed.length > 0;
    if (saveButton) saveButton.disabled = !changed;
    discardButton.disabled = !changed;
  }

  function renderSaved() {
    savedList.textContent = "";
    var mine = state.adjustments.filter(function (item) { return item.scenario === scenario(); });
    if (!mine.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "None.";
      savedList.appendChild(none);
    }
    mine.forEach(function (adjustment) {
      var li = document.createElement("li");
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = plan.removed.indexOf(adjustment.id) >= 0;
      box.addEventListener("change", function () {
        var removed = plan.removed.filter(function (id) { return id !== adjustment.id; });
        if (box.checked) removed.push(adjustment.id);
        preview(plan.items, removed);
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" Leave out: " + adjustment.label + " (" + adjustment.kind + ", from " + day(adjustment.start_on) + ")"));
      li.appendChild(label);
      savedList.appendChild(li);
    });
  }

  function updateCard(slug, card) {
    var element = document.getElementById("runway-" + slug);
    if (!element) return;
    if (!(slug in originals)) {
      originals[slug] = {
        html: element.innerHTML,
        className: element.className,
        state: element.getAttribute("data-state"),
      };
    }
    element.querySelectorAll("[data-field]").forEach(function (node) {
      var key = node.getAttribute("data-field");
      if (key in card) node.textContent = card[key];
    });
    element.classList.toggle("below-comfort", !!card.below_comfort);
    element.classList.remove("state-red", "state-amber", "state-green");
    element.classList.add("state-" + card.state);
    element.setAttribute("data-state", card.state);
    var warning = element.querySelector(".card-warning");
    if (warning) warning.hidden = !(card.warnings && card.warnings.length);
    var comfort = element.querySelector(".comfort");
    if (comfort) comfort.classList.toggle("warn", !!card.below_comfort);
    (card.indicators || []).forEach(function (indicator) {
      var node = element.querySelector('[data-indicator="' + indicator.name + '"]');
      if (!node) return;
      node.className = "indicator status-" + indicator.status;
      node.querySelector(".indicator-value").textContent = indicator.display;
      node.querySelector(".indicator-status").textContent = indicator.status_label;
      node.querySelector(".sentence").textContent = indicator.sentence;
    });
    element.classList.add("is-what-if");
    element.querySelector(".what-if-badge").hidden = false;
  }

  function restoreCards() {
    Object.keys(originals).forEach(function (slug) {
      var element = document.getElementById("runway-" + slug);
      element.innerHTML = originals[slug].html;
      element.className = originals[slug].className;
      element.setAttribute("data-state", originals[slug].state);
    });
    originals = {};
  }

  function setWhatIfTrace(trace) {
    var element = chartElement("cash");
    if (!element || !element.data) return;
    var data = element.data.filter(function (existing) { return !(existing.meta && existing.meta.what_if); });
    if (trace) data.push(prepare(trace));
    window.Plotly.react(element, data, element.layout, config);
  }

  function setFlows(traces) {
    var element = chartElement("flows");
    if (!element || !element.data || !traces) return;
    window.Plotly.react(element, traces.map(prepare), element.layout, config);
  }

  // The fan chart shows the default scenario: a what-if on it redraws the fan from its draws.
  function setFan(traces) {
    var element = chartElement("odds");
    if (!element || !element.data || !traces) return;
    window.Plotly.react(element, traces.map(prepare), element.layout, config);
  }

  function discard() {
    plan = { items: [], removed: [] };
    restoreCards();
    setWhatIfTrace(null);
    if (flowsOriginal) setFlows(flowsOriginal);
    if (fanOriginal) setFan(fanOriginal);
    resultLine.textContent = "";
    showErrors(null);
    renderPlan();
    renderSaved();
  }

  // ``adding``: the number of the what-if being added (its errors go on its fields), if any.
  function preview(items, removed, adding) {
    if (!items.length && !removed.length) {
      discard();
      return Promise.resolve(true);
    }
    return post(form.dataset.previewUrl, payload(items, removed)).then(function (answer) {
      if (!answer.ok) {
        showErrors(answer.json.errors || { __all__: ["The preview failed (" + answer.status + ")."] }, adding);
        return false;
      }
      showErrors(null);
      plan = { items: items, removed: removed };
      var before = originals[answer.json.scenario] ? null : document.querySelector("#runway-" + answer.json.scenario + " .months");
      var was = before ? before.textContent : null;
      updateCard(answer.json.scenario, answer.json.card);
      setWhatIfTrace(answer.json.trace);
      if (answer.json.scenario === state.default) {
        setFlows(answer.json.flows);
        setFan(answer.json.fan);
      }
      var count = items.length + removed.length;
      resultLine.textContent =
        "With " + count + " change" + (count === 1 ? "" : "s") + ", " + scenarioName(answer.json.scenario) +
        ": " + answer.json.card.months_display + (was ? " (was " + was + ")" : "") + ". Not saved.";
      renderPlan();
      renderSaved();
      return true;
    }).catch(function () {
      showErrors({ __all__: ["The preview could not reach the server."] });
      return false;
    });
  }

  // Only the fields that mean something for the chosen kind are shown.
  var FIELDS_OF_KIND = {
    hire: ["label", "amount", "benefits_rate", "start_on", "end_on"],
    inflow: ["label", "amount", "recurrence", "start_on", "end_on"],
    outflow: ["label", "amount", "recurrence", "start_on", "end_on"],
    delay: ["label", "grant", "months", "start_on"],
  };
  var kindSelect = document.getElementById("what-if-kind");
  function showFieldsOfKind() {
    var shown = FIELDS_OF_KIND[kindSelect.value] || fields;
    fields.forEach(function (name) {
      if (name === "kind") return;
      var wrapper = form.querySelector(".field-" + name);
      var visible = shown.indexOf(name) >= 0;
      if (wrapper) wrapper.hidden = !visible;
      if (!visible) document.getElementById("what-if-" + name).value = "";
    });
  }
  kindSelect.addEventListener("change", function () {
    clearFieldErrors();
    showFieldsOfKind();
  });
  showFieldsOfKind();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var items = plan.items.concat([readItem()]);
    preview(items, plan.removed, items.length).then(function (ok) {
      if (ok) document.getElementById("what-if-label").value = "";
    });
  });

  scenarioSelect.addEventListener("change", function () {
    discard();
  });

  discardButton.addEventListener("click", discard);

  if (saveButton) {
    saveButton.addEventListener("click", function () {
      saveButton.disabled = true;
      post(form.dataset.saveUrl, payload(plan.items, plan.removed)).then(function (answer) {
        if (!answer.ok) {
          showErrors(answer.json.errors || { __all__: ["Saving failed (" + answer.status + ")."] });
          saveButton.disabled = false;
          return;
        }
        // Back to the page on the same scenario, which says what was saved where.
        resultLine.textContent = answer.json.message + " Reloading the figures…";
        var target = new URL(answer.json.redirect, window.location.href);
        var here = new URL(window.location.href);
        if (target.pathname + target.search === here.pathname + here.search) {
          window.location.reload(); // the same address: only a reload fetches the saved figures
        } else {
          window.location.assign(target.href);
        }
      });
    });
  }

  renderPlan();
  renderSaved();
})();
