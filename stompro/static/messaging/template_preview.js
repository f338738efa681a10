// The message template form's preview (admin/form_preview.js): the message
// as the patient reads it, with its length and SMS parts, or what is wrong
// with it; the subject's field is hidden while SMS is chosen.
(function () {
  "use strict";
  var panel = document.getElementById("template-preview");
  if (!panel) return;
  var body = document.getElementById("template-preview-body");
  var subject = document.getElementById("template-preview-subject");
  var size = document.getElementById("template-preview-size");
  var problem = document.getElementById("template-preview-error");

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

  var form = window.stomproFormPreview(panel, document.getElementById("template-preview-show"), show);
  if (form && window.jQuery) {
    window.jQuery(form).on("change", "select", subjectForChannel);
  }
  subjectForChannel();
})();
