/* The schedule board. The grid is drawn by the server (scheduling/board.py);
   this script only opens dialogs, sends each action as a JSON POST and puts
   the grid the server answers in place of the old one, keeping the scroll
   position. It fetches the grid again every minute, unless a block is being
   dragged; dialogs live outside the grid, so a refresh never closes one.
   No date, time or rule is computed here: the server says what is free,
   what may follow and what a move does. */
(function () {
  "use strict";

  var page = document.getElementById("board-page");
  if (!page) {
    return;
  }
  var $ = window.jQuery;
  var base = page.dataset.baseUrl;
  var query = page.dataset.query ? "?" + page.dataset.query : "";
  var holder = document.getElementById("board-grid");
  var canBook = holder.dataset.canBook === "1";
  var message = document.getElementById("board-message");
  var freed = document.getElementById("board-freed");
  var notice = document.getElementById("board-notice");
  var dragging = null;
  var refusedField = null;  // the field the server named in its last refusal
  var NOTICE_KEY = "stompro-board-notice";

  /* Say what was booked; a visit on a day the board does not show opens that day, and is said there. */
  function announce(answer) {
    if (!answer.notice) {
      return;
    }
    if (answer.day && page.dataset.days.split(",").indexOf(answer.day) < 0) {
      window.sessionStorage.setItem(NOTICE_KEY, answer.notice);
      var search = new URLSearchParams(query.replace(/^\?/, ""));
      search.set("day", answer.day);
      window.location.assign(base + "?" + search.toString());
      return;
    }
    show(notice, answer.notice);
  }

  if (window.sessionStorage.getItem(NOTICE_KEY)) {
    notice.textContent = window.sessionStorage.getItem(NOTICE_KEY);
    notice.classList.remove("d-none");
    window.sessionStorage.removeItem(NOTICE_KEY);
  }

  // --- talking to the server ------------------------------------------------

  function answerOf(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (!response.ok) {
        if (body.grid) {
          redraw(body.grid);
        }
        refusedField = body.field || null;
        return Promise.reject(body.error || page.dataset.failed);
      }
      return body;
    });
  }

  function post(path, payload) {
    return fetch(base + path + query, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": page.dataset.csrf, Accept: "application/json" },
      body: JSON.stringify(payload || {})
    }).then(answerOf, function () { return Promise.reject(page.dataset.failed); });
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(answerOf, function () { return Promise.reject(page.dataset.failed); });
  }

  function redraw(html) {
    var scroller = holder.querySelector("[data-board-scroll]");
    var top = scroller ? scroller.scrollTop : 0;
    var left = scroller ? scroller.scrollLeft : 0;
    holder.innerHTML = html;
    scroller = holder.querySelector("[data-board-scroll]");
    if (scroller) {
      scroller.scrollTop = top;
      scroller.scrollLeft = left;
    }
  }

  function refresh() {
    if (dragging) {
      return;
    }
    fetch(page.dataset.gridUrl + query, { credentials: "same-origin" }).then(function (response) {
      if (response.ok) {
        return response.text().then(redraw);
      }
    }).catch(function () { /* the next refresh tries again */ });
  }

  window.setInterval(refresh, (parseInt(page.dataset.refreshSeconds, 10) || 60) * 1000);

  function show(box, text) {
    box.textContent = text;
    box.classList.remove("d-none");
  }

  function hide(box) {
    box.classList.add("d-none");
  }

  /* Run an action from ``dialog``: its errors are shown in it; on success
     the grid is redrawn and the dialog closed. */
  function act(path, payload, dialog) {
    var errorBox = dialog.querySelector(".board-dialog-error");
    hide(errorBox);
    hide(message);
    hide(notice);
    var buttons = dialog.querySelectorAll("button[type=submit], [data-set-status], [data-move-apply]");
    buttons.forEach(function (b) { b.disabled = true; });
    return post(path, payload).then(function (answer) {
      redraw(answer.grid);
      $(dialog).modal("hide");
      if (answer.freed) {
        freed.innerHTML = answer.freed;
        freed.classList.remove("d-none");
      }
      return answer;
    }, function (error) {
      show(errorBox, error);
    }).then(function (answer) {
      buttons.forEach(function (b) { b.disabled = false; });
      if (!answer && !dialog.contains(document.activeElement)) {
        dialog.focus();  // a disabled button dropped the focus: Escape must still reach the dialog
      }
      return answer;
    });
  }

  // --- a visit: its details and actions ----------------------------------------

  var visitDialog = document.getElementById("board-visit");
  var cancelForm = document.getElementById("board-cancel-form");
  var current = null;

  function visitOf(block) {
    return {
      id: block.dataset.visit,
      version: block.dataset.version,
      date: block.closest(".board-column").dataset.date,
      time: block.dataset.time,
      doctor: block.dataset.doctor,
      room: block.dataset.room,
      caption: block.getAttribute("aria-label")
    };
  }

  function openVisit(block) {
    current = visitOf(block);
    visitDialog.querySelector("[data-visit-body]").innerHTML = block.querySelector("template[data-visit-details]").innerHTML;
    visitDialog.querySelector(".modal-title").textContent = current.caption;
    cancelForm.reset();
    cancelForm.classList.add("d-none");
    gateForm.reset();
    gateForm.classList.add("d-none");
    hide(visitDialog.querySelector(".board-dialog-error"));
    $(visitDialog).modal("show");
  }

  visitDialog.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !current) {
      return;
    }
    if (button.dataset.setStatus === "cancelled") {
      cancelForm.classList.remove("d-none");
      cancelForm.elements.reason.focus();
    } else if (button.dataset.setStatus) {
      var status = button.dataset.setStatus;
      act("visits/" + current.id + "/status", { status: status, version: current.version }, visitDialog).then(function (answer) {
        // documents missing in a branch that lets treatment start with a reason: ask for it
        if (!answer && status === "in_chair" && refusedField === "reason") {
          gateForm.classList.remove("d-none");
          gateForm.elements.reason.focus();
        }
      });
    } else if (button.hasAttribute("data-open-move")) {
      $(visitDialog).modal("hide");
      openMove(current, {});
    }
  });

  var gateForm = document.getElementById("board-gate-form");

  gateForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var reason = gateForm.elements.reason.value.trim();
    if (!reason) {
      show(visitDialog.querySelector(".board-dialog-error"), gateForm.dataset.reasonNeeded);
      return;
    }
    act("visits/" + current.id + "/status", { status: "in_chair", reason: reason, version: current.version }, visitDialog);
  });

  cancelForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var reason = cancelForm.elements.reason.value.trim();
    if (!reason) {
      show(visitDialog.querySelector(".board-dialog-error"), page.dataset.reasonNeeded);
      return;
    }
    act("visits/" + current.id + "/status", { status: "cancelled", reason: reason, version: current.version }, visitDialog);
  });

  // --- the patient picker (booking and finding time) ------------------------------

  /* The picker inside ``form``: typing searches by surname, phone or birth
     date; choosing fills the form's patient_id. Returns its chooser. */
  function patientPicker(form, errorBox) {
    var input = form.querySelector("[data-patient-search]");
    var results = form.querySelector("[data-patient-results]");
    var chosenBox = form.querySelector("[data-patient-chosen]");
    var timer = null;

    function choose(id, text) {
      form.elements.patient_id.value = id || "";
      chosenBox.textContent = text || "";
      results.innerHTML = "";
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      var typed = input.value.trim();
      if (typed.length < 2) {
        results.innerHTML = "";
        return;
      }
      timer = window.setTimeout(function () {
        get(base + "patients?q=" + encodeURIComponent(typed)).then(function (answer) {
          results.innerHTML = "";
          if (!answer.patients.length) {
            var none = document.createElement("div");
            none.className = "list-group-item small text-muted";
            none.textContent = page.dataset.nothingFound;
            results.appendChild(none);
          }
          answer.patients.forEach(function (patient) {
            var item = document.createElement("button");
            item.type = "button";
            item.className = "list-group-item list-group-item-action py-1 small";
            item.dataset.patient = patient.id;
            item.setAttribute("role", "option");
            item.textContent = [patient.name, patient.born, patient.phone].filter(Boolean).join(" · ");
            results.appendChild(item);
          });
        }, function (error) {
          show(errorBox, error);
        });
      }, 250);
    });

    results.addEventListener("click", function (event) {
      var item = event.target.closest("[data-patient]");
      if (item) {
        choose(item.dataset.patient, item.textContent);
        input.value = "";
        form.dispatchEvent(new Event("patient-chosen"));
      }
    });

    return { choose: choose, input: input };
  }

  // --- booking free time ------------------------------------------------------------

  var bookDialog = document.getElementById("board-book");
  var bookForm = document.getElementById("board-book-form");
  var bookPicker = patientPicker(bookForm, bookDialog.querySelector(".board-dialog-error"));

  function openBooking(values) {
    bookForm.reset();
    bookPicker.choose(values.patientId, values.patientName);
    bookForm.elements.waiting_entry_id.value = values.waiting || "";
    hide(bookDialog.querySelector(".board-dialog-error"));
    bookForm.elements.day.value = values.date;
    bookForm.elements.time.value = values.time;
    if (values.doctor) {
      bookForm.elements.doctor_id.value = values.doctor;
    }
    if (values.room) {
      bookForm.elements.room_id.value = values.room;
    }
    if (values.duration) {
      bookForm.elements.duration.value = values.duration;
    }
    $(bookDialog).modal("show");
  }

  $(bookDialog).on("shown.bs.modal", function () {
    if (!bookForm.elements.patient_id.value) {
      bookPicker.input.focus();
    }
  });

  bookForm.addEventListener("patient-chosen", function () {
    bookForm.elements.waiting_entry_id.value = "";
  });

  bookForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var form = bookForm.elements;
    if (!form.patient_id.value) {
      show(bookDialog.querySelector(".board-dialog-error"), page.dataset.choosePatient);
      return;
    }
    act("visits", {
      patient_id: form.patient_id.value, doctor_id: form.doctor_id.value, room_id: form.room_id.value,
      day: form.day.value, time: form.time.value, duration: form.duration.value, kind: form.kind.value,
      note: form.note.value, waiting_entry_id: form.waiting_entry_id.value
    }, bookDialog).then(function (answer) {
      if (answer) {
        announce(answer);
      }
    });
  });

  // --- finding a time: the server ranks free placements (scheduling.slots) ------------

  var findDialog = document.getElementById("board-find");
  var findForm = document.getElementById("board-find-form");
  var findResults = document.getElementById("board-find-results");

  var openFind = document.querySelector("[data-open-find]");  // only for those who book

  if (findDialog && openFind) {
    var findError = findDialog.querySelector(".board-dialog-error");
    var findPicker = patientPicker(findForm, findError);

    openFind.addEventListener("click", function () {
      hide(findError);
      $(findDialog).modal("show");
    });

    if (page.dataset.findPatient) {  // opened from a task: find a time for its patient
      findPicker.choose(page.dataset.findPatient, page.dataset.findPatientName);
      $(findDialog).modal("show");
    }

    $(findDialog).on("shown.bs.modal", function () {
      findPicker.input.focus();
    });

    findForm.addEventListener("submit", function (event) {
      event.preventDefault();
      hide(findError);
      var form = findForm.elements;
      var search = new URLSearchParams(query.replace(/^\?/, ""));
      ["patient_id", "specialty_id", "doctor_id", "duration", "from", "to"].forEach(function (name) {
        search.set(name, form[name].value);
      });
      findResults.innerHTML = "";
      get(page.dataset.slotsUrl + "?" + search.toString()).then(function (answer) {
        findResults.innerHTML = answer.slots;
      }, function (error) {
        show(findError, error);
      });
    });

    findResults.addEventListener("click", function (event) {
      var button = event.target.closest("[data-book-slot]");
      if (!button) {
        return;
      }
      var d = button.dataset;
      var patientId = findForm.elements.patient_id.value;
      $(findDialog).modal("hide");
      openBooking({ date: d.date, time: d.time, doctor: d.doctor, room: d.room, duration: d.duration,
                    patientId: patientId, patientName: patientId ? findForm.querySelector("[data-patient-chosen]").textContent : "" });
    });
  }

  // --- moving: a dialog, or a block dropped on another time, doctor, chair or day ---

  var moveDialog = document.getElementById("board-move");
  var moveForm = document.getElementById("board-move-form");
  var preview = document.getElementById("board-move-preview");
  var applyButton = moveDialog.querySelector("[data-move-apply]");
  var moving = null;

  function moveTarget() {
    var form = moveForm.elements;
    return { day: form.day.value, time: form.time.value, doctor_id: form.doctor_id.value, room_id: form.room_id.value };
  }

  function openMove(visit, target) {
    moving = { visit: visit, versions: null };
    moveForm.reset();
    preview.innerHTML = "";
    applyButton.disabled = true;
    hide(moveDialog.querySelector(".board-dialog-error"));
    moveDialog.querySelector("[data-move-caption]").textContent = visit.caption;
    moveForm.elements.day.value = target.date || visit.date;
    moveForm.elements.time.value = target.time || visit.time;
    moveForm.elements.doctor_id.value = target.doctor || visit.doctor;
    moveForm.elements.room_id.value = target.room || visit.room;
    $(moveDialog).modal("show");
    if (target.date) {
      showPreview();
    }
  }

  function showPreview() {
    var errorBox = moveDialog.querySelector(".board-dialog-error");
    hide(errorBox);
    applyButton.disabled = true;
    var payload = moveTarget();
    payload.version = moving.visit.version;
    payload.apply = false;
    post("visits/" + moving.visit.id + "/move", payload).then(function (answer) {
      preview.innerHTML = answer.preview;
      moving.versions = answer.versions;
      applyButton.disabled = !answer.can_apply;
    }, function (error) {
      preview.innerHTML = "";
      show(errorBox, error);
    });
  }

  moveDialog.querySelector("[data-move-preview]").addEventListener("click", showPreview);
  moveForm.addEventListener("change", function () {
    applyButton.disabled = true;
    preview.innerHTML = "";
  });

  moveForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!moving || !moving.versions) {
      return;
    }
    var payload = moveTarget();
    payload.version = moving.visit.version;
    payload.apply = true;
    payload.versions = moving.versions;
    act("visits/" + moving.visit.id + "/move", payload, moveDialog).then(function (answer) {
      if (answer) {
        announce(answer);
      }
    });
  });

  holder.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest(".board-block[draggable=true]");
    if (!block) {
      return;
    }
    dragging = visitOf(block);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragging.id);
    block.classList.add("is-dragged");
  });

  holder.addEventListener("dragend", function (event) {
    if (event.target.classList) {
      event.target.classList.remove("is-dragged");
    }
    holder.querySelectorAll(".is-drop-target").forEach(function (cell) { cell.classList.remove("is-drop-target"); });
    dragging = null;
  });

  holder.addEventListener("dragover", function (event) {
    var cell = dragging && event.target.closest && event.target.closest(".board-cell");
    if (cell) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      holder.querySelectorAll(".is-drop-target").forEach(function (c) { if (c !== cell) { c.classList.remove("is-drop-target"); } });
      cell.classList.add("is-drop-target");
    }
  });

  holder.addEventListener("drop", function (event) {
    var cell = dragging && event.target.closest && event.target.closest(".board-cell");
    if (!cell) {
      return;
    }
    event.preventDefault();
    var column = cell.closest(".board-column");
    var visit = dragging;
    dragging = null;
    cell.classList.remove("is-drop-target");
    openMove(visit, {
      date: column.dataset.date,
      time: cell.dataset.time,
      // A doctor's column gives the doctor (and the chair of their shift, when it has one);
      // a chair's column gives the chair, and the visit keeps its doctor.
      doctor: column.dataset.doctor || visit.doctor,
      room: column.dataset.room || cell.dataset.room || visit.room
    });
  });

  // --- clicks on the grid and on the freed-time list ----------------------------------

  function onGrid(event) {
    var block = event.target.closest(".board-block");
    if (block) {
      openVisit(block);
      return;
    }
    var cell = canBook && event.target.closest(".board-cell[data-free]");
    if (cell) {
      openBooking({ date: cell.closest(".board-column").dataset.date, time: cell.dataset.time, doctor: cell.dataset.doctor, room: cell.dataset.room });
    }
  }

  holder.addEventListener("click", onGrid);
  holder.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") {
      if (event.target.closest(".board-block, .board-cell[data-free]")) {
        event.preventDefault();
        onGrid(event);
      }
    }
  });

  freed.addEventListener("click", function (event) {
    var button = event.target.closest("[data-book-waiting]");
    if (button) {
      var d = button.dataset;
      openBooking({ date: d.date, time: d.time, doctor: d.doctor, room: d.room, duration: d.duration,
                    patientId: d.patient, patientName: d.patientName, waiting: d.waiting });
    } else if (event.target.closest("[data-dismiss-freed]")) {
      hide(freed);
    }
  });
})();
