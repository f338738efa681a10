"""Form plumbing shared by every admin screen: the base form, the clinic's
date and time fields, the filters that read them, and the bounds every
column's field is held to."""
import re
from datetime import datetime, time

from babel.dates import get_day_names
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model import filters as base_filters
from flask_admin.model.filters import convert
from flask_admin.model.form import converts
from flask_babel import lazy_gettext as _l
import flask_babel
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from flask_wtf.i18n import translations as wtf_translations
from sqlalchemy import Date, Integer, Numeric, String, Text
from wtforms import BooleanField, DateField, DateTimeField, DecimalField, SelectMultipleField, TimeField
from wtforms.validators import ValidationError
from wtforms.widgets import TextInput

from .. import bounds
from ..db import UTCDateTime
from ..timefmt import from_local, to_local

DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]
DATETIME_FORMATS = ["%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
RANGE_SEPARATORS = (" — ", " – ", " - ", " to ")


# Messages Flask-Admin's fields raise through WTForms that WTForms' own
# catalog lacks; the panel's catalog has them.
FIELD_MESSAGES_WTFORMS_LACKS = (_l("Not a valid choice"),)


class FormMessages:
    """WTForms' messages in the reader's language: WTForms' catalog first,
    the panel's for what WTForms lacks."""

    # The catalogs are asked directly: WTForms fills in the values itself,
    # and flask_babel's gettext would format the message first.
    def gettext(self, string):
        answer = wtf_translations.gettext(string)
        return answer if answer != string else flask_babel.get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        answer = wtf_translations.ngettext(singular, plural, n)
        if answer not in (singular, plural):
            return answer
        return flask_babel.get_translations().ungettext(singular, plural, n)


FORM_MESSAGES = FormMessages()


class AdminForm(FlaskForm):
    """Flask-WTF based, so the global CSRFProtect accepts admin POSTs.

    Keeps the edited row in ``_obj`` as Flask-Admin's own BaseForm does: its
    Unique validator compares with it, so a row saved unchanged is not "taken"."""

    class Meta:
        def get_translations(self, form):
            return FORM_MESSAGES

    def __init__(self, *args, **kwargs):
        self._obj = kwargs.get("obj", args[1] if len(args) > 1 else None)
        super().__init__(*args, **kwargs)


class FormOnlyMixin:
    """A form field the view handles itself; it never writes to the model."""

    def populate_obj(self, obj, name):
        pass


class FormOnlyBooleanField(FormOnlyMixin, BooleanField):
    pass


# -- the clinic's dates and times ------------------------------------------------


class ClinicInput(TextInput):
    """A text box that clinic_dates.js turns into the calendar of ``role``."""

    def __init__(self, role, placeholder):
        super().__init__()
        self.role = role
        self.placeholder = placeholder

    def __call__(self, field, **kwargs):
        kwargs.setdefault("data-role", self.role)
        kwargs.setdefault("placeholder", str(self.placeholder))
        kwargs.setdefault("autocomplete", "off")
        return super().__call__(field, **kwargs)


class TypedFormat:
    """A field read from typed text, whose complaint names the format
    expected. (Flask-Admin's templates show only plain-string errors, so the
    translated message is made a string when it is raised.)"""

    formats = ()
    expected = None

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", list(self.formats))
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(self.expected)) from None


class ClinicDateField(TypedFormat, DateField):
    """dd.mm.yyyy (ISO accepted when pasted)."""

    widget = ClinicInput("clinic-date", _l("dd.mm.yyyy"))
    formats = DATE_FORMATS
    expected = _l("Enter the date as dd.mm.yyyy.")


class LocalDateTimeField(TypedFormat, DateTimeField):
    """dd.mm.yyyy HH:MM on the clinic's clock, stored as an aware UTC moment."""

    widget = ClinicInput("clinic-datetime", _l("dd.mm.yyyy hh:mm"))
    formats = DATETIME_FORMATS
    expected = _l("Enter the date and time as dd.mm.yyyy HH:MM.")

    def process_data(self, value):
        self.stored = value if isinstance(value, datetime) else None
        super().process_data(to_local(value).replace(tzinfo=None) if self.stored else value)

    def populate_obj(self, obj, name):
        setattr(obj, name, self.moment())

    def moment(self):
        """The typed moment in UTC; the stored one when the form shows it to
        the minute and it was left as shown (saving a row unchanged changes
        nothing, seconds included)."""
        shown = to_local(self.stored).replace(tzinfo=None, second=0, microsecond=0) if self.stored else None
        if shown is not None and self.data == shown:
            return self.stored
        return from_local(self.data)


class ClinicTimeField(TypedFormat, TimeField):
    """HH:MM, typed."""

    widget = TextInput()
    formats = TIME_FORMATS
    expected = _l("Enter the time as HH:MM.")

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"placeholder": _l("hh:mm"), "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)


class MoneyField(DecimalField):
    """An amount as a clinic writes it: "1 500,50" or "1500.50"; shown with
    a decimal comma. (A text box: a number box would refuse the comma and
    the space a person types.)"""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("places", 2)
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:.2f}".replace(".", ",") if self.data is not None else ""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [re.sub(r"[\s\u00a0\u202f]", "", valuelist[0]).replace(",", ".")]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter an amount such as 1 500,00."))) from None


# -- bounds ---------------------------------------------------------------------------


class WithinBounds:
    """Refuses a value ``problem(value)`` finds fault with, naming the reason."""

    def __init__(self, problem):
        self.problem = problem

    def __call__(self, form, field):
        problem = self.problem(field.data) if field.data not in (None, "") else None
        if problem is not None:
            raise ValidationError(str(problem))


def column_bound(column):
    """The bound a form field for ``column`` must hold, or None."""
    kind = column.type
    if column.name == "birth_date":
        return WithinBounds(bounds.birth_date_problem)
    if isinstance(kind, UTCDateTime):
        return WithinBounds(bounds.moment_problem)
    if isinstance(kind, Date):
        return WithinBounds(bounds.date_problem)
    if isinstance(kind, Numeric):
        return WithinBounds(bounds.money_problem)
    if isinstance(kind, Integer) and not column.primary_key:
        return WithinBounds(bounds.int_problem)
    if isinstance(kind, Text):
        return WithinBounds(bounds.text_problem)
    if isinstance(kind, String):
        limit = kind.length or bounds.TEXT_LIMIT
        return WithinBounds(lambda value: bounds.text_problem(value, limit, multiline=False))
    return None


class ModelConverter(AdminModelConverter):
    """Clinic formats for dates and times, and every column's bounds. (The
    methods keep Flask-Admin's names: its converters are found by name, and
    a differently named one would lose to the parent's.)"""

    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args, **extra):
        return LocalDateTimeField(**field_args)

    @converts("Date")
    def convert_date(self, field_args, **extra):
        return ClinicDateField(**field_args)

    @converts("Time")
    def convert_time(self, field_args, **extra):
        return ClinicTimeField(**field_args)

    @converts("Numeric")
    def handle_decimal_types(self, column, field_args, **extra):
        return MoneyField(**field_args)

    def convert(self, model, mapper, name, prop, field_args, hidden_pk):
        field = super().convert(model, mapper, name, prop, field_args, hidden_pk)
        if field is not None and hasattr(prop, "direction") and hasattr(field, "kwargs") and not prop.uselist:
            field.kwargs["validators"] = [*field.kwargs.get("validators", ()), offered]
            if issubclass(field.field_class, QuerySelectField):
                field.kwargs.setdefault("blank_text", " ")  # an empty choice, not WTForms' "__None"
        columns = getattr(prop, "columns", None)
        if field is not None and columns and hasattr(field, "kwargs"):
            column = columns[0]
            bound = column_bound(column)
            if bound is not None:
                field.kwargs["validators"] = [*field.kwargs.get("validators", ()), bound]
            if column.nullable and isinstance(column.type, String):
                field.kwargs["filters"] = [*field.kwargs.get("filters", ()), blank_to_none]
        return field


def offered(form, field):
    """The row a picker or a list was sent is the one it holds: an id it would
    not offer (another branch's, a deleted row, 10**20) is refused, never
    dropped to blank or replaced by a default."""
    raw = (field.raw_data or [""])[0]
    if raw in ("", "__None"):
        return
    if field.data is None or str(getattr(field.data, "id", "")) != str(raw).strip():
        raise ValidationError(field.gettext("Not a valid choice."))


def blank_to_none(value):
    """An empty box stores nothing (None), as the row had before: saving a
    row unchanged must not turn None into ""."""
    return value if value not in ("",) else None


# -- filters ----------------------------------------------------------------------------


def _read_moment(text, with_time, end_of_day=False):
    """A typed date (or date and time); a day alone, where a moment is
    wanted, means its start — or its end, for the end of a range."""
    for pattern in DATETIME_FORMATS if with_time else DATE_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return from_local(moment) if with_time else moment.date()
    if with_time:
        day = _read_moment(text, False)
        moment = datetime.combine(day, time.max if end_of_day else time.min).replace(microsecond=0)
        return from_local(moment)
    raise ValueError(text)


def _split_range(text):
    for separator in RANGE_SEPARATORS:
        if separator in text:
            return text.split(separator, 1)
    raise ValueError(text)


def _clinic_filter(base):
    """``base`` reading what a person types in the clinic's format and clock."""
    ranged = issubclass(base, (base_filters.BaseDateBetweenFilter, base_filters.BaseDateTimeBetweenFilter))
    with_time = issubclass(base, (base_filters.BaseDateTimeFilter, base_filters.BaseDateTimeBetweenFilter))

    class ClinicFilter(base):
        expected = {
            (False, False): _l("Enter a day as dd.mm.yyyy."),
            (False, True): _l("Enter two days as dd.mm.yyyy — dd.mm.yyyy."),
            (True, False): _l("Enter a day as dd.mm.yyyy, or a day and time as dd.mm.yyyy hh:mm."),
            (True, True): _l("Enter two days (or days and times) joined by “ — ”, such as 01.12.2026 — 07.12.2026."),
        }[with_time, ranged]

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # The role clinic_dates.js gives its calendar (the base sets Flask-Admin's own).
            self.data_type = f"clinic-{'datetime' if with_time else 'date'}{'-range' if ranged else ''}"

        def clean(self, value):
            if ranged:
                start, end = _split_range(value)
                return [_read_moment(start, with_time), _read_moment(end, with_time, end_of_day=True)]
            return _read_moment(value, with_time)

        def validate(self, value):
            try:
                cleaned = self.clean(value)
            except ValueError:
                return False
            moments = cleaned if ranged else [cleaned]
            return all(bounds.date_problem(m) is None for m in moments)

    ClinicFilter.__name__ = f"Clinic{base.__name__}"
    return ClinicFilter


def _clinic_filters(filters):
    return tuple(f if f is sqla_filters.FilterEmpty else _clinic_filter(f) for f in filters)


def _bounded(filters, problem):
    """Number filters whose typed values stay within the column's range
    (a 30-digit id would otherwise reach the database and fail there)."""

    def bounded(base):
        class BoundedFilter(base):
            def validate(self, value):
                if not super().validate(value):
                    return False
                numbers = self.clean(value)
                numbers = numbers if isinstance(numbers, list) else [numbers]
                return all(problem(n) is None for n in numbers)

        BoundedFilter.__name__ = f"Bounded{base.__name__}"
        return BoundedFilter

    return tuple(f if f is sqla_filters.FilterEmpty else bounded(f) for f in filters)


class FilterConverter(sqla_filters.FilterConverter):
    date_filters = _clinic_filters(sqla_filters.FilterConverter.date_filters)
    clinic_datetime_filters = _clinic_filters(sqla_filters.FilterConverter.datetime_filters)
    int_filters = _bounded(sqla_filters.FilterConverter.int_filters, bounds.int_problem)
    float_filters = _bounded(sqla_filters.FilterConverter.float_filters, bounds.money_problem)

    @convert("utcdatetime")
    def conv_utc_datetime(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in self.clinic_datetime_filters]


class WeekdayBoxes:
    """Seven inline checkboxes, Monday first (Flask-Admin's form-control class left off)."""

    def __call__(self, field, **kwargs):
        boxes = []
        for value, label, checked, _ in field.iter_choices():
            box_id = f"{field.id}-{value}"
            boxes.append(
                f'<div class="custom-control custom-checkbox custom-control-inline">'
                f'<input type="checkbox" class="custom-control-input" name="{escape(field.name)}" value="{value}" '
                f'id="{escape(box_id)}"{" checked" if checked else ""}>'
                f'<label class="custom-control-label" for="{escape(box_id)}">{escape(label)}</label></div>'
            )
        return Markup(f'<div class="weekday-boxes" id="{escape(field.id)}">{"".join(boxes)}</div>')


class WeekdaysField(SelectMultipleField):
    """Weekdays ticked as boxes, stored as ISO digits: "135" is Monday,
    Wednesday and Friday; none ticked is stored as nothing."""

    widget = WeekdayBoxes()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("choices", None)
        # The column's text bound does not apply: only the seven choices get through.
        validators = [check for check in validators or () if not isinstance(check, WithinBounds)]
        super().__init__(label, validators, choices=_weekday_choices, **kwargs)

    def process_data(self, value):
        self.data = [digit for digit in (value or "") if digit in WEEKDAY_DIGITS]

    def populate_obj(self, obj, name):
        setattr(obj, name, "".join(sorted(set(self.data or ()))) or None)


WEEKDAY_DIGITS = "1234567"


def _weekday_choices():
    """(ISO digit, the day's short name in the reader's language), Monday first."""
    names = get_day_names("abbreviated", locale=flask_babel.get_locale())
    return [(digit, names[int(digit) - 1]) for digit in WEEKDAY_DIGITS]


def weekday_names(digits):
    """"135" → "Mon, Wed, Fri" in the reader's language; nothing → ""."""
    names = dict(_weekday_choices())
    return ", ".join(names[digit] for digit in digits or "" if digit in names)
