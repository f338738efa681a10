"""Form plumbing shared by every admin screen."""
from datetime import datetime

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.filters import convert
from flask_admin.form import DateTimeField
from flask_admin.model.form import converts
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField

from ..timefmt import from_local, to_local


class AdminForm(FlaskForm):
    """Flask-WTF based, so the global CSRFProtect accepts admin POSTs.

    Keeps the edited row in ``_obj`` as Flask-Admin's own BaseForm does: its
    Unique validator compares with it, so a row saved unchanged is not "taken"."""

    def __init__(self, *args, **kwargs):
        self._obj = kwargs.get("obj", args[1] if len(args) > 1 else None)
        super().__init__(*args, **kwargs)


class FormOnlyMixin:
    """A form field the view handles itself; it never writes to the model."""

    def populate_obj(self, obj, name):
        pass


class FormOnlySelectMultipleField(FormOnlyMixin, SelectMultipleField):
    pass


class FormOnlyPasswordField(FormOnlyMixin, PasswordField):
    pass


class LocalDateTimeField(DateTimeField):
    """Shown and typed on the clinic's clock, stored as an aware UTC moment."""

    def process_data(self, value):
        super().process_data(to_local(value).replace(tzinfo=None) if isinstance(value, datetime) else value)

    def populate_obj(self, obj, name):
        setattr(obj, name, from_local(self.data))


class ModelConverter(AdminModelConverter):
    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args, **extra):
        return LocalDateTimeField(**field_args)


def _local_time_filter(base):
    """A datetime filter whose typed value is clinic time, compared in UTC."""

    class LocalTimeFilter(base):
        def clean(self, value):
            cleaned = super().clean(value)
            if isinstance(cleaned, list):
                return [from_local(v) for v in cleaned]
            return from_local(cleaned) if isinstance(cleaned, datetime) else cleaned

    LocalTimeFilter.__name__ = f"Local{base.__name__}"
    return LocalTimeFilter


class FilterConverter(sqla_filters.FilterConverter):
    utc_datetime_filters = tuple(
        f if f is sqla_filters.FilterEmpty else _local_time_filter(f)
        for f in sqla_filters.FilterConverter.datetime_filters
    )

    @convert("utcdatetime")
    def conv_utc_datetime(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in self.utc_datetime_filters]
