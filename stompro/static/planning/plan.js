/* The plan screen: every action is a JSON POST; the server answers with the
   redrawn header and variants (totals included), which replace the old ones
   without a page reload, or with 422 {"error"} shown next to the action.
   No money or date is computed here. */
(function () {
  "use strict";

  var page = document.getElementById("plan-page");
  if (!page) {
    return;
  }
  var base = page.dataset.baseUrl;
  var message = document.getElementById("plan-message");

  function post(path, payload) {
    return fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": page.dataset.csrf, Accept: "application/json" },
      body: JSON.stringify(payload || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          return Promise.reject({ message: body.error || page.dataset.failed, body: body });
        }
        return body;
      });
    }, function () {
      return Promise.reject({ message: page.dataset.failed, body: {} });
    });
  }

  var notice = document.getElementById("plan-notice");

  function redraw(answer) {
    notice.classList.toggle("d-none", !answer.notice);
    notice.textContent = answer.notice || "";
    document.getElementById("plan-header").innerHTML = answer.header;
    Object.keys(answer.variants || {}).forEach(function (id) {
      var holder = document.getElementById("variant-" + id);
      if (holder) {
        holder.innerHTML = answer.variants[id];
      }
    });
  }

  function showError(text, where) {
    var box = where || message;
    box.textContent = text;
    box.classList.remove("d-none");
  }

  function clearError(where) {
    (where || message).classList.add("d-none");
  }

  /* Run an action; ``dialog`` (a modal form) shows its own errors and is
     closed on success. */
  function act(path, payload, dialog, button) {
    var errorBox = dialog ? dialog.querySelector(".plan-dialog-error") : null;
    clearError(errorBox);
    clearError();
    if (button) {
      button.disabled = true;
    }
    return post(path, payload).then(function (answer) {
      redraw(answer);
      if (dialog) {
        window.jQuery(dialog).modal("hide");
      }
    }, function (error) {
      showError(error.message, errorBox);
    }).then(function () {
      if (button) {
        button.disabled = false;
      }
    });
  }

  function closest(el, selector) {
    return el.closest ? el.closest(selector) : null;
  }

  // --- clicks anywhere on the page (fragments are redrawn, so delegate) -----

  page.addEventListener("click", function (event) {
    var target = event.target;
    var button = closest(target, "button");
    if (!button) {
      return;
    }
    var stage = closest(button, "[data-stage]");
    var item = closest(button, "[data-item]");

    if (button.dataset.planAction) {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
        return;
      }
      act("/" + button.dataset.planAction, { tier: button.dataset.tier }, null, button);
    } else if (button.dataset.chartShow) {
      var charts = closest(button, ".plan-charts");
      charts.dataset.showing = button.dataset.chartShow;
      charts.querySelectorAll("[data-chart-show]").forEach(function (b) {
        b.classList.toggle("active", b === button);
      });
    } else if (button.dataset.stageMove) {
      act("/stages/" + stage.dataset.stage + "/move", { direction: button.dataset.stageMove }, null, button);
    } else if (button.hasAttribute("data-explanation-edit")) {
      stage.querySelector("[data-explanation-form]").classList.remove("d-none");
      stage.querySelector("[data-explanation-text]").classList.add("d-none");
      button.classList.add("d-none");
      stage.querySelector("[data-explanation-form] textarea").focus();
    } else if (button.hasAttribute("data-explanation-cancel")) {
      stage.querySelector("[data-explanation-form]").classList.add("d-none");
      stage.querySelector("[data-explanation-text]").classList.remove("d-none");
      stage.querySelector("[data-explanation-edit]").classList.remove("d-none");
    } else if (button.hasAttribute("data-explanation-save")) {
      var text = stage.querySelector("[data-explanation-form] textarea").value;
      act("/stages/" + stage.dataset.stage, { explanation: text }, null, button);
    } else if (button.hasAttribute("data-item-move")) {
      openMove(item);
    } else if (button.hasAttribute("data-item-remove")) {
      openRemove(item);
    } else if (button.hasAttribute("data-item-add")) {
      openAdd(stage, button.dataset.stageCaption);
    } else if (button.hasAttribute("data-plan-booking")) {
      openBooking();
    }
  });

  // --- narrow screens: one variant at a time, chosen by tabs ----------------

  document.querySelectorAll("[data-variant-tab]").forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      var id = tab.dataset.variantTab;
      document.querySelectorAll("[data-variant-tab]").forEach(function (t) { t.classList.toggle("active", t === tab); });
      document.querySelectorAll("[data-variant-column]").forEach(function (column) {
        var shown = column.dataset.variantColumn === id;
        column.classList.toggle("d-none", !shown);
        column.classList.toggle("d-lg-block", !shown);
      });
    });
  });

  // --- add a service ------------------------------------------------------------

  var addDialog = document.getElementById("plan-add-item");
  var addForm = document.getElementById("plan-add-item-form");
  var search = document.getElementById("plan-service-search");
  var serviceSelect = document.getElementById("plan-service");

  function openAdd(stage, caption) {
    addForm.reset();
    filterServices("");
    addForm.elements.stage_id.value = stage.dataset.stage;
    addDialog.querySelector("[data-stage-caption]").textContent = caption;
    clearError(addDialog.querySelector(".plan-dialog-error"));
    window.jQuery(addDialog).modal("show");
  }

  function filterServices(query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    serviceSelect.querySelectorAll("optgroup").forEach(function (group) {
      var any = false;
      group.querySelectorAll("option").forEach(function (option) {
        var text = option.textContent.toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !match;
        any = any || match;
      });
      group.hidden = !any;
    });
  }

  search.addEventListener("input", function () { filterServices(search.value); });
  search.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "Enter") {
      var first = serviceSelect.querySelector("option:not([hidden])");
      if (first) {
        event.preventDefault();
        first.selected = true;
        serviceSelect.focus();
      }
    }
  });
  serviceSelect.addEventListener("change", function () {
    var option = serviceSelect.selectedOptions[0];
    var mouth = option && option.dataset.scope === "mouth";
    addForm.elements.tooth.disabled = mouth;
    addForm.elements.surfaces.disabled = mouth || (option && option.dataset.scope === "tooth");
  });
  window.jQuery(addDialog).on("shown.bs.modal", function () { search.focus(); });

  addForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var form = addForm.elements;
    act("/items", {
      stage_id: Number(form.stage_id.value),
      service_id: form.service_id.value,
      tooth: form.tooth.disabled ? null : form.tooth.value,
      surfaces: form.surfaces.disabled ? "" : form.surfaces.value,
      quantity: form.quantity.value,
      self_paid: form.self_paid.checked
    }, addDialog, addForm.querySelector("[type=submit]"));
  });

  // --- dialogs about one service (move, remove) --------------------------------

  function itemCaption(item) {
    var tooth = item.querySelector(".plan-item-tooth").textContent.trim();
    return (tooth && tooth !== "—" ? tooth + " · " : "") + item.querySelector("[data-item-name]").textContent;
  }

  function openItemDialog(dialog, form, item) {
    form.elements.item_id.value = item.dataset.item;
    dialog.querySelector("[data-item-caption]").textContent = itemCaption(item);
    clearError(dialog.querySelector(".plan-dialog-error"));
    window.jQuery(dialog).modal("show");
  }

  /* Submitting the dialog posts ``payload()`` to /items/<id>/<action>. */
  function sendItemDialog(dialog, form, action, payload) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      act("/items/" + form.elements.item_id.value + "/" + action, payload(), dialog, form.querySelector("[type=submit]"));
    });
  }

  // --- move a service to another visit of its variant ------------------------

  var moveDialog = document.getElementById("plan-move-item");
  var moveForm = document.getElementById("plan-move-item-form");

  /* The choice of visits is read from the variant on the page, so the page
     does not repeat every visit under every service. */
  function openMove(item) {
    var own = closest(item, "[data-stage]");
    var select = moveForm.elements.stage_id;
    select.innerHTML = "";
    closest(item, "[data-variant-id]").querySelectorAll("[data-stage]").forEach(function (stage) {
      if (stage !== own) {
        var option = document.createElement("option");
        option.value = stage.dataset.stage;
        option.textContent = stage.dataset.stageNumber + " · " + stage.querySelector("[data-stage-title]").textContent.trim();
        select.appendChild(option);
      }
    });
    openItemDialog(moveDialog, moveForm, item);
  }

  sendItemDialog(moveDialog, moveForm, "move", function () {
    return { stage_id: Number(moveForm.elements.stage_id.value) };
  });

  // --- remove a service -------------------------------------------------------

  var removeDialog = document.getElementById("plan-remove-item");
  var removeForm = document.getElementById("plan-remove-item-form");

  function openRemove(item) {
    removeForm.reset();
    var mandatory = item.dataset.mandatory === "true";
    removeDialog.querySelector("[data-mandatory-note]").classList.toggle("d-none", !mandatory);
    removeForm.elements.justification.required = false;  // the server explains what is missing
    openItemDialog(removeDialog, removeForm, item);
  }

  sendItemDialog(removeDialog, removeForm, "remove", function () {
    return { justification: removeForm.elements.justification.value };
  });

  // --- book the chosen variant's visits: preview, then book what was shown ------

  var bookingDialog = document.getElementById("plan-booking");
  var bookingForm = document.getElementById("plan-booking-form");
  var bookingPreview = bookingDialog.querySelector("[data-booking-preview]");
  var bookButton = bookingForm.querySelector("[type=submit]");
  var expected = null;

  function showPreview(answer) {
    bookingPreview.innerHTML = answer.html;
    expected = answer.expect;
    bookButton.disabled = !expected || !expected.length;
  }

  function openBooking() {
    var errorBox = bookingDialog.querySelector(".plan-dialog-error");
    clearError(errorBox);
    bookingPreview.textContent = bookingPreview.dataset.loading;
    bookButton.disabled = true;
    window.jQuery(bookingDialog).modal("show");
    post("/booking/preview").then(showPreview, function (error) {
      bookingPreview.textContent = "";
      showError(error.message, errorBox);
    });
  }

  /* The server books only what the preview showed; if the free time changed
     meanwhile it answers 409 with the new preview, shown for another look. */
  bookingForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var errorBox = bookingDialog.querySelector(".plan-dialog-error");
    clearError(errorBox);
    bookButton.disabled = true;
    post("/booking", { expect: expected }).then(function (answer) {
      redraw(answer);
      window.jQuery(bookingDialog).modal("hide");
    }, function (error) {
      if (error.body.html) {
        showPreview(error.body);
      } else {
        bookButton.disabled = false;
      }
      showError(error.message, errorBox);
    });
  });

  // --- decline --------------------------------------------------------------------

  var declineDialog = document.getElementById("plan-decline");
  var declineForm = document.getElementById("plan-decline-form");
  declineForm.addEventListener("submit", function (event) {
    event.preventDefault();
    act("/decline", { reason: declineForm.elements.reason.value }, declineDialog, declineForm.querySelector("[type=submit]"));
  });
}());
