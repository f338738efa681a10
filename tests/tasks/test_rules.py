"""The rules that fill the task book: each one's positive and negative
cases, one task per subject however often they run, and the command."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.patients.models import PatientTag
from stompro.scheduling.models import Closure
from stompro.scheduling.services import change_visit, set_visit_status
from stompro.tasks.models import Task
from stompro.tasks.rules import generate_tasks
from stompro.tasks.services import create_task, record_call

from ..scheduling.conftest import Schedule


@pytest.fixture
def schedule(owner):
    return Schedule(owner)


def _keys(prefix):
    return set(db.session.execute(select(Task.dedupe_key).where(Task.dedupe_key.like(f"{prefix}%"))).scalars())


def _done(visit):
    """A visit that took place (set directly: the status flow runs on the server's clock)."""
    visit.status = "done"
    db.session.flush()
    return visit


# -- confirming the next working day's visits ------------------------------------------


def test_the_booked_visits_of_the_next_day_get_a_confirmation_call_once(schedule):
    doctor, patient, other = schedule.doctor(), schedule.patient(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(n) for n in range(3)])
    tomorrow = schedule.visit(doctor, patient, schedule.day(1), "10:00", 30)
    confirmed = schedule.visit(doctor, other, schedule.day(1), "11:00", 30)
    change_visit(db.session, schedule.owner, confirmed, status="confirmed")
    later = schedule.visit(doctor, other, schedule.day(2), "10:00", 30)
    now = schedule.at(schedule.day(0), "08:00")

    generate_tasks(db.session, now=now)
    [task] = db.session.execute(select(Task).where(Task.appointment_id.in_([tomorrow.id, confirmed.id, later.id]),
                                                   Task.dedupe_key.like("confirm:%"))).scalars()
    assert (task.appointment, task.patient, task.tab, task.queue, task.status) == (
        tomorrow, patient, "regular_calls", "reception", "open")
    assert task.title == "Confirm the visit" and task.clinic_id == schedule.clinic.id and task.due_at == now

    before = _keys("confirm:")
    generate_tasks(db.session, now=now + timedelta(hours=1))
    assert _keys("confirm:") == before  # a rerun makes nothing

    change_visit(db.session, schedule.owner, tomorrow, starts_at=schedule.at(schedule.day(1), "15:00"),
                 ends_at=schedule.at(schedule.day(1), "15:30"))
    generate_tasks(db.session, now=now + timedelta(hours=2))
    assert len(_keys(f"confirm:{tomorrow.id}:")) == 1  # its open task still stands for the call

    record_call(db.session, schedule.owner, task, "reached", now=now + timedelta(hours=3))
    change_visit(db.session, schedule.owner, tomorrow, starts_at=schedule.at(schedule.day(1), "16:00"),
                 ends_at=schedule.at(schedule.day(1), "16:30"))
    generate_tasks(db.session, now=now + timedelta(hours=4))
    assert len(_keys(f"confirm:{tomorrow.id}:")) == 2  # called, then moved: confirmed again at the new time


def test_on_the_day_before_a_closed_day_the_next_open_days_visits_are_confirmed_too(schedule):
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(n) for n in range(5)])
    after_closure = schedule.visit(doctor, patient, schedule.day(3), "10:00", 30)
    a_week_on = schedule.visit(doctor, patient, schedule.day(4), "10:00", 30)
    db.session.add(Closure(clinic=schedule.clinic, first_day=schedule.day(1), last_day=schedule.day(2), reason="Ремонт"))
    db.session.flush()
    generate_tasks(db.session, now=schedule.at(schedule.day(0), "08:00"))
    assert _keys(f"confirm:{after_closure.id}:") and not _keys(f"confirm:{a_week_on.id}:")


# -- care calls after surgery ----------------------------------------------------------


def test_a_care_call_follows_a_surgeons_finished_visit_the_next_day(schedule):
    surgeon, therapist = schedule.doctor("surgery"), schedule.doctor("therapy")
    for person in (surgeon, therapist):
        schedule.works(person, schedule.day(0))
    operated, filled, missed = schedule.patient(), schedule.patient(), schedule.patient()
    extraction = _done(schedule.visit(surgeon, operated, schedule.day(0), "10:00", 60))
    filling = _done(schedule.visit(therapist, filled, schedule.day(0), "10:00", 30, room=schedule.chairs[1]))
    cancelled = schedule.visit(surgeon, missed, schedule.day(0), "12:00", 60)
    change_visit(db.session, schedule.owner, cancelled, status="cancelled", cancel_reason="Заболел")

    generate_tasks(db.session, now=schedule.at(schedule.day(0), "20:00"))  # the same day: too early
    assert not _keys(f"care:{extraction.id}")
    generate_tasks(db.session, now=schedule.at(schedule.day(1), "09:00"))
    assert _keys("care:") >= {f"care:{extraction.id}"}
    assert not _keys(f"care:{filling.id}") and not _keys(f"care:{cancelled.id}")
    task = db.session.execute(select(Task).where(Task.dedupe_key == f"care:{extraction.id}")).scalar_one()
    assert (task.tab, task.patient, task.title) == ("care_calls", operated, "Ask how the patient is after the operation")


# -- hygiene recalls -------------------------------------------------------------------


def test_six_months_after_the_last_hygiene_visit_the_patient_is_invited_unless_booked(schedule):
    hygienist = schedule.doctor("hygiene")
    schedule.works_days(hygienist, [schedule.day(0), schedule.day(200)])
    due, booked, recent = schedule.patient(), schedule.patient(), schedule.patient()
    cleaning = _done(schedule.visit(hygienist, due, schedule.day(0), "10:00", 60))
    cleaning.kind = "hygiene"
    other = _done(schedule.visit(hygienist, booked, schedule.day(0), "11:00", 60))
    other.kind = "hygiene"
    schedule.visit(hygienist, booked, schedule.day(200), "10:00", 60)  # already booked again
    db.session.flush()
    now = schedule.at(schedule.day(0), "12:00") + timedelta(days=190)
    generate_tasks(db.session, now=now)
    assert f"recall:{cleaning.id}" in _keys("recall:") and f"recall:{other.id}" not in _keys("recall:")

    fresh = _done(schedule.visit(hygienist, recent, schedule.day(0), "12:00", 60))
    fresh.kind = "hygiene"
    db.session.flush()
    generate_tasks(db.session, now=schedule.at(schedule.day(0), "14:00") + timedelta(days=90))
    assert f"recall:{fresh.id}" not in _keys("recall:")


# -- plans to continue -----------------------------------------------------------------


def test_a_running_plan_with_nothing_booked_and_no_call_back_gets_a_call(schedule):
    doctor = schedule.doctor()
    schedule.works(doctor, schedule.day(5))
    lost, booked, calling_back, refused = (schedule.patient() for _ in range(4))
    plans = {patient.id: schedule.plan(patient, [{"minutes": 30}])[0]
             for patient in (lost, booked, calling_back, refused)}
    plans[refused.id].status, plans[refused.id].decline_reason = "declined", "Лечится в другой клинике"
    schedule.visit(doctor, booked, schedule.day(5), "10:00", 30)
    now = schedule.at(schedule.day(0), "09:00")
    create_task(db.session, schedule.owner, tab="scheduled_calls", priority=3, title="Перезвонить", patient=calling_back,
                clinic=schedule.clinic, due_at=now, status="open", call_result="call_back",
                call_back_at=now + timedelta(days=3))

    generate_tasks(db.session, now=now)
    assert _keys(f"plan:{plans[lost.id].id}:") == {f"plan:{plans[lost.id].id}:0"}
    assert not any(_keys(f"plan:{plans[patient.id].id}:") for patient in (booked, calling_back, refused))
    task = db.session.execute(select(Task).where(Task.plan_id == plans[lost.id].id)).scalar_one()
    assert (task.tab, task.queue, task.patient) == ("scheduled_calls", "call_center", lost)

    generate_tasks(db.session, now=now + timedelta(days=1))
    assert len(_keys(f"plan:{plans[lost.id].id}:")) == 1  # called once until a visit changes the picture


# -- birthdays -------------------------------------------------------------------------


def test_vip_patients_are_congratulated_on_their_birthday_once_a_year(schedule):
    now = schedule.at(date(2027, 2, 28), "08:00")
    vip, plain, leap = schedule.patient(), schedule.patient(), schedule.patient()
    vip.birth_date, plain.birth_date, leap.birth_date = date(1980, 2, 28), date(1980, 2, 28), date(1984, 2, 29)
    for patient in (vip, leap):
        patient.home_clinic = schedule.clinic
        db.session.add(PatientTag(patient_id=patient.id, tag="VIP"))
    db.session.flush()
    generate_tasks(db.session, now=now)
    assert {f"birthday:{vip.id}:2027", f"birthday:{leap.id}:2027"} <= _keys("birthday:")
    assert not _keys(f"birthday:{plain.id}:")
    generate_tasks(db.session, now=now + timedelta(days=1))
    assert len(_keys(f"birthday:{vip.id}:")) == 1


# -- the rules as the owner configures them, and the command ---------------------------


def test_an_inactive_rule_makes_nothing(schedule):
    from stompro.tasks.models import TaskRule

    rule = db.session.execute(select(TaskRule).where(TaskRule.code == "confirm_tomorrow")).scalar_one()
    rule.active = False
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works(doctor, schedule.day(1))
    visit = schedule.visit(doctor, patient, schedule.day(1), "10:00", 30)
    made = generate_tasks(db.session, now=schedule.at(schedule.day(0), "08:00"))
    assert "confirm_tomorrow" not in made and not _keys(f"confirm:{visit.id}:")


def test_the_command_says_what_each_rule_made_and_a_rerun_makes_nothing(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tasks", "generate"])
    assert first.exit_code == 0, first.output
    assert "Подтвердить визиты на завтра: " in first.output  # the rule as the owner named it
    again = runner.invoke(args=["tasks", "generate"])
    assert again.output.strip().splitlines()[-1] == "Tasks made: 0."


def test_a_key_taken_meanwhile_makes_the_task_once(schedule):
    """Two runs racing: the batch clashes on the unique key, and the subjects go in one by one."""
    from stompro.tasks.models import TaskRule
    from stompro.tasks.rules import _add_all

    rule = db.session.execute(select(TaskRule).where(TaskRule.code == "vip_birthday")).scalar_one()
    patient = schedule.patient()
    subject = {"key": f"birthday:{patient.id}:race", "patient": patient, "clinic_id": schedule.clinic.id}
    other = {"key": f"birthday:{patient.id}:other", "patient": patient, "clinic_id": schedule.clinic.id}
    assert _add_all(db.session, rule, schedule.at(schedule.day(0), "08:00"), [subject, dict(subject), other]) == 2
    assert _keys(f"birthday:{patient.id}:") == {subject["key"], other["key"]}


def test_a_document_still_to_sign_before_the_next_days_visit_makes_a_task(schedule):
    from stompro.documents.models import DocumentTemplate
    from stompro.documents.services import create_document, sign_document

    doctor, unsigned, signed = schedule.doctor(), schedule.patient(), schedule.patient()
    schedule.works(doctor, schedule.day(1))
    visit = schedule.visit(doctor, unsigned, schedule.day(1), "10:00", 30)
    other = schedule.visit(doctor, signed, schedule.day(1), "11:00", 30)
    for code in ("contract_paid_services", "consent_personal_data", "consent_therapy"):  # what the gate asks
        template = db.session.execute(select(DocumentTemplate).filter_by(code=code, language="ru")).scalar_one()
        sign_document(db.session, schedule.owner, create_document(
            db.session, schedule.owner, patient=signed, clinic=schedule.clinic, template=template))
    create_document(db.session, schedule.owner, patient=unsigned, clinic=schedule.clinic, template=template)  # a draft
    generate_tasks(db.session, now=schedule.at(schedule.day(0), "08:00"))
    [task] = db.session.execute(select(Task).where(Task.dedupe_key.like(f"documents:{visit.id}:%"))).scalars()
    assert (task.tab, task.appointment, task.title) == ("documents", visit, "Documents to sign before the visit")
    assert not _keys(f"documents:{other.id}:")


def test_an_open_task_of_the_rule_about_the_same_visit_is_not_made_again(schedule):
    """A task made by hand (or seeded without a key) is the same call."""
    from stompro.tasks.models import TaskRule

    rule = db.session.execute(select(TaskRule).where(TaskRule.code == "confirm_tomorrow")).scalar_one()
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works(doctor, schedule.day(1))
    visit = schedule.visit(doctor, patient, schedule.day(1), "10:00", 30)
    by_hand = create_task(db.session, schedule.owner, tab="regular_calls", priority=1, title="Подтвердить визит",
                          patient=patient, appointment=visit, clinic=schedule.clinic,
                          due_at=schedule.at(schedule.day(0), "08:00"))
    by_hand.rule = rule
    db.session.flush()
    generate_tasks(db.session, now=schedule.at(schedule.day(0), "08:00"))
    assert not _keys(f"confirm:{visit.id}:")


# -- a booked visit closes the calls that were only to book it -------------------------


def test_booking_the_patient_closes_their_recall_and_plan_calls_and_leaves_the_others(schedule):
    from stompro.tasks.services import record_call

    hygienist, surgeon = schedule.doctor("hygiene"), schedule.doctor("surgery")
    schedule.works_days(hygienist, [schedule.day(0), schedule.day(200)])
    schedule.works(surgeon, schedule.day(0))
    patient = schedule.patient()
    cleaning = _done(schedule.visit(hygienist, patient, schedule.day(0), "10:00", 60))
    cleaning.kind = "hygiene"
    _done(schedule.visit(surgeon, patient, schedule.day(0), "12:00", 60))
    db.session.flush()
    generate_tasks(db.session, now=schedule.at(schedule.day(1), "10:00"))  # the care call
    generate_tasks(db.session, now=schedule.at(schedule.day(0), "12:00") + timedelta(days=190))  # the recall
    recall = db.session.execute(select(Task).where(Task.dedupe_key == f"recall:{cleaning.id}")).scalar_one()
    care = db.session.execute(select(Task).where(Task.dedupe_key.like("care:%"), Task.patient_id == patient.id)).scalar_one()
    assert recall.status == care.status == "open"

    booked = schedule.visit(hygienist, patient, schedule.day(200), "10:00", 60)
    assert (recall.status, recall.call_result, recall.done_by) == ("done", "booked", schedule.owner)
    assert recall.outcome_note.startswith("Visit booked: ") and booked.doctor.short_name in recall.outcome_note
    assert care.status == "open"  # asking how the patient is was not about booking
    # the operator who booked from the slot finder records "booked" too: nothing to refuse
    assert record_call(db.session, schedule.owner, recall, "booked") is recall


def test_a_visit_that_took_place_or_was_cancelled_leaves_no_confirmation_call_open(schedule):
    doctor = schedule.doctor()
    schedule.works_days(doctor, [schedule.day(n) for n in range(2)])
    came, cancelled = schedule.visit(doctor, schedule.patient(), schedule.day(1), "10:00", 30), schedule.visit(
        doctor, schedule.patient(), schedule.day(1), "11:00", 30)
    generate_tasks(db.session, now=schedule.at(schedule.day(0), "08:00"))
    calls = {visit.id: db.session.execute(select(Task).where(Task.appointment_id == visit.id,
                                                             Task.dedupe_key.like("confirm:%"))).scalar_one()
             for visit in (came, cancelled)}
    assert {task.status for task in calls.values()} == {"open"}
    set_visit_status(db.session, schedule.owner, came, "arrived", now=schedule.at(schedule.day(1), "09:55"))
    change_visit(db.session, schedule.owner, cancelled, status="cancelled", cancel_reason="Заболела")
    assert (calls[came.id].status, calls[came.id].outcome_note) == (
        "cancelled", "Not needed any more: the visit is “Arrived”.")
    assert calls[cancelled.id].status == "cancelled" and calls[cancelled.id].done_by == schedule.owner
