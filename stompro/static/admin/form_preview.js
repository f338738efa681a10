// The live preview of a form, shared by the template editors: what is typed
// (the form itself, with its CSRF token) goes to the view's preview endpoint
// (the panel's data-url) as it changes, and ``show`` draws the answer — or
// {error: the panel's data-failed} when the server could not be asked.
// Returns the form, or null on a page without one.
window.stomproFormPreview = function (panel, showButton, show) {
  "use strict";
  var form = document.querySelector("form.admin-form");
  var timer = null;

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

  showButton.addEventListener("click", refresh);
  if (form) {
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    if (window.jQuery) {  // Select2's pickers tell jQuery of a change, not the DOM
      window.jQuery(form).on("change", "select", later);
    }
  }
  refresh();
  return form;
};
