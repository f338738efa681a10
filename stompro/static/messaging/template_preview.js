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

  function show(answer) {
    problem.hidden = !answer.error;
    problem.textContent = answer.error || "";
    if (answer.error) return;
    body.textContent = answer.body;
    subject.hidden = !answer.subject;
    subject.textContent = answer.subject || "";
    size.textContent = answer.parts ? fill(panel.dataset.parts, answer) : fill(panel.dataset.length, answer);
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
  }
  refresh();
})();
