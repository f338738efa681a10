/* Date and date-time fields in the clinic's format (dd.mm.yyyy HH:MM), with
 * the calendar in the reader's language, for forms and list filters alike.
 *
 * The fields carry data-role "clinic-date" or "clinic-datetime" (filters add
 * "-range"); Flask-Admin's form.js hands each such role to the converter
 * registered here. The calendar is Flask-Admin's daterangepicker, with one
 * change: it no longer re-reads the field on every key and writes back its
 * own reading (which turned a half-typed "0" into "2000-01-01 00:00:00"),
 * so a person types and pastes freely; the calendar follows the text once it
 * reads as a whole date, and writes into the field only when a day is picked.
 *
 * The language and the button labels come from window.STOMPRO_WORDS (the
 * script /admin-locale/<language>.js, loaded before this one), so that they
 * pass through the panel's translations. */
(function ($) {
  "use strict";
  var words = window.STOMPRO_WORDS || {};
  var language = words.language || "en";
  var SEPARATOR = " — ";
  var FORMATS = { date: "DD.MM.YYYY", datetime: "DD.MM.YYYY HH:mm" };
  var ACCEPTED = {
    date: ["DD.MM.YYYY", "D.M.YYYY", "YYYY-MM-DD"],
    datetime: ["DD.MM.YYYY HH:mm", "D.M.YYYY H:mm", "DD.MM.YYYY HH:mm:ss", "YYYY-MM-DD HH:mm", "YYYY-MM-DD HH:mm:ss",
               "YYYY-MM-DDTHH:mm", "DD.MM.YYYY", "D.M.YYYY"]
  };

  function names(option, count, start) {
    var format = new Intl.DateTimeFormat(language, option);
    var found = [];
    for (var i = 0; i < count; i++) {
      found.push(format.format(start(i)));
    }
    return found;
  }

  function pickerLocale() {
    return {
      applyLabel: words.apply || "Apply",
      cancelLabel: words.cancel || "Cancel",
      fromLabel: words.from || "From",
      toLabel: words.to || "To",
      weekLabel: "#",
      // 2023-01-01 was a Sunday: day names from Sunday on, as the picker wants.
      daysOfWeek: names({ weekday: "short" }, 7, function (i) { return new Date(2023, 0, 1 + i); }),
      monthNames: names({ month: "long" }, 12, function (i) { return new Date(2023, i, 15); }),
      firstDay: language === "ru" ? 1 : 0
    };
  }

  function readMoments(text, kind, range) {
    var parts = range ? text.split(/\s+(?:—|–|-|to)\s+/) : [text];
    if (parts.length !== (range ? 2 : 1)) {
      return null;
    }
    var moments = parts.map(function (part) { return moment(part.trim(), ACCEPTED[kind], true); });
    return moments.every(function (m) { return m.isValid(); }) ? moments : null;
  }

  function follow($el, kind, range) {
    var picker = $el.data("daterangepicker");
    var moments = readMoments($el.val(), kind, range);
    if (!picker || !moments) {
      return;
    }
    picker.startDate = moments[0].clone();
    picker.endDate = (moments[1] || moments[0]).clone();
    picker.oldStartDate = picker.startDate.clone();
    picker.oldEndDate = picker.endDate.clone();
    picker.updateView();  // the calendar turns to the typed month
    picker.updateCalendars();
  }

  function convert($el, role) {
    var match = /^clinic-(date|datetime)(-range)?$/.exec(role || "");
    if (!match) {
      return false;
    }
    var kind = match[1];
    var range = Boolean(match[2]);
    var format = FORMATS[kind];
    $el.attr("autocomplete", "off");
    if (!$el.attr("placeholder")) {
      var shown = kind === "datetime" ? words.dateTimeFormat : words.dateFormat;
      $el.attr("placeholder", range ? shown + SEPARATOR + shown : shown);
    }
    $el.daterangepicker({
      format: format,
      separator: SEPARATOR,
      singleDatePicker: !range,
      showDropdowns: true,
      timePicker: kind === "datetime",
      timePicker12Hour: false,
      timePickerIncrement: 5,
      locale: pickerLocale()
    }, function () {
      $el.trigger("change");
    });
    $el.off("keyup.daterangepicker");
    $el.on("input change", function () { follow($el, kind, range); });
    $el.on("keydown", function (event) {
      if (event.key === "Escape" && $el.data("daterangepicker")) {
        $el.data("daterangepicker").hide();
      }
    });
    $el.on("show.daterangepicker", function () {
      var picker = $el.data("daterangepicker");
      follow($el, kind, range);
      if ($el.val() === "" && picker) {
        var now = moment().seconds(0).milliseconds(0);
        picker.startDate = now.clone();
        picker.endDate = now.clone();
        picker.oldStartDate = now.clone();
        picker.oldEndDate = now.clone();
        picker.updateCalendars();
      }
    });
    return true;
  }

  $(document).on("adminFormReady", function () {
    window.faForm.addFieldConverter(convert);
  });
})(jQuery);
