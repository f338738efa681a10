"""The schedule's rules: booking a visit, moving it, its status, and shifts.

A visit belongs to a branch, a chair of that branch, a doctor and a patient.
No doctor, chair or patient is booked twice at the same time (cancelled and
missed visits free their time). A visit moves booked → confirmed → arrived →
in chair → done, or ends as a no-show or cancelled (with a reason); the
times of arrival, start and finish are the server's. Whoever books is
recorded. A person books and changes visits of their own branches only."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, true

from .. import bounds
from ..db import utcnow
from ..errors import DomainError
from ..org.branches import clinic_ids_of, require_branch
from ..org.roles import DOCTOR
from ..patients.services import require_live_patient
from ..records import soft_delete
from ..timefmt import to_local
from .models import APPOINTMENT_KINDS, Appointment, Shift

# Statuses that hold their time; the others free it.
HOLDING = ("booked", "confirmed", "arrived", "in_chair", "done")
NEXT_STATUSES = {
    "booked": ("confirmed", "arrived", "no_show", "cancelled"),
    "confirmed": ("booked", "arrived", "no_show", "cancelled"),
    "arrived": ("in_chair", "cancelled"),
    "in_chair": ("done",),
    "done": (),
    "no_show": (),
    "cancelled": (),
}
LONGEST_VISIT = timedelta(hours=12)
LONGEST_SHIFT = timedelta(hours=16)
VISIT_FIELDS = ("clinic", "room", "doctor", "patient", "starts_at", "ends_at", "kind", "plan_stage", "note")


def book_visit(session, actor, clinic=None, room=None, doctor=None, patient=None, starts_at=None, ends_at=None,
               kind="treatment", plan_stage=None, note=None):
    """Book a visit; ``actor`` is recorded as who booked it."""
    visit = Appointment(status="booked", booked_by=actor)
    _place(session, actor, visit, clinic=clinic, room=room, doctor=doctor, patient=patient, starts_at=starts_at,
           ends_at=ends_at, kind=kind, plan_stage=plan_stage, note=note)
    session.add(visit)
    session.flush()
    return visit


def change_visit(session, actor, visit, status=None, cancel_reason=None, **fields):
    """Change a visit's place, time, people or note, and then its status.
    A visit that is over (done, missed, cancelled) no longer changes."""
    require_branch(actor, visit.clinic_id)
    placing = {name: fields[name] for name in VISIT_FIELDS if name in fields}
    changed = {name for name, value in placing.items() if getattr(visit, name) != value}
    if changed - {"note"} and not NEXT_STATUSES[visit.status]:
        raise DomainError(_l("This visit is over; book a new one instead of changing it."), field=sorted(changed)[0])
    if changed:
        current = {name: getattr(visit, name) for name in VISIT_FIELDS}
        _place(session, actor, visit, **{**current, **placing})
    if status is not None and status != visit.status:
        set_visit_status(session, actor, visit, status, cancel_reason)
    session.flush()
    return visit


def set_visit_status(session, actor, visit, status, reason=None, now=None):
    """Move a visit to ``status`` along NEXT_STATUSES; arrival, start and
    finish take the server's time, a cancellation needs a reason."""
    require_branch(actor, visit.clinic_id)
    if status not in NEXT_STATUSES:
        raise DomainError(_l("Unknown status."), field="status")
    if status not in NEXT_STATUSES[visit.status]:
        raise DomainError(_l("A visit cannot go from “%(old)s” to “%(new)s”.", old=_status_label(visit.status),
                             new=_status_label(status)), field="status")
    now = now or utcnow()
    if status == "cancelled":
        text = (reason or "").strip()
        if not text:
            raise DomainError(_l("Write why the visit is cancelled."), field="cancel_reason")
        bounds.require(bounds.text_problem(text), "cancel_reason")
        visit.cancel_reason = text
    if status == "arrived":
        visit.arrived_at = now
    elif status == "in_chair":
        visit.started_at = now
    elif status == "done":
        visit.finished_at = now
    elif status == "booked":
        visit.arrived_at = None
    visit.status = status
    session.flush()
    return visit


def _status_label(status):
    from ..admin.choices import VALUE_LABELS  # the labels the screens show

    return VALUE_LABELS.get(status, status)


def _place(session, actor, visit, clinic, room, doctor, patient, starts_at, ends_at, kind, plan_stage, note):
    """Check a visit's branch, chair, doctor, patient, time and stage, then set them."""
    for name, value in (("clinic", clinic), ("room", room), ("doctor", doctor), ("patient", patient),
                        ("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            raise DomainError(_l("This field is required."), field=name)
    require_branch(actor, clinic)
    if room.clinic_id != clinic.id:
        raise DomainError(_l("This chair is in another branch."), field="room")
    if not room.active:
        raise DomainError(_l("This chair is not in use."), field="room")
    if not doctor.active or DOCTOR not in doctor.roles:
        raise DomainError(_l("Choose a doctor who works at the clinic."), field="doctor")
    if clinic.id not in clinic_ids_of(doctor):
        raise DomainError(_l("This doctor does not work in this branch."), field="doctor")
    require_live_patient(patient)
    if kind not in APPOINTMENT_KINDS:
        raise DomainError(_l("Unknown kind of visit."), field="kind")
    bounds.require_span(starts_at, ends_at, LONGEST_VISIT, _l("A visit lasts at most 12 hours."))
    if plan_stage is not None and plan_stage.variant.plan.patient_id != patient.id:
        raise DomainError(_l("This stage is of another patient's plan."), field="plan_stage")
    bounds.require(bounds.text_problem(note), "note")
    _refuse_overlap(session, visit, doctor, room, patient, starts_at, ends_at)
    visit.clinic, visit.room, visit.doctor, visit.patient = clinic, room, doctor, patient
    visit.starts_at, visit.ends_at, visit.kind, visit.plan_stage = starts_at, ends_at, kind, plan_stage
    visit.note = (note or "").strip() or None


def _refuse_overlap(session, visit, doctor, room, patient, starts_at, ends_at):
    """One doctor, one chair, one patient: one visit at a time."""
    with session.no_autoflush:
        clash = session.execute(
            select(Appointment)
            .where(
                Appointment.deleted_at.is_(None),
                Appointment.status.in_(HOLDING),
                Appointment.starts_at < ends_at,
                Appointment.ends_at > starts_at,
                Appointment.id != visit.id if visit.id is not None else true(),
                or_(Appointment.doctor_id == doctor.id, Appointment.room_id == room.id,
                    Appointment.patient_id == patient.id),
            )
            .order_by(Appointment.starts_at)
            .limit(1)
        ).scalar_one_or_none()
    if clash is None:
        return
    when = f"{to_local(clash.starts_at):%d.%m.%Y %H:%M}–{to_local(clash.ends_at):%H:%M}"
    if clash.doctor_id == doctor.id:
        raise DomainError(_l("The doctor already has a visit at %(when)s.", when=when), field="doctor")
    if clash.room_id == room.id:
        raise DomainError(_l("The chair is taken at %(when)s.", when=when), field="room")
    raise DomainError(_l("The patient already has a visit at %(when)s.", when=when), field="patient")


# -- shifts ---------------------------------------------------------------------------


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
    with session.no_autoflush:
        overlapping = session.execute(
            select(Shift.id).where(
                Shift.deleted_at.is_(None), Shift.staff_id == staff.id,
                Shift.starts_at < ends_at, Shift.ends_at > starts_at,
                Shift.id != shift.id if shift.id is not None else true(),
            ).limit(1)
        ).first()
    if overlapping is not None:
        raise DomainError(_l("This person already has a shift at that time."), field="starts_at")
    shift.staff, shift.clinic, shift.room = staff, clinic, room
    shift.starts_at, shift.ends_at = starts_at, ends_at
    shift.work_date = to_local(starts_at).date()
