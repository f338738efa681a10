"""Showing UTC moments in the clinic's time zone, and reading them back."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app

from . import bounds

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
