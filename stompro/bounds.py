"""The bounds every input is held to, whatever path it comes by (a form, the
API, the CLI): ids and counts within a 32-bit integer, money within
Numeric(12, 2), text without control characters and not longer than its
column (or TEXT_LIMIT), dates within a sane range. A value outside them is a
message naming the field, never a database error."""
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from .errors import DomainError

MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)
TEXT_LIMIT = 10_000  # characters in a free-text column without its own length
EARLIEST_DATE = date(1900, 1, 1)
YEARS_AHEAD = 5  # appointments, shifts, due dates: within five years either way

# Control characters other than tab and line breaks (which multi-line text keeps).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def bounded_id(value):
    """``value`` as a row id (1 … MAX_INT), or None when it cannot be one."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_INT else None


def int_problem(value, minimum=MIN_INT, maximum=MAX_INT):
    if value is None:
        return None
    if value < minimum or value > maximum:
        return _l("Enter a whole number from %(low)s to %(high)s.", low=minimum, high=maximum)
    return None


def money_problem(value):
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return _l("Enter an amount of money.")
    if not amount.is_finite() or abs(amount) > MAX_MONEY:
        return _l("The amount is too large (at most %(max)s).", max="9 999 999 999,99")
    if amount != amount.quantize(Decimal("0.01")):
        return _l("An amount has at most two digits after the point.")
    return None


def text_problem(value, limit=TEXT_LIMIT, multiline=True):
    if not value:
        return None
    pattern = _CONTROL if multiline else _CONTROL_SINGLE_LINE
    if pattern.search(value):
        return _l("The text contains control characters; retype it.")
    if len(value) > limit:
        return _l("At most %(count)s characters.", count=limit)
    return None


def date_problem(value, earliest=EARLIEST_DATE, latest=None):
    """A date (or the date of a moment) outside [earliest, latest]; latest
    defaults to YEARS_AHEAD years from today."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    latest = latest or date.today() + timedelta(days=366 * YEARS_AHEAD)
    if day < earliest or day > latest:
        return _l(
            "Enter a date from %(earliest)s to %(latest)s.",
            earliest=earliest.strftime("%d.%m.%Y"), latest=latest.strftime("%d.%m.%Y"),
        )
    return None


def moment_problem(value):
    """A moment of the clinic's work: within YEARS_AHEAD years of today."""
    if value is None:
        return None
    today = date.today()
    return date_problem(value, today - timedelta(days=366 * YEARS_AHEAD), today + timedelta(days=366 * YEARS_AHEAD))


def birth_date_problem(value, oldest_years=130):
    if value is None:
        return None
    today = date.today()
    if value > today:
        return _l("The birth date cannot be in the future.")
    return date_problem(value, today.replace(year=today.year - oldest_years), today)


def require_span(starts_at, ends_at, longest, too_long, start_field="starts_at", end_field="ends_at"):
    """A time span of the clinic's work: both ends within YEARS_AHEAD years,
    the end after the start, and no longer than ``longest`` (else ``too_long``)."""
    require(moment_problem(starts_at), start_field)
    require(moment_problem(ends_at), end_field)
    if ends_at <= starts_at:
        raise DomainError(_l("The end must be after the start."), field=end_field)
    if ends_at - starts_at > longest:
        raise DomainError(too_long, field=end_field)


def require(problem, field):
    """Raise DomainError(problem, field) when there is a problem."""
    if problem is not None:
        raise DomainError(problem, field=field)
