"""Showing UTC moments in the clinic's time zone, and reading them back."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import bounds
from .errors import DomainError

# How the clinic types a day (02.12.2026, 2.12.26); URLs carry ISO days.
TYPED_DAYS = ("%d.%m.%Y", "%d.%m.%y")


def clinic_zone():
    return ZoneInfo(current_app.config["CLINIC_TIME_ZONE"])


def to_local(moment):
    """An aware UTC datetime → the same moment on the clinic's clock."""
    return moment.astimezone(clinic_zone()) if moment else None


def from_local(naive):
    """A wall-clock time typed at the clinic → an aware UTC datetime."""
    if naive is None:
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=clinic_zone())
    return naive.astimezone(timezone.utc)


def format_moment(moment):
    return to_local(moment).strftime("%d.%m.%Y %H:%M") if moment else ""


def format_money(amount):
    """12345.5 → "12 345,50"; a template never formats money itself."""
    if amount is None:
        return ""
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",")


def format_span(starts_at, ends_at, zone):
    """A visit's time on its branch's clock (``zone``): "10.03.2027 10:00–10:30"."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%d.%m.%Y %H:%M}"
    return f"{start:%d.%m.%Y %H:%M}–{until}"


def parse_day(value):
    """A day typed as the clinic writes it (02.12.2026, 2.12.26) or as ISO (the URLs); None if none of them."""
    text = str(value or "").strip()
    parsers = [lambda t, form=form: datetime.strptime(t, form).date() for form in TYPED_DAYS]
    for parse in (*parsers, date.fromisoformat):
        try:
            day = parse(text)
        except ValueError:
            continue
        return day if bounds.date_problem(day) is None else None
    return None


def parse_month(value):
    """"2026-11" → date(2026, 11, 1); a DomainError naming ``month`` otherwise."""
    try:
        year, month = (int(part) for part in str(value or "").strip().split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        raise DomainError(_l("Give the month as YYYY-MM."), field="month") from None


def next_month(month):
    """The first day of the month after ``month``'s."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)
