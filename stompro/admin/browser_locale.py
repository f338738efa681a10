"""The words the panel's scripts show — the calendar's buttons, the pickers'
messages (select2's are English only) — served as a small script per
language, so that they pass through the panel's translations like any page."""
import json

from flask import Blueprint, Response, abort
from flask_babel import force_locale
from flask_babel import gettext as _

from ..org.models import LANGUAGES

bp = Blueprint("browser_locale", __name__)


def browser_words():
    """What the scripts say, in the current language."""
    return {
        "apply": _("Apply"),
        "cancel": _("Cancel"),
        "from": _("From"),
        "to": _("To"),
        "noMatches": _("Nothing found"),
        "searching": _("Searching…"),
        "loadMore": _("Loading more…"),
        "loadingFailed": _("Could not load the list; check the connection and try again."),
        "typeMore": _("Type at least %(count)s more characters", count="{count}"),
        "deleteSome": _("Delete %(count)s characters", count="{count}"),
        "tooMany": _("At most %(count)s can be chosen", count="{count}"),
        "typeToSearch": _("Start typing to search"),
        "dateFormat": _("dd.mm.yyyy"),
        "dateTimeFormat": _("dd.mm.yyyy hh:mm"),
    }


@bp.get("/admin-locale/<language>.js")
def script(language):
    if language not in LANGUAGES:
        abort(404)
    with force_locale(language):
        words = {**browser_words(), "language": language}
    body = "window.STOMPRO_WORDS = " + json.dumps(words, ensure_ascii=False) + ";\n" + SELECT2_MESSAGES
    response = Response(body, mimetype="application/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


# select2 3.5 (Flask-Admin's) reads its messages from $.fn.select2.defaults.
SELECT2_MESSAGES = """(function ($) {
  if (!$ || !$.fn.select2) { return; }
  var words = window.STOMPRO_WORDS;
  function count(text, n) { return text.replace("{count}", n); }
  $.extend($.fn.select2.defaults, {
    formatNoMatches: function () { return words.noMatches; },
    formatSearching: function () { return words.searching; },
    formatLoadMore: function () { return words.loadMore; },
    formatAjaxError: function () { return words.loadingFailed; },
    formatInputTooShort: function (input, min) { return count(words.typeMore, min - input.length); },
    formatInputTooLong: function (input, max) { return count(words.deleteSome, input.length - max); },
    formatSelectionTooBig: function (limit) { return count(words.tooMany, limit); }
  });
})(window.jQuery);
"""
