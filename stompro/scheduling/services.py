"""The visits' rules: booking, moving, the status. The board, the API, the
plan booking, the cascade and the generic appointment screen all call these.

A visit belongs to a branch, a chair of that branch, a doctor working there
and a patient. It lies inside the doctor's shift, the branch's hours and
working days, on no closed day and no day the doctor is away
(scheduling.availability). No doctor, chair or patient is booked twice at
the same time: cancelled and missed visits free their time. The database
holds that too — PostgreSQL's exclusion constraints, SQLite's one writer
at a time (BEGIN IMMEDIATE) — so that of two people booking the same time at
once one wins and the other gets a Clash naming the visit in the way.

A visit moves booked → confirmed → arrived → in chair → done, or ends as a
no-show or cancelled (with a reason); the times of arrival, start and finish
are the server's, and a visit moved to another time is to be confirmed
again. Whoever books is recorded. A person books and changes visits of their
own branches only."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from .. import bounds
from ..billing.performed import invoice_visit
from ..db import utcnow
from ..documents.gate import check_gate
from ..errors import ConflictError, DomainError
from ..integrity import OVERLAP_MESSAGES
from ..messaging.outbox import cancel_visit_messages, plan_visit_messages
from ..org.branches import clinic_ids_of, require_branch
from ..org.roles import DOCTOR
from ..patients.services import require_live_patient
from ..tasks.services import close_booking_tasks, close_visit_calls
from .availability import clinic_zone, local_day, working_time_problem
from .models import APPOINTMENT_KINDS, APPOINTMENT_STATUSES, FREEING_STATUSES, Appointment

# Statuses that hold their time (FREEING_STATUSES free it).
HOLDING = tuple(status for status in APPOINTMENT_STATUSES if status not in FREEING_STATUSES)
# How far back a visit may be booked or moved: the patient at the desk now.
BOOKING_GRACE = timedelta(minutes=30)
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
# session.info key: the places commit_or_clash's write has asked for.
PLACED = "scheduling.placed"
VISIT_FIELDS = ("clinic", "room", "doctor", "patient", "starts_at", "ends_at", "kind", "plan_stage", "note")


def book_visit(session, actor, clinic=None, room=None, doctor=None, patient=None, starts_at=None, ends_at=None,
               kind="treatment", plan_stage=None, note=None):
    """Book a visit; ``actor`` is recorded as who booked it."""
    visit = Appointment(status="booked", booked_by=actor)
    _place(session, actor, visit, clinic=clinic, room=room, doctor=doctor, patient=patient, starts_at=starts_at,
           ends_at=ends_at, kind=kind, plan_stage=plan_stage, note=note)
    session.add(visit)
    session.flush()
    plan_visit_messages(session, visit)  # the outbox is written with the booking
    close_booking_tasks(session, actor, visit)
    return visit


def change_visit(session, actor, visit, status=None, cancel_reason=None, **fields):
    """Change a visit's place, time, people or note, and then its status.
    A visit that is over (done, missed, cancelled) no longer changes."""
    require_branch(actor, visit.clinic_id)
    placing = {name: fields[name] for name in VISIT_FIELDS if name in fields}
    changed = {name for name, value in placing.items() if getattr(visit, name) != value}
    moved = changed - {"note"}
    if moved and not NEXT_STATUSES[visit.status]:
        raise DomainError(_l("This visit is over; book a new one instead of changing it."), field=sorted(moved)[0])
    if moved:
        current = {name: getattr(visit, name) for name in VISIT_FIELDS}
        _place(session, actor, visit, **{**current, **placing})
        if visit.status == "confirmed" and moved & {"starts_at", "ends_at", "doctor", "clinic"}:
            visit.status = "booked"  # a new time is confirmed with the patient again
        if moved & {"starts_at", "ends_at"}:
            if visit.overdue_at is not None:  # rebooked: expected at the new time (scheduling.overdue)
                visit.overdue_at = None
                close_booking_tasks(session, actor, visit)
        if moved & {"starts_at", "ends_at", "doctor", "clinic"}:  # what the messages say
            session.flush()
            plan_visit_messages(session, visit)
    elif "note" in changed:
        bounds.require(bounds.text_problem(placing["note"]), "note")
        visit.note = (placing["note"] or "").strip() or None
    if status is not None and status != visit.status:
        set_visit_status(session, actor, visit, status, cancel_reason)
    session.flush()
    return visit


def set_visit_status(session, actor, visit, status, reason=None, now=None):
    """Move a visit to ``status`` along NEXT_STATUSES; arrival, start and
    finish take the server's time, a cancellation needs a reason, a visit
    done becomes the draft invoices of what was performed. Treatment
    starts ("in chair") through the documents gate, ``reason`` being why it
    goes ahead without them where the branch allows it."""
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
        visit.cancelled_at = now
    if status == "arrived":
        visit.arrived_at = now
    elif status == "in_chair":
        check_gate(session, visit, reason, now)  # the contract and consents are signed (documents.gate)
        visit.started_at = now
    elif status == "done":
        visit.finished_at = now
    elif status == "booked":
        visit.arrived_at = None
    visit.status = status
    session.flush()
    if status in ("cancelled", "no_show"):
        cancel_visit_messages(session, visit, notify=status == "cancelled", now=now)
    close_visit_calls(session, actor, visit, now=now)
    if status == "done":
        invoice_visit(session, actor, visit, now=now)  # what the doctor marked goes to the cashier
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
    if starts_at < utcnow() - BOOKING_GRACE:
        raise DomainError(_l("This time has passed; choose a time ahead."), field="starts_at")
    problem = working_time_problem(session, clinic, doctor, starts_at, ends_at)
    if problem is not None:
        raise DomainError(problem, field="starts_at")
    if plan_stage is not None and plan_stage.variant.plan.patient_id != patient.id:
        raise DomainError(_l("This stage is of another patient's plan."), field="plan_stage")
    bounds.require(bounds.text_problem(note), "note")
    _refuse_overlap(session, visit, doctor, room, patient, starts_at, ends_at)
    if PLACED in session.info:  # commit_or_clash may need to find what is in the way
        session.info[PLACED].append((visit.id, doctor.id, room.id, patient.id, starts_at, ends_at))
    visit.clinic, visit.room, visit.doctor, visit.patient = clinic, room, doctor, patient
    visit.starts_at, visit.ends_at, visit.kind, visit.plan_stage = starts_at, ends_at, kind, plan_stage
    if plan_stage is not None:  # the stage's date is its visit's: the payment schedule follows it
        plan_stage.planned_date = local_day(clinic, starts_at)
    visit.note = (note or "").strip() or None


class Clash(ConflictError):
    """Another visit holds the doctor, the chair or the patient at that time
    (``visit``); nothing was written."""

    def __init__(self, message, field, visit):
        super().__init__(message, field=field)
        self.visit = visit


def clash_message(clash, field):
    """Who, when, with whom and where the visit in the way is."""
    zone = clinic_zone(clash.clinic)
    when = f"{clash.starts_at.astimezone(zone):%d.%m.%Y %H:%M}–{clash.ends_at.astimezone(zone):%H:%M}"
    details = {"when": when, "patient": clash.patient.full_name, "doctor": str(clash.doctor), "room": clash.room.name}
    messages = {
        "doctor": _l("%(doctor)s already has a visit at %(when)s (%(patient)s, %(room)s).", **details),
        "room": _l("%(room)s is taken at %(when)s (%(patient)s with %(doctor)s).", **details),
        "patient": _l("%(patient)s already has a visit at %(when)s (with %(doctor)s, %(room)s).", **details),
    }
    return messages[field]


def booked_from(now, patient_id):
    """SQL: the patient (``patient_id``, a column to correlate) has a live visit from ``now`` on."""
    visit = aliased(Appointment)
    return exists().where(visit.patient_id == patient_id, visit.deleted_at.is_(None), visit.status.in_(HOLDING),
                          visit.starts_at >= now)


def visit_label(visit):
    """A visit as a message names it: when (the branch's clock), who, with whom."""
    when = f"{visit.starts_at.astimezone(clinic_zone(visit.clinic)):%d.%m.%Y %H:%M}"
    return f"{when} {visit.patient.full_name} ({visit.doctor})"


def _refuse_overlap(session, visit, doctor, room, patient, starts_at, ends_at):
    """One doctor, one chair, one patient: one visit at a time."""
    found = find_clash(session, doctor.id, room.id, patient.id, starts_at, ends_at, ignoring=(visit.id,))
    if found is not None:
        clash, field = found
        raise Clash(clash_message(clash, field), field, clash)


def overlapping(starts_at, ends_at):
    """Conditions on visits overlapping [starts_at, ends_at). No visit lasts
    longer than LONGEST_VISIT, so one that overlaps began at most that long
    before: the bound lets the (…, starts_at) indexes read a narrow range
    instead of a doctor's or a chair's whole past."""
    return (
        Appointment.starts_at < ends_at,
        Appointment.starts_at > starts_at - LONGEST_VISIT,
        Appointment.ends_at > starts_at,
    )


def find_clash(session, doctor_id, room_id, patient_id, starts_at, ends_at, ignoring=()):
    """The first live visit holding the doctor, the chair or the patient
    within [starts_at, ends_at), and which of them it holds — or None.
    Visits whose ids are in ``ignoring`` do not count (the visit being moved)."""
    ignoring = [visit_id for visit_id in ignoring if visit_id is not None]
    with session.no_autoflush:
        query = (
            select(Appointment)
            .where(
                Appointment.deleted_at.is_(None),
                Appointment.status.in_(HOLDING),
                *overlapping(starts_at, ends_at),
                or_(Appointment.doctor_id == doctor_id, Appointment.room_id == room_id,
                    Appointment.patient_id == patient_id),
            )
            .order_by(Appointment.starts_at)
            .limit(1)
        )
        if ignoring:
            query = query.where(Appointment.id.not_in(ignoring))
        clash = session.execute(query).scalar_one_or_none()
    if clash is None:
        return None
    return clash, "doctor" if clash.doctor_id == doctor_id else "room" if clash.room_id == room_id else "patient"


def commit_or_clash(session, write):
    """Run ``write()`` — it books or moves visits through this module — and
    commit; return what it returned.

    Of two people booking the same doctor, chair or patient at the same
    moment, both may pass the check before either commits. SQLite lets one
    writer at a time (BEGIN IMMEDIATE), so the second sees the first visit
    and gets a Clash from the check itself. PostgreSQL lets both through and
    its exclusion constraint stops the second at the database: that
    IntegrityError is rolled back here and becomes the same Clash, naming the
    visit that won (looked up afresh). Any other error is rolled back and
    raised as it is."""
    session.info[PLACED] = []
    try:
        result = write()
        session.commit()
        return result
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        attempts = session.info.get(PLACED, [])
        session.rollback()
        if constraint not in OVERLAP_MESSAGES:
            raise
        raise _lost_race(session, constraint, attempts) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(PLACED, None)


def _lost_race(session, constraint, attempts):
    field, message = OVERLAP_MESSAGES[constraint]
    for visit_id, doctor_id, room_id, patient_id, starts_at, ends_at in attempts:
        if starts_at is None or ends_at is None:
            continue
        found = find_clash(session, doctor_id, room_id, patient_id, starts_at, ends_at, ignoring=(visit_id,))
        if found is not None:
            clash, field = found
            return Clash(clash_message(clash, field), field, clash)
    return ConflictError(message, field=field)
