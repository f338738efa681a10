/* The chart page: select teeth and surfaces, record a condition, show a
   tooth's history. The server renders the odontogram; after a change it
   sends the redrawn chart, which replaces the old one (no page reload). */
(function () {
  "use strict";

  var page = document.getElementById("chart-page");
  if (!page) {
    return;
  }
  var editable = page.dataset.editable === "true";
  var state = document.getElementById("chart-state");
  var historyPanel = document.getElementById("tooth-history");
  // tooth number → Set of surface letters; "" stands for the whole tooth
  var selection = new Map();
  var historyRequests = 0;

  function byId(id) {
    return document.getElementById(id);
  }

  // --- history side panel ---------------------------------------------------

  function showHistory(tooth) {
    state.querySelectorAll(".tooth.active").forEach(function (g) { g.classList.remove("active"); });
    var group = state.querySelector('.tooth[data-tooth="' + tooth + '"]');
    if (group) {
      group.classList.add("active");
    }
    var request = ++historyRequests;  // only the latest click fills the panel
    fetch(page.dataset.historyUrl + tooth + "/panel", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        if (request === historyRequests) {
          historyPanel.innerHTML = html;
        }
      })
      .catch(function () {
        if (request === historyRequests) {
          historyPanel.textContent = "—";
        }
      });
  }

  // --- selection --------------------------------------------------------------

  function select(tooth, surface, adding) {
    var surfaces = selection.get(tooth);
    var already = surfaces && surfaces.has(surface);
    if (!adding) {
      var only = already && selection.size === 1 && surfaces.size === 1;
      selection.clear();
      if (!only) {
        selection.set(tooth, new Set([surface]));
      }
    } else if (already) {
      surfaces.delete(surface);
      if (!surfaces.size) {
        selection.delete(tooth);
      }
    } else if (surface === "" || !surfaces || surfaces.has("")) {
      selection.set(tooth, new Set([surface]));  // whole tooth and surfaces exclude each other
    } else {
      surfaces.add(surface);
    }
    paintSelection();
  }

  function paintSelection() {
    state.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
    selection.forEach(function (surfaces, tooth) {
      surfaces.forEach(function (surface) {
        var selector = surface === ""
          ? '.tooth[data-tooth="' + tooth + '"]'
          : '.surface[data-tooth="' + tooth + '"][data-surface="' + surface + '"]';
        var el = state.querySelector(selector);
        if (el) {
          el.classList.add("selected");
        }
      });
    });
    if (editable) {
      describeSelection();
    }
  }

  function describeSelection() {
    var label = byId("chart-selection");
    var parts = [];
    selection.forEach(function (surfaces, tooth) {
      var letters = Array.from(surfaces).join("");
      parts.push(tooth + " " + (letters || "(" + label.dataset.whole + ")"));
    });
    label.textContent = parts.length ? parts.join(", ") : label.dataset.empty;
    updateRecordButton();
  }

  function updateRecordButton() {
    byId("chart-record").disabled = !selection.size || !byId("chart-condition").value;
  }

  // --- recording --------------------------------------------------------------

  function findingsToRecord() {
    var option = byId("chart-condition").selectedOptions[0];
    var wholeTooth = option.dataset.scope === "tooth";
    var note = byId("chart-note").value.trim();
    var findings = [];
    selection.forEach(function (surfaces, tooth) {
      findings.push({
        tooth: Number(tooth),
        surfaces: wholeTooth ? "" : Array.from(surfaces).join(""),
        condition: option.value,
        note: note || null
      });
    });
    return findings;
  }

  function showMessage(text, kind) {
    var box = byId("chart-message");
    box.className = "mt-2 small text-" + kind;
    box.textContent = text;
  }

  function explain(body, findings) {
    var lines = [body.error || ""];
    Object.keys(body.errors || {}).forEach(function (field) {
      var match = /^findings\[(\d+)\]/.exec(field);
      var finding = match ? findings[Number(match[1])] : null;
      lines.push((finding ? finding.tooth + ": " : "") + body.errors[field]);
    });
    return lines.filter(Boolean).join(" ");
  }

  function record() {
    var findings = findingsToRecord();
    var button = byId("chart-record");
    button.disabled = true;
    fetch(page.dataset.recordUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": page.dataset.csrf
      },
      body: JSON.stringify({ findings: findings, dentition: page.dataset.dentition })
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) {
          showMessage(explain(result.body, findings), "danger");
          updateRecordButton();
          return;
        }
        state.innerHTML = result.body.html;
        var teeth = Array.from(selection.keys());
        selection.clear();
        paintSelection();
        byId("chart-note").value = "";
        showMessage(byId("chart-record").dataset.done || "✓", "success");
        if (teeth.length) {
          showHistory(teeth[teeth.length - 1]);
        }
      })
      .catch(function () {
        showMessage(byId("chart-record").dataset.failed || "!", "danger");
        updateRecordButton();
      });
  }

  // --- wiring ---------------------------------------------------------------

  state.addEventListener("click", function (event) {
    var legendItem = event.target.closest(".odontogram-legend li");
    if (legendItem && editable) {
      byId("chart-condition").value = legendItem.dataset.condition;
      updateRecordButton();
      return;
    }
    var target = event.target.closest("[data-tooth]");
    if (!target || !target.closest(".odontogram")) {
      return;
    }
    var tooth = target.dataset.tooth;
    if (editable) {
      var adding = event.shiftKey || event.ctrlKey || event.metaKey || byId("chart-several").checked;
      select(tooth, target.dataset.surface || "", adding);
    }
    showHistory(tooth);
  });

  if (editable) {
    byId("chart-condition").addEventListener("change", updateRecordButton);
    byId("chart-record").addEventListener("click", record);
    byId("chart-clear").addEventListener("click", function () {
      selection.clear();
      paintSelection();
    });
  }
})();
