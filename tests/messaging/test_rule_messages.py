"""Recalls, care messages and birthday greetings: planned by the task rules
in the outbox (messaging.outbox.plan_patient_message), once per subject,
from the templates, out of the quiet hours, only to patients who agreed."""
from datetime import date, timedelta

from sqlalchemy import select

from stompro.extensions import db
from stompro.messaging.models import Message
from stompro.patients.models import PatientTag
from stompro.tasks.models import Task
from stompro.tasks.rules import generate_tasks

from .test_dispatch import sent_keys


def _messages(kind, patient):
    return db.session.execute(
        select(Message).where(Message.kind == kind, Message.patient_id == patient.id)).scalars().all()


def _done(visit, kind=None):
    visit.status = "done"
    visit.kind = kind or visit.kind
    db.session.flush()
    return visit


def test_the_day_after_an_operation_the_patient_gets_a_care_message_with_the_call(app, schedule):
    surgeon = schedule.doctor("surgery")
    schedule.works(surgeon, schedule.day(0))
    schedule.clinic.phone = "+74951234567"
    operated, silent = schedule.patient(), schedule.patient(sms_consent=False)
    operation = _done(schedule.visit(surgeon, operated, schedule.day(0), "10:00", 60))
    _done(schedule.visit(surgeon, silent, schedule.day(0), "12:00", 60))
    now = schedule.at(schedule.day(1), "08:00")  # inside the quiet hours, which end at 09:00

    generate_tasks(db.session, now=now)
    [message] = _messages("care", operated)
    assert (message.channel, message.recipient, message.status, message.language) == (
        "sms", operated.phone, "scheduled", "en")
    assert message.appointment_id is None and message.dedupe_key == f"care:{operation.id}"
    assert message.send_at == schedule.at(schedule.day(1), "09:00")
    assert message.expires_at == message.send_at + timedelta(hours=12)
    assert message.body.startswith(f"{operated.first_name}, how are you feeling after the operation?")
    assert message.body.endswith("call +7 495 123-45-67")
    assert not _messages("care", silent)  # no consent: the care call is the only contact
    assert db.session.execute(select(Task).where(Task.patient_id == silent.id)).scalars().all()

    generate_tasks(db.session, now=now + timedelta(hours=3))
    assert len(_messages("care", operated)) == 1


def test_a_hygiene_recall_writes_to_the_patient_by_e_mail_when_that_is_what_they_agreed_to(app, schedule):
    hygienist = schedule.doctor("hygiene")
    schedule.works(hygienist, schedule.day(0))
    patient = schedule.patient(sms_consent=False, email="anna@example.org", email_consent=True)
    cleaning = _done(schedule.visit(hygienist, patient, schedule.day(0), "10:00", 60), kind="hygiene")
    now = schedule.at(schedule.day(0), "12:00") + timedelta(days=190)

    generate_tasks(db.session, now=now)
    [message] = _messages("recall", patient)
    assert (message.channel, message.recipient, message.dedupe_key) == ("email", "anna@example.org",
                                                                        f"recall:{cleaning.id}")
    assert "last professional cleaning" in message.body
    assert message.expires_at == message.send_at + timedelta(days=7)


def test_a_vip_birthday_greeting_goes_once_and_is_sent_once(app, schedule, sent_file):
    vip = schedule.patient()
    vip.birth_date, vip.home_clinic = date(1980, 3, 15), schedule.clinic
    db.session.add(PatientTag(patient_id=vip.id, tag="VIP"))
    db.session.flush()
    now = schedule.at(date(2027, 3, 15), "11:00")

    generate_tasks(db.session, now=now)
    generate_tasks(db.session, now=now + timedelta(hours=1))
    [message] = _messages("birthday", vip)
    assert message.body == f"Happy birthday, {vip.first_name}! Good health and a beautiful smile from {schedule.clinic.name}."
    assert message.send_at == now

    from stompro.messaging.dispatch import dispatch

    dispatch(db.session, app.config, now=now + timedelta(minutes=1))
    dispatch(db.session, app.config, now=now + timedelta(minutes=2))
    assert sent_keys(sent_file, f"birthday:{vip.id}:") == [f"birthday:{vip.id}:2027"]
    db.session.refresh(message)
    assert message.status == "sent"


def test_an_inactive_rule_writes_to_no_one(app, schedule):
    from stompro.tasks.models import TaskRule

    vip = schedule.patient()
    vip.birth_date, vip.home_clinic = date(1980, 3, 15), schedule.clinic
    db.session.add(PatientTag(patient_id=vip.id, tag="VIP"))
    db.session.execute(select(TaskRule).where(TaskRule.code == "vip_birthday")).scalar_one().active = False
    db.session.flush()
    generate_tasks(db.session, now=schedule.at(date(2027, 3, 15), "11:00"))
    assert not _messages("birthday", vip)
