"""Overdue visits: marked once their start passed by the grace period
without arrival, each with one rebooking task for its branch's reception."""
from datetime import date, time, timedelta

from sqlalchemy import func, select

from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Appointment
from stompro.scheduling.overdue import mark_overdue
from stompro.scheduling.services import book_visit, change_visit, set_visit_status
from stompro.tasks.models import Task

from ..conftest import doctor_works, staff_by_login

DAY = date(2027, 3, 10)  # a Wednesday the demo books nothing on
GRACE = timedelta(minutes=15)  # config/defaults.py


def _visit(admin, center, patient, start=time(10)):
    doctor = doctor_works(DAY)
    starts_at = at_local(center, DAY, start)
    return book_visit(db.session, admin, clinic=center, room=center.rooms[0], doctor=doctor, patient=patient,
                      starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))


def _tasks_of(visit):
    return db.session.execute(select(Task).where(Task.appointment_id == visit.id)).scalars().all()


def test_a_visit_missed_past_the_grace_period_is_marked_with_one_rebooking_task(app, admin, center, patient):
    visit = _visit(admin, center, patient)
    later = visit.starts_at + GRACE

    assert visit not in mark_overdue(db.session, now=later - timedelta(minutes=1))
    assert visit.overdue_at is None and _tasks_of(visit) == []

    assert visit in mark_overdue(db.session, now=later)
    assert visit.overdue_at == later
    [task] = _tasks_of(visit)
    assert (task.tab, task.queue, task.clinic_id, task.patient_id, task.status) == (
        "overdue_visits", "reception", center.id, patient.id, "open")
    assert task.title == "Rebook the missed visit"
    assert task.rule is not None and task.priority == task.rule.priority
    assert task.due_at == later

    assert visit not in mark_overdue(db.session, now=later + timedelta(hours=1))
    assert visit.overdue_at == later
    assert len(_tasks_of(visit)) == 1


def test_a_confirmed_visit_is_marked_too(app, admin, center, patient):
    visit = _visit(admin, center, patient)
    set_visit_status(db.session, admin, visit, "confirmed")
    assert visit in mark_overdue(db.session, now=visit.starts_at + GRACE)
    assert len(_tasks_of(visit)) == 1


def test_a_visit_the_patient_came_to_or_that_was_cancelled_is_not_marked(app, admin, center, patient):
    arrived = _visit(admin, center, patient)
    set_visit_status(db.session, admin, arrived, "arrived", now=arrived.starts_at - timedelta(minutes=5))
    cancelled = _visit(admin, center, patient, start=time(12))
    set_visit_status(db.session, admin, cancelled, "cancelled", "Пациент заболел")

    marked = mark_overdue(db.session, now=cancelled.starts_at + timedelta(hours=2))
    assert arrived not in marked and cancelled not in marked
    assert arrived.overdue_at is None and cancelled.overdue_at is None
    assert _tasks_of(arrived) == [] and _tasks_of(cancelled) == []


def test_the_command_marks_what_is_due_and_says_how_many(app, admin, center, patient):
    """A visit a year ago that nobody marked (written as the demo writes past
    visits: booking refuses the past; a year back, clear of the demo's
    visits), then the command twice: marked and tasked once."""
    now = utcnow()
    missed = now - timedelta(days=365)
    visit = Appointment(clinic=center, room=center.rooms[0], doctor=staff_by_login("doctor"), patient=patient,
                        kind="treatment", status="booked", starts_at=missed, ends_at=missed + timedelta(minutes=30))
    db.session.add(visit)
    db.session.commit()
    due = db.session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.deleted_at.is_(None), Appointment.status.in_(("booked", "confirmed")),
        Appointment.arrived_at.is_(None), Appointment.overdue_at.is_(None), Appointment.starts_at <= now - GRACE))

    first = app.test_cli_runner().invoke(args=["schedule", "mark-overdue"])
    assert first.exit_code == 0, first.output
    assert f"Visits marked overdue: {due}." in first.output
    db.session.expire_all()
    assert visit.overdue_at is not None
    assert len(_tasks_of(visit)) == 1

    second = app.test_cli_runner().invoke(args=["schedule", "mark-overdue"])
    assert "Visits marked overdue: 0." in second.output
    assert len(_tasks_of(visit)) == 1


def test_a_rebooked_visit_is_expected_again_and_a_second_miss_is_another_call(app, admin, center, patient):
    visit = _visit(admin, center, patient)
    mark_overdue(db.session, now=visit.starts_at + GRACE)
    change_visit(db.session, admin, visit, starts_at=visit.starts_at + timedelta(hours=4),
                 ends_at=visit.ends_at + timedelta(hours=4))
    assert visit.overdue_at is None  # no longer red on the board at its new time
    assert visit not in mark_overdue(db.session, now=visit.starts_at - timedelta(minutes=1))

    assert visit in mark_overdue(db.session, now=visit.starts_at + GRACE)
    assert len(_tasks_of(visit)) == 2


def test_moving_a_missed_visit_closes_its_rebooking_call_as_booked(app, admin, center, patient):
    visit = _visit(admin, center, patient)
    mark_overdue(db.session, now=visit.starts_at + GRACE)
    [task] = _tasks_of(visit)
    assert task.status == "open"
    change_visit(db.session, admin, visit, starts_at=visit.starts_at + timedelta(hours=4),
                 ends_at=visit.ends_at + timedelta(hours=4))
    assert (task.status, task.call_result, task.done_by) == ("done", "booked", admin)
    assert task.outcome_note == f"Visit booked: 10 March 14:00, {visit.doctor.short_name}"


def test_a_patient_who_comes_late_closes_the_rebooking_call_and_a_no_show_keeps_it(app, admin, center, patient):
    other = Patient(last_name="Неявкина", first_name="Ольга", birth_date=date(1980, 5, 6), phone="+79160007788")
    db.session.add(other)
    came, missed = _visit(admin, center, patient), _visit(admin, center, other, start=time(11))
    mark_overdue(db.session, now=missed.starts_at + GRACE)
    set_visit_status(db.session, admin, came, "arrived")
    set_visit_status(db.session, admin, missed, "no_show")
    [closed], [kept] = _tasks_of(came), _tasks_of(missed)
    assert (closed.status, closed.outcome_note) == ("cancelled", "Not needed any more: the visit is “Arrived”.")
    assert kept.status == "open"  # the missed visit is still to rebook
