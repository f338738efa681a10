"""Working time: shifts (one by one, or generated from a weekly pattern for
a date range), a branch's closures and a person's absences. What they leave
open is where visits are booked (scheduling.availability)."""
from datetime import datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, true
from sqlalchemy.orm import joinedload

from .. import bounds
from ..errors import DomainError
from ..org.branches import clinic_ids_of, require_branch, works_network_wide
from ..records import soft_delete
from .availability import at_local, local_day
from .models import ABSENCE_KINDS, Appointment, Shift
from .services import HOLDING

LONGEST_SHIFT = timedelta(hours=16)
# Shifts are generated for at most a year at a time.
LONGEST_PATTERN_RANGE = timedelta(days=366)


def add_shift(session, actor, staff=None, clinic=None, room=None, starts_at=None, ends_at=None, **ignored):
    """A person's working hours in a branch (and chair); the working date is
    the clinic's date of the start."""
    shift = Shift()
    _set_shift(session, actor, shift, staff, clinic, room, starts_at, ends_at)
    session.add(shift)
    session.flush()
    return shift


def change_shift(session, actor, shift, staff=None, clinic=None, room=None, starts_at=None, ends_at=None, **ignored):
    require_branch(actor, shift.clinic_id)
    _set_shift(session, actor, shift, staff, clinic, room, starts_at, ends_at)
    session.flush()
    return shift


def remove_shift(session, actor, shift):
    """Take a shift off the schedule (kept in the recycle bin)."""
    require_branch(actor, shift.clinic_id)
    soft_delete(session, shift)


def _set_shift(session, actor, shift, staff, clinic, room, starts_at, ends_at):
    for name, value in (("staff", staff), ("clinic", clinic), ("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            raise DomainError(_l("This field is required."), field=name)
    require_branch(actor, clinic)
    if not staff.active:
        raise DomainError(_l("This person no longer works at the clinic."), field="staff")
    if clinic.id not in clinic_ids_of(staff):
        raise DomainError(_l("This person does not work in this branch."), field="staff")
    if room is not None and room.clinic_id != clinic.id:
        raise DomainError(_l("This chair is in another branch."), field="room")
    bounds.require_span(starts_at, ends_at, LONGEST_SHIFT, _l("A shift lasts at most 16 hours."))
    if _overlapping_shift(session, staff, starts_at, ends_at, shift.id):
        raise DomainError(_l("This person already has a shift at that time."), field="starts_at")
    shift.staff, shift.clinic, shift.room = staff, clinic, room
    shift.starts_at, shift.ends_at = starts_at, ends_at
    shift.work_date = local_day(clinic, starts_at)



def generate_shifts(session, actor, staff, clinic, first_day, last_day, week, room=None):
    """Shifts of ``staff`` in ``clinic`` on every day from ``first_day`` to
    ``last_day`` whose ISO weekday (1 = Monday) is in ``week`` — a mapping
    weekday → (start, end) as the branch's clock times. A day that already
    has a shift of the person overlapping is left as it is. Returns the new
    shifts."""
    if first_day is None or last_day is None:
        raise DomainError(_l("Give the first and the last day."), field="first_day" if first_day is None else "last_day")
    if last_day < first_day:
        raise DomainError(_l("The last day cannot be before the first."), field="last_day")
    if last_day - first_day > LONGEST_PATTERN_RANGE:
        raise DomainError(_l("Shifts are made for at most a year at a time."), field="last_day")
    if not week:
        raise DomainError(_l("Choose the days of the week and their hours."), field="week")
    for weekday, (opens, closes) in week.items():
        if not isinstance(opens, time) or not isinstance(closes, time) or closes <= opens:
            raise DomainError(_l("On each day chosen, the end comes after the start."), field=f"week_{weekday}")
    made = []
    day = first_day
    while day <= last_day:
        hours = week.get(day.isoweekday())
        if hours is not None:
            starts_at, ends_at = at_local(clinic, day, hours[0]), at_local(clinic, day, hours[1])
            if not _overlapping_shift(session, staff, starts_at, ends_at, None):
                made.append(add_shift(session, actor, staff=staff, clinic=clinic, room=room,
                                      starts_at=starts_at, ends_at=ends_at))
        day += timedelta(days=1)
    return made


def hours_beyond_branch(clinic, week):
    """Does the weekly pattern start before the branch opens or end after
    it closes? Allowed (a doctor prepares before opening), but those hours
    are never bookable, and the person who planned them should know."""
    return any(opens < clinic.opens_at or closes > clinic.closes_at for opens, closes in week.values())


def _overlapping_shift(session, staff, starts_at, ends_at, shift_id):
    with session.no_autoflush:
        return session.execute(
            select(Shift.id).where(
                Shift.deleted_at.is_(None), Shift.staff_id == staff.id,
                Shift.starts_at < ends_at, Shift.ends_at > starts_at,
                Shift.id != shift_id if shift_id is not None else true(),
            ).limit(1)
        ).first() is not None


# -- closures and absences ------------------------------------------------------------


def _days(first_day, last_day):
    for name, value in (("first_day", first_day), ("last_day", last_day)):
        if value is None:
            raise DomainError(_l("This field is required."), field=name)
        bounds.require(bounds.date_problem(value), name)
    if last_day < first_day:
        raise DomainError(_l("The last day cannot be before the first."), field="last_day")


def save_closure(session, actor, closure, is_created, **form_only):
    """A branch's days off: the branch is one of the person's, the days in order, the reason given."""
    if closure.clinic is None:
        raise DomainError(_l("Choose the branch."), field="clinic")
    require_branch(actor, closure.clinic)
    _days(closure.first_day, closure.last_day)
    closure.reason = (closure.reason or "").strip()
    if not closure.reason:
        raise DomainError(_l("Write why the branch is closed."), field="reason")
    session.flush()
    return closure


def save_absence(session, actor, absence, is_created, **form_only):
    """A person's days away: a colleague of one of the person's branches, the days in order."""
    if absence.staff is None:
        raise DomainError(_l("Choose the person."), field="staff")
    if not any(clinic_id in clinic_ids_of(absence.staff) for clinic_id in _branches_of(actor, absence.staff)):
        raise DomainError(_l("This person does not work in your branches."), field="staff")
    if absence.kind not in ABSENCE_KINDS:
        raise DomainError(_l("Choose the kind of absence."), field="kind")
    _days(absence.first_day, absence.last_day)
    session.flush()
    return absence


def visits_in_the_way(session, first_day, last_day, clinic=None, staff=None):
    """The live visits a closure of ``clinic`` (or an absence of ``staff``)
    from ``first_day`` to ``last_day`` falls on, in order: saving one does
    not move them — the reception must, and is told so."""
    query = select(Appointment).where(
        Appointment.deleted_at.is_(None), Appointment.status.in_(HOLDING),
        # a day's margin either side for time zones; the branch's own days are checked below
        Appointment.starts_at >= datetime.combine(first_day - timedelta(days=1), time(0), timezone.utc),
        Appointment.starts_at < datetime.combine(last_day + timedelta(days=2), time(0), timezone.utc),
    )
    if clinic is not None:
        query = query.where(Appointment.clinic_id == clinic.id)
    if staff is not None:
        query = query.where(Appointment.doctor_id == staff.id)
    visits = session.execute(
        query.options(joinedload(Appointment.patient), joinedload(Appointment.clinic))
        .order_by(Appointment.starts_at, Appointment.id)
    ).scalars().all()
    return [visit for visit in visits if first_day <= local_day(visit.clinic, visit.starts_at) <= last_day]


def _branches_of(actor, staff):
    return clinic_ids_of(staff) if works_network_wide(actor) else clinic_ids_of(actor)


def remove_absence(session, actor, absence):
    soft_delete(session, absence)
