// The document template form's preview (admin/form_preview.js): the document
// as it prints, in a sandboxed frame, or what is wrong with the text.
(function () {
  "use strict";
  var panel = document.getElementById("document-preview");
  if (!panel) return;
  var frame = document.getElementById("document-preview-frame");
  var problem = document.getElementById("document-preview-error");
  var PAGE = "<!DOCTYPE html><html><head><meta charset='utf-8'><style>" +
    "body{font:14px/1.4 serif;margin:1.5rem 2rem;color:#212121}h1{font-size:18px;text-align:center}" +
    "h2{font-size:15px}table{width:100%;border-collapse:collapse}td,th{padding:3px;vertical-align:top}" +
    "</style></head><body>";

  function show(answer) {
    problem.hidden = !answer.error;
    problem.textContent = answer.error || "";
    frame.srcdoc = answer.error ? "" : PAGE + answer.html + "</body></html>";
  }

  window.stomproFormPreview(panel, document.getElementById("document-preview-show"), show);
})();
