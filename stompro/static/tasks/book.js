/* The task book: a result button opens the one-step dialog with the fields
   that result needs (a reason to refuse, a time to call again); the server
   records the call and answers with the book again. */
(function () {
  "use strict";

  var dialog = document.getElementById("task-call");
  if (!dialog) {
    return;
  }
  var form = document.getElementById("task-call-form");

  var error = document.getElementById("task-call-error");
  var FIELDS = {reason: "reason", call_back_at: "call_back_at", text: "text", note: "note"};

  function open(button) {
    var result = button.dataset.taskResult;
    form.reset();
    error.classList.add("d-none");
    form.querySelectorAll(".is-invalid").forEach(function (field) { field.classList.remove("is-invalid"); });
    var action = result === "instead" ? form.dataset.insteadAction : form.dataset.action;
    form.action = action.replace(/\/0\/(call|instead)$/, "/" + button.dataset.taskId + "/$1");
    form.elements.result.value = result;
    form.elements.reason.required = result === "refused";  // asked by the browser before the server
    form.elements.call_back_at.required = result === "call_back";
    dialog.querySelector(".modal-title").textContent = button.textContent.trim();
    var submit = form.querySelector("button[type=submit]");
    submit.textContent = result === "instead" ? submit.dataset.send : submit.dataset.record;
    dialog.querySelector("[data-task-patient]").textContent = button.dataset.patient || "";
    dialog.querySelectorAll("[data-for]").forEach(function (part) {
      part.classList.toggle("d-none", part.dataset.for.split(" ").indexOf(result) < 0);
    });
    window.jQuery(dialog).modal("show");
  }

  document.getElementById("task-book").addEventListener("click", function (event) {
    var button = event.target.closest("[data-task-result]");
    if (button) {
      open(button);
    }
  });

  // The server refused what was sent: the dialog opens again with what was typed and why.
  if (dialog.dataset.retry) {
    var retry = JSON.parse(dialog.dataset.retry);
    var button = document.querySelector('[data-task-result="' + retry.result + '"][data-task-id="' + retry.task + '"]');
    if (button) {
      open(button);
      Object.keys(FIELDS).forEach(function (name) {
        if (retry.values[name]) {
          form.elements[name].value = retry.values[name];
        }
      });
      error.textContent = retry.message;
      error.classList.remove("d-none");
      if (FIELDS[retry.field]) {
        form.elements[retry.field].classList.add("is-invalid");
      }
    }
  }
})();
