/* The panel's event handlers, delegated from the document.
 *
 * The Content-Security-Policy (stompro/security.py) runs no inline handlers
 * (onclick=, onchange=, onsubmit=, href="javascript:..."), so the templates
 * mark elements with data- attributes instead:
 *
 *   data-confirm="Question?"     on a button or link: asked before the click
 *                                does anything; on a form: before it is sent
 *   data-model-action="name"     a bulk action of a Flask-Admin list
 *   data-inline-add="field-id"   the "Add ..." button of an inline form list
 *   data-autosubmit              a select that sends its form when changed
 *   href="#"                     a link that only opens a menu: never followed
 */
(function () {
  "use strict";

  function closest(event, selector) {
    var target = event.target;
    return target && target.closest ? target.closest(selector) : null;
  }

  // Captured, so a refused confirmation stops the click before anything
  // else sees it (a row would otherwise be deleted without asking).
  document.addEventListener("click", function (event) {
    var element = closest(event, "[data-confirm]");
    if (!element || element.tagName === "FORM") {
      return;
    }
    if (!window.confirm(element.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var action = closest(event, "[data-model-action]");
    if (action) {
      event.preventDefault();
      window.modelActions.execute(action.getAttribute("data-model-action"));
      return;
    }
    var add = closest(event, "[data-inline-add]");
    if (add) {
      event.preventDefault();
      window.faForm.addInlineField(add, add.getAttribute("data-inline-add"));
    }
  });

  // Captured as well: the menus' own handlers stop the click from reaching
  // the document, and "#" would then be followed (a jump and a new history entry).
  document.addEventListener("click", function (event) {
    if (closest(event, "a[href='#']")) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var element = closest(event, "[data-autosubmit]");
    if (element && element.form) {
      element.form.submit();
    }
  });
})();
