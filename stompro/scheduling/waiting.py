"""The waiting list: patients who would take an earlier visit — of a
specialty or with a doctor, so many minutes long, on some days of the week
and hours, until a date, in a branch.

An entry waits until the patient is booked from it (it is then "booked" and
names the visit) or it is closed (cancelled). A closed entry is kept as it
was; a patient who waits again gets a new entry. When a visit is cancelled
or moved away, ``fitting_entries`` lists who could take the freed time."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager

from .. import bounds
from ..db import utcnow
from ..errors import DomainError
from ..org.branches import clinic_ids_of, require_branch
from ..org.roles import DOCTOR
from ..patients.models import Patient
from ..patients.services import require_live_patient
from .availability import at_local, local_day
from .models import WaitingEntry
from .services import book_visit

SHORTEST_VISIT_MIN = 5
LONGEST_VISIT_MIN = 12 * 60
ENTRY_FIELDS = ("patient", "clinic", "specialty", "doctor", "duration_min", "days", "time_from", "time_to", "until",
                "note")
# What separates the days when a person types them ("1, 3, 5").
DAY_SEPARATORS = " ,;"


def add_waiting_entry(session, actor, patient=None, clinic=None, specialty=None, doctor=None, duration_min=None,
                      days=None, time_from=None, time_to=None, until=None, note=None):
    """Put a patient on the waiting list; the entry starts waiting."""
    entry = WaitingEntry(status="waiting")
    _set_entry(actor, entry, dict(patient=patient, clinic=clinic, specialty=specialty, doctor=doctor,
                                  duration_min=duration_min, days=days, time_from=time_from, time_to=time_to,
                                  until=until, note=note))
    session.add(entry)
    session.flush()
    return entry


def change_waiting_entry(session, actor, entry, status=None, **fields):
    """Change what a waiting entry asks for, or close it (``status`` =
    "cancelled"). A closed or booked entry no longer changes."""
    require_branch(actor, entry.clinic_id)
    asked = {name: fields[name] for name in ENTRY_FIELDS if name in fields}
    changed = sorted(name for name, value in asked.items() if getattr(entry, name) != value)
    if changed and entry.status != "waiting":
        raise DomainError(_l("This entry is closed; put the patient on the list again instead."), field=changed[0])
    if changed:
        _set_entry(actor, entry, {**{name: getattr(entry, name) for name in ENTRY_FIELDS}, **asked})
    if status is not None and status != entry.status:
        if status != "cancelled" or entry.status != "waiting":
            raise DomainError(_l("An entry is booked by booking its patient from the waiting list; "
                                 "otherwise it can only be closed."), field="status")
        close_waiting_entry(session, actor, entry)
    session.flush()
    return entry


def close_waiting_entry(session, actor, entry):
    """Take a patient off the waiting list: the entry is cancelled, never erased."""
    require_branch(actor, entry.clinic_id)
    if entry.status == "booked":
        raise DomainError(_l("This entry was booked; it is kept as it was."), field="status")
    entry.status = "cancelled"
    session.flush()
    return entry


def book_from_waiting_list(session, actor, entry, room, doctor, starts_at, ends_at, kind="treatment", note=None):
    """Book the waiting patient into [starts_at, ends_at) with ``doctor`` in
    ``room`` (scheduling.services.book_visit's rules); the entry is then
    booked and names the visit."""
    require_branch(actor, entry.clinic_id)
    if entry.status != "waiting":
        raise DomainError(_l("This patient is no longer waiting."), field="status")
    visit = book_visit(session, actor, clinic=room.clinic, room=room, doctor=doctor, patient=entry.patient,
                       starts_at=starts_at, ends_at=ends_at, kind=kind, note=note)
    entry.status, entry.appointment = "booked", visit
    session.flush()
    return visit


def fitting_entries(session, clinic, doctor, starts_at, ends_at):
    """The waiting entries that could take the free time [starts_at,
    ends_at) with ``doctor`` in ``clinic``: still waiting, of that branch,
    for that doctor or (no doctor named) the doctor's specialty, until that
    day or later, on an acceptable weekday, and whose visit fits into the
    free time within the acceptable hours. First come, first listed."""
    day = local_day(clinic, starts_at)
    free_minutes = (ends_at - starts_at) // timedelta(minutes=1)
    asked_for = WaitingEntry.doctor_id == doctor.id
    if doctor.specialty_id is not None:
        asked_for = or_(asked_for, and_(WaitingEntry.doctor_id.is_(None), WaitingEntry.specialty_id == doctor.specialty_id))
    entries = session.execute(
        select(WaitingEntry)
        .join(WaitingEntry.patient)
        .where(
            WaitingEntry.deleted_at.is_(None),
            WaitingEntry.status == "waiting",
            WaitingEntry.clinic_id == clinic.id,
            WaitingEntry.until >= day,
            WaitingEntry.duration_min <= free_minutes,
            or_(WaitingEntry.days.is_(None), WaitingEntry.days.contains(str(day.isoweekday()))),
            asked_for,
            Patient.deleted_at.is_(None),
        )
        .options(contains_eager(WaitingEntry.patient))
        .order_by(WaitingEntry.created_at, WaitingEntry.id)
    ).scalars().all()
    return [entry for entry in entries if _fits_hours(clinic, entry, day, starts_at, ends_at)]


def _fits_hours(clinic, entry, day, starts_at, ends_at):
    """The entry's visit fits into the free time cut to its acceptable hours."""
    earliest = max(starts_at, at_local(clinic, day, entry.time_from)) if entry.time_from else starts_at
    latest = min(ends_at, at_local(clinic, day, entry.time_to)) if entry.time_to else ends_at
    return latest - earliest >= timedelta(minutes=entry.duration_min)


def normalised_days(days):
    """Typed ISO weekdays ("5 3 1", "1,3,5") → "135"; nothing → None (any day)."""
    digits = [char for char in (days or "") if char not in DAY_SEPARATORS]
    if any(char not in "1234567" for char in digits):
        raise DomainError(_l("Days are numbers from 1 (Monday) to 7 (Sunday), e.g. 135."), field="days")
    return "".join(sorted(set(digits))) or None


def _set_entry(actor, entry, fields):
    patient, clinic, specialty, doctor = fields["patient"], fields["clinic"], fields["specialty"], fields["doctor"]
    require_live_patient(patient)
    if clinic is None:
        raise DomainError(_l("Choose the branch."), field="clinic")
    require_branch(actor, clinic)
    if specialty is None and doctor is None:
        raise DomainError(_l("Choose the specialty or the doctor."), field="specialty")
    if doctor is not None:
        if not doctor.active or DOCTOR not in doctor.roles:
            raise DomainError(_l("Choose a doctor who works at the clinic."), field="doctor")
        if clinic.id not in clinic_ids_of(doctor):
            raise DomainError(_l("This doctor does not work in this branch."), field="doctor")
        if specialty is not None and doctor.specialty_id != specialty.id:
            raise DomainError(_l("This doctor is of another specialty."), field="doctor")
    duration = fields["duration_min"]
    if duration is None or not SHORTEST_VISIT_MIN <= duration <= LONGEST_VISIT_MIN:
        raise DomainError(_l("A visit lasts from %(low)s to %(high)s minutes.", low=SHORTEST_VISIT_MIN,
                             high=LONGEST_VISIT_MIN), field="duration_min")
    days = normalised_days(fields["days"])
    if days is not None and not set(days) & set(clinic.working_days or ""):
        raise DomainError(_l("The branch does not work on any of these days."), field="days")
    time_from, time_to = fields["time_from"], fields["time_to"]
    if time_from is not None and time_to is not None:
        if time_to <= time_from:
            raise DomainError(_l("The end of the hours must be after their start."), field="time_to")
        hours = (time_to.hour * 60 + time_to.minute) - (time_from.hour * 60 + time_from.minute)
        if hours < duration:
            raise DomainError(_l("These hours are shorter than the visit."), field="time_to")
    until = fields["until"]
    if until is None:
        raise DomainError(_l("This field is required."), field="until")
    if until < local_day(clinic, utcnow()):
        raise DomainError(_l("This day has passed; choose a later one."), field="until")
    bounds.require(bounds.date_problem(until), "until")
    bounds.require(bounds.text_problem(fields["note"]), "note")
    entry.patient, entry.clinic, entry.specialty, entry.doctor = patient, clinic, specialty, doctor
    entry.duration_min, entry.days, entry.time_from, entry.time_to = duration, days, time_from, time_to
    entry.until, entry.note = until, (fields["note"] or "").strip() or None
