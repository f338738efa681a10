"""List filters on foreign keys: a list of names to choose from.

Naming a relationship in ``column_filters`` makes Flask-Admin offer a filter
on every column of the related table — a person's password hash included.
Screens filter on the foreign-key column instead, with the choices these
helpers give."""
from flask import has_app_context
from flask_admin.contrib.sqla import filters as sqla_filters
from sqlalchemy import select

from .. import bounds
from ..extensions import db
from ..org.models import Clinic, Staff
from .lookups import staff_condition


class LiveOptions:
    """A filter whose choices, ``options()``, are read anew on every request
    (StomproModelView._get_filter_groups): Flask-Admin reads them once, when
    the view is built, outside any request."""

    def get_options(self, view):
        return super().get_options(view) if has_app_context() else []


class ChoiceFilter(LiveOptions, sqla_filters.IntEqualFilter):
    """``column`` equals one of ``options()`` — (id, label) pairs."""

    def validate(self, value):
        return super().validate(value) and bounds.bounded_id(value) is not None


class TextChoiceFilter(LiveOptions, sqla_filters.FilterEqual):
    """A text column equal to one of ``options()`` — (value, label) pairs."""

    def validate(self, value):
        return bool(value) and len(value) <= 100


def choice_filter(column, label, options):
    return ChoiceFilter(column, label, options=options)


def _rows(query, label=str):
    return [(row.id, label(row)) for row in db.session.execute(query).scalars()]


def staff_filter(column, label, roles=None):
    """The people holding one of ``roles`` if given (those who left too: they are in the history)."""
    return choice_filter(
        column, label,
        lambda: _rows(
            select(Staff).where(*staff_condition(roles, active_only=False)).order_by(Staff.last_name, Staff.first_name)
        ),
    )


def clinic_filter(column, label):
    return choice_filter(column, label, lambda: _rows(select(Clinic).order_by(Clinic.name)))


def rows_filter(column, label, model, order_by):
    """Rows of a small reference table (conditions, specialties …)."""
    return choice_filter(column, label, lambda: _rows(select(model).order_by(order_by)))
