// The document template form's preview: sends what is typed (the form itself,
// with its CSRF token) to the view's preview endpoint and shows the document
// in a sandboxed frame, or what is wrong with the text.
(function () {
  "use strict";
  var panel = document.getElementById("document-preview");
  if (!panel) return;
  var form = document.querySelector("form.admin-form");
  var frame = document.getElementById("document-preview-frame");
  var problem = document.getElementById("document-preview-error");
  var PAGE = "<!DOCTYPE html><html><head><meta charset='utf-8'><style>" +
    "body{font:14px/1.4 serif;margin:1.5rem 2rem;color:#212121}h1{font-size:18px;text-align:center}" +
    "h2{font-size:15px}table{width:100%;border-collapse:collapse}td,th{padding:3px;vertical-align:top}" +
    "</style></head><body>";
  var timer = null;

  function show(answer) {
    problem.hidden = !answer.error;
    problem.textContent = answer.error || "";
    frame.srcdoc = answer.error ? "" : PAGE + answer.html + "</body></html>";
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
    timer = setTimeout(refresh, 500);
  }

  document.getElementById("document-preview-show").addEventListener("click", refresh);
  if (form) {
    form.addEventListener("input", later);
    if (window.jQuery) {  // Select2's pickers tell jQuery of a change, not the DOM
      window.jQuery(form).on("change", "select", later);
    }
  }
  refresh();
})();
