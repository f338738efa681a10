"""When people work: a person's shifts in a branch, within the branch's
opening hours and working days, minus the branch's closures and the person's
absences. Times are UTC moments; days and hours are the branch's own, in its
time zone (a branch in Berlin keeps its 09:00 across a daylight-saving change)."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_name
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from .models import Absence, Closure, Shift


def clinic_zone(clinic):
    return ZoneInfo(clinic.time_zone or "UTC")


def zone_name(clinic):
    """The branch's time zone as a reader says it ("Москва", "Central European Time"), not its tz id."""
    return get_timezone_name(clinic_zone(clinic), locale=get_locale())


def local_day(clinic, moment):
    """The branch's calendar day of a UTC moment."""
    return moment.astimezone(clinic_zone(clinic)).date()


def at_local(clinic, day, clock):
    """The UTC moment of ``clock`` on ``day`` at the branch (fold=0 in a
    repeated hour; a time skipped by the clocks moves forward)."""
    zone = clinic_zone(clinic)
    moment = datetime.combine(day, clock).replace(tzinfo=zone)
    normalised = moment.astimezone(timezone.utc).astimezone(zone)
    if normalised.replace(tzinfo=None) != moment.replace(tzinfo=None):  # in a gap: 02:30 on a spring-forward day
        moment = normalised
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Window:
    """A stretch of working time [start, end) of one person in one branch,
    with the chair of the shift (None: any chair of the branch)."""

    start: datetime
    end: datetime
    room_id: int | None
    shift_id: int


def branch_hours(clinic, day):
    """[opening, closing) of the branch on ``day`` as UTC moments, or None on
    a day it does not work."""
    if str(day.isoweekday()) not in (clinic.working_days or ""):
        return None
    return at_local(clinic, day, clinic.opens_at), at_local(clinic, day, clinic.closes_at)


def closed_days(session, clinic_id, first, last):
    """The branch's closed days between ``first`` and ``last`` (dates), with the reason."""
    closures = session.execute(
        select(Closure).where(Closure.clinic_id == clinic_id, Closure.first_day <= last, Closure.last_day >= first)
    ).scalars()
    found = {}
    for closure in closures:
        day = max(first, closure.first_day)
        while day <= min(last, closure.last_day):
            found[day] = closure.reason
            day += timedelta(days=1)
    return found


def absent_days(session, staff_id, first, last):
    """The person's days away between ``first`` and ``last``, with the kind."""
    return absences_of(session, [staff_id], first, last).get(staff_id, {})


def absences_of(session, staff_ids, first, last):
    """Days away of several people at once: {staff_id: {day: kind}}."""
    absences = session.execute(
        select(Absence).where(
            Absence.staff_id.in_(staff_ids), Absence.deleted_at.is_(None),
            Absence.first_day <= last, Absence.last_day >= first,
        )
    ).scalars()
    found = {}
    for absence in absences:
        days = found.setdefault(absence.staff_id, {})
        day = max(first, absence.first_day)
        while day <= min(last, absence.last_day):
            days[day] = absence.kind
            day += timedelta(days=1)
    return found


def working_windows(session, staff, clinic, first, last):
    """The person's working time in the branch from day ``first`` to
    ``last``: each live shift cut to the branch's hours, none on a closed
    day or a day away. Ordered by start."""
    return working_windows_of(session, [staff.id], clinic, first, last).get(staff.id, [])


def working_windows_of(session, staff_ids, clinic, first, last):
    """working_windows of several people at once (the board's columns), in
    three queries whatever their number: {staff_id: [Window]}."""
    closed = closed_days(session, clinic.id, first, last)
    away = absences_of(session, staff_ids, first, last)
    shifts = session.execute(
        select(Shift).where(
            Shift.staff_id.in_(staff_ids), Shift.clinic_id == clinic.id, Shift.deleted_at.is_(None),
            Shift.work_date >= first, Shift.work_date <= last,
        ).order_by(Shift.starts_at)
    ).scalars()
    windows = {}
    for shift in shifts:
        if shift.work_date in closed or shift.work_date in away.get(shift.staff_id, ()):
            continue
        hours = branch_hours(clinic, shift.work_date)
        if hours is None:
            continue
        start, end = max(shift.starts_at, hours[0]), min(shift.ends_at, hours[1])
        if start < end:
            windows.setdefault(shift.staff_id, []).append(Window(start, end, shift.room_id, shift.id))
    return windows


def last_shift_day(session, places):
    """The last day with a shift of any of ``places`` ((person, branch) pairs), or None."""
    return session.execute(
        select(func.max(Shift.work_date)).where(
            Shift.deleted_at.is_(None),
            or_(*(and_(Shift.staff_id == person.id, Shift.clinic_id == branch.id) for person, branch in places)),
        )
    ).scalar()


def working_time_problem(session, clinic, doctor, starts_at, ends_at):
    """Why a visit [starts_at, ends_at) is outside the doctor's working time
    in the branch — a closed day, a day away, outside the branch's hours, no
    shift, or a shift that ends before the visit does — or None."""
    day = local_day(clinic, starts_at)
    closed = closed_days(session, clinic.id, day, day)
    if day in closed:
        return _l("The branch is closed on %(day)s: %(reason)s.", day=f"{day:%d.%m.%Y}", reason=closed[day])
    if day in absent_days(session, doctor.id, day, day):
        return _l("%(person)s is away on %(day)s.", person=str(doctor), day=f"{day:%d.%m.%Y}")
    hours = branch_hours(clinic, day)
    if hours is None:
        return _l("The branch does not work on %(day)s.", day=f"{day:%d.%m.%Y}")
    if starts_at < hours[0] or ends_at > hours[1]:
        return _l(
            "The branch works from %(opens)s to %(closes)s.",
            opens=f"{clinic.opens_at:%H:%M}", closes=f"{clinic.closes_at:%H:%M}",
        )
    windows = working_windows(session, doctor, clinic, day, day)
    if not any(w.start <= starts_at and ends_at <= w.end for w in windows):
        hours = ", ".join(f"{_clock(clinic, w.start)}–{_clock(clinic, w.end)}" for w in windows)
        if any(w.start <= starts_at < w.end for w in windows):
            return _l("The visit does not fit: %(person)s works %(hours)s on %(day)s.", person=str(doctor),
                      hours=hours, day=f"{day:%d.%m.%Y}")
        if windows:
            return _l("%(person)s works %(hours)s on %(day)s in this branch.", person=str(doctor), hours=hours,
                      day=f"{day:%d.%m.%Y}")
        return _l("%(person)s has no shift in this branch on %(day)s.", person=str(doctor), day=f"{day:%d.%m.%Y}")
    return None


def _clock(clinic, moment):
    return f"{moment.astimezone(clinic_zone(clinic)):%H:%M}"
