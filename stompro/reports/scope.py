"""What a report covers: a range of the branches' own days and a choice of
branches (or the network), and the SQL that puts a UTC moment on a branch's
calendar.

Days are the branch's: "1–31 March" in Moscow starts at 21:00 UTC on
28 February. A moment is bucketed (day, month, weekday, hour) on its
branch's clock. PostgreSQL converts with the branch's time zone itself;
SQLite has no time zones, so there each branch's offset at the start of the
range is used — exact for zones without daylight saving (all of Russia's),
an hour off around midnight on a daylight-saving change elsewhere."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, false, func, literal, or_, select

from .. import bounds
from ..db import utcnow
from ..errors import DomainError
from ..org.models import Clinic
from ..timefmt import to_local

# A report's range is at most this long: a year and a bit, so "last year"
# and "this year so far" both fit and nobody asks for ten years by mistake.
MAX_DAYS = 400


@dataclass(frozen=True)
class Scope:
    first: date  # inclusive
    last: date  # inclusive
    clinics: tuple = field(default=())  # Clinic rows covered
    network: bool = True  # every branch (no choice made)

    @property
    def clinic_ids(self):
        return tuple(clinic.id for clinic in self.clinics)

    @property
    def days(self):
        return (self.last - self.first).days + 1

    def previous(self):
        """The period to compare with. From 1 January over more than a month
        (this year so far): the same days of last year. Whole months: as
        many months just before. Other ranges from a 1st: the same days as
        many months before (1–15 March with 1–15 February). Otherwise the
        same number of days just before."""
        months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        year_so_far = self.first.day == 1 and self.first.month == 1 and months > 1
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1 and not year_so_far:
            return Scope(add_months(self.first, -months), self.first - timedelta(days=1), self.clinics, self.network)
        if self.first.day == 1:
            back = 12 if year_so_far else months
            first = add_months(self.first, -back)
            last = add_months(self.last.replace(day=1), -back)
            last = min(last.replace(day=min(self.last.day, _month_length(last))), self.first - timedelta(days=1))
            return Scope(first, last, self.clinics, self.network)
        return Scope(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.clinics, self.network)

    def bounds(self, clinic):
        """[start, end) of the range as UTC moments on ``clinic``'s clock."""
        zone = ZoneInfo(clinic.time_zone or "UTC")
        start = datetime.combine(self.first, time()).replace(tzinfo=zone).astimezone(timezone.utc)
        end = datetime.combine(self.last + timedelta(days=1), time()).replace(tzinfo=zone).astimezone(timezone.utc)
        return start, end

    def during(self, moment, clinic_id):
        """SQL: ``moment`` falls within the range on the clock of the branch
        ``clinic_id`` (a column) names, and that branch is covered."""
        zones = {}
        for clinic in self.clinics:
            zones.setdefault(self.bounds(clinic), []).append(clinic.id)
        if not zones:
            return false()
        return or_(*(and_(clinic_id.in_(ids), moment >= start, moment < end) for (start, end), ids in zones.items()))

    def covers(self, clinic_id):
        """SQL: the branch column names a covered branch."""
        return clinic_id.in_(self.clinic_ids) if self.clinic_ids else false()

    def local(self, moment, clinic_id, dialect):
        """SQL: ``moment`` as a naive timestamp on its branch's clock."""
        if dialect == "postgresql":
            zones = {clinic.id: clinic.time_zone or "UTC" for clinic in self.clinics}
            if len(set(zones.values())) <= 1:
                zone = literal(next(iter(zones.values()), "UTC"))
            else:
                zone = case(zones, value=clinic_id, else_="UTC")
            return func.timezone(zone, moment)
        start = datetime.combine(self.first, time())
        offsets = {clinic.id: _offset_minutes(clinic, start) for clinic in self.clinics}
        if len(set(offsets.values())) <= 1:
            shift = literal(f"{next(iter(offsets.values()), 0):+d} minutes")
        else:
            shift = case({cid: f"{minutes:+d} minutes" for cid, minutes in offsets.items()}, value=clinic_id,
                         else_="+0 minutes")
        return func.datetime(moment, shift)

    def bucket(self, moment, clinic_id, dialect, unit):
        """SQL: the ``unit`` ("day" → 'YYYY-MM-DD', "month" → 'YYYY-MM',
        "weekday" → 1 (Monday) … 7, "hour" → 0 … 23, "minute" → minutes since
        midnight) of ``moment`` on its branch's clock."""
        local = self.local(moment, clinic_id, dialect)
        if unit == "minute":
            return self.bucket(moment, clinic_id, dialect, "hour") * 60 + (
                cast(func.extract("minute", local), Integer) if dialect == "postgresql"
                else cast(func.strftime("%M", local), Integer))
        if dialect == "postgresql":
            if unit == "day":
                return func.to_char(local, "YYYY-MM-DD")
            if unit == "month":
                return func.to_char(local, "YYYY-MM")
            return cast(func.extract("isodow" if unit == "weekday" else "hour", local), Integer)
        if unit == "day":
            return func.strftime("%Y-%m-%d", local)
        if unit == "month":
            return func.strftime("%Y-%m", local)
        if unit == "weekday":  # SQLite counts from Sunday = 0
            return (cast(func.strftime("%w", local), Integer) + 6) % 7 + 1
        return cast(func.strftime("%H", local), Integer)


def _offset_minutes(clinic, naive):
    offset = naive.replace(tzinfo=ZoneInfo(clinic.time_zone or "UTC")).utcoffset()
    return int(offset.total_seconds() // 60)


def _month_length(day):
    return (add_months(day.replace(day=1), 1) - timedelta(days=1)).day


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def make_scope(session, first, last, clinic_id=None, allowed=None):
    """A Scope from the reader's choice; a DomainError naming the field for a
    bad one. ``allowed``: the branches the reader may choose (None: all)."""
    if first is None:
        raise DomainError(_l("Give the first day of the range."), field="from")
    if last is None:
        raise DomainError(_l("Give the last day of the range."), field="to")
    for day, name in ((first, "from"), (last, "to")):
        bounds.require(bounds.date_problem(day), name)
    if last < first:
        raise DomainError(_l("The range ends before it starts."), field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(_l("A report covers at most %(days)s days.", days=MAX_DAYS), field="to")
    clinics = session.execute(select(Clinic).order_by(Clinic.name)).scalars().all()
    if allowed is not None:
        allowed_ids = {clinic.id for clinic in allowed}
        clinics = [clinic for clinic in clinics if clinic.id in allowed_ids]
    if clinic_id in (None, ""):
        return Scope(first, last, tuple(clinics), network=True)
    chosen = [clinic for clinic in clinics if str(clinic.id) == str(clinic_id)]
    if not chosen:
        raise DomainError(_l("There is no such branch."), field="clinic_id")
    return Scope(first, last, tuple(chosen), network=False)


def today():
    """Today on the clinic's clock."""
    return to_local(utcnow()).date()


def this_month(today):
    """[first, last] of ``today``'s month."""
    first = today.replace(day=1)
    return first, add_months(first, 1) - timedelta(days=1)


def minutes_between(start, end, dialect):
    """SQL: the minutes from ``start`` to ``end`` (UTC moments)."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start) / 60
    return (func.julianday(end) - func.julianday(start)) * 1440


def dialect_of(session):
    return session.get_bind().dialect.name


def group_key(group_by, columns, bucket):
    """SQL: the grouping column of ``group_by`` from ``columns``, else the
    time bucket ``bucket()`` makes (day, month, weekday, hour); for no
    grouping (the totals alone), one group."""
    if group_by is None:
        return literal(0)
    return columns[group_by] if group_by in columns else bucket()
