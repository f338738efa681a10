// The message template form's preview: sends what is typed (the form itself,
// with its CSRF token) to the view's preview endpoint and shows the message
// as the patient reads it, or what is wrong with it, under the field named.
(function () {
  "use strict";
  var panel = document.getElementById("template-preview");
  if (!panel) return;
  var form = document.querySelector("form.admin-form");
  var body = document.getElementById("template-preview-body");
  var subject = document.getElementById("template-preview-subject");
  var size = document.getElementById("template-preview-size");
  var problem = document.getElementById("template-preview-error");
  var timer = null;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  var values = document.getElementById("template-preview-values");
  var channel = document.getElementById("channel");
  var subjectField = document.getElementById("subject");

  function show(answer) {
    problem.hidden = !answer.error;
    problem.textContent = answer.error || "";
    // what cannot be sent is not shown as if it could
    body.textContent = answer.error ? "" : answer.body;
    subject.hidden = !!answer.error || !answer.subject;
    subject.textContent = answer.error ? "" : answer.subject || "";
    size.textContent = answer.error ? "" : fill(answer.parts ? panel.dataset.parts : panel.dataset.length, answer);
    if (answer.values) {
      values.textContent = fill(values.dataset.label, answer);
    }
  }

  // An SMS has no subject: its field is hidden while SMS is chosen.
  function subjectForChannel() {
    var group = subjectField && subjectField.closest(".form-group");
    if (group && channel) {
      group.hidden = channel.value === "sms";
    }
  }

  function refresh() {
    if (!form) return;
    fetch(panel.dataset.url, {method: "POST", body: new FormData(form), credentials: "same-origin",
                              headers: {Accept: "application/json"}})
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { show({error: panel.dataset.failed}); });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  document.getElementById("template-preview-show").addEventListener("click", refresh);
  if (form) {
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    if (window.jQuery) {  // Select2's pickers tell jQuery of a change, not the DOM
      window.jQuery(form).on("change", "select", function () { later(); subjectForChannel(); });
    }
  }
  subjectForChannel();
  refresh();
})();
