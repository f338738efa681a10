"""The outbox: what booking, moving and cancelling a visit plan (messaging.outbox)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.messaging.models import Message, MessageTemplate
from stompro.messaging.outbox import outside_quiet_hours, render
from stompro.scheduling.availability import clinic_zone
from stompro.scheduling.services import change_visit, set_visit_status
from stompro.tasks.models import Task

from .conftest import messages_of

def book(schedule, day_offset=0, clock="10:00", minutes=30, **patient_fields):
    doctor = schedule.doctor()
    schedule.works_days(doctor, [schedule.day(day_offset), schedule.day(day_offset + 1)], hours=("08:00", "20:00"))
    patient = schedule.patient(**patient_fields)
    return schedule.visit(doctor, patient, schedule.day(day_offset), clock, minutes)


def test_booking_plans_four_messages_at_their_times(app, schedule):
    visit = book(schedule, clock="10:00", minutes=60)
    rows = messages_of(visit)
    assert set(rows) == {"booked", "day_before", "hours_before", "after_visit"}
    assert all(row.status == "scheduled" and row.channel == "sms" for row in rows.values())
    assert all(row.recipient == visit.patient.phone and row.language == "en" for row in rows.values())
    # right away, unless the suite runs in the clinic's quiet hours: then at their end
    right_away = outside_quiet_hours(visit.created_at, clinic_zone(visit.clinic))
    assert abs(rows["booked"].send_at - right_away) < timedelta(minutes=1)
    assert rows["day_before"].send_at == visit.starts_at - timedelta(days=1)
    # 10:00 - 3 h = 07:00, inside the quiet hours: the end of them, 09:00 the same day
    assert rows["hours_before"].send_at == schedule.at(schedule.day(0), "09:00")
    assert rows["after_visit"].send_at == visit.ends_at + timedelta(hours=2)
    assert rows["hours_before"].expires_at == visit.starts_at
    # in the patient's (the clinic's) language, with the date, time, doctor and address
    booked = rows["booked"].body
    assert "10:00" in booked and visit.doctor.short_name in booked and "Test street 1" in booked
    assert schedule.day(0).strftime("%B") in booked
    assert rows["booked"].dedupe_key == f"visit:{visit.id}:booked:v1"


def test_quiet_hours_move_a_late_message_to_the_morning(app, schedule):
    visit = book(schedule, clock="19:00", minutes=60)  # ends 20:00, "after" at 22:00 → next day 09:00
    assert messages_of(visit)["after_visit"].send_at == schedule.at(schedule.day(1), "09:00")
    assert messages_of(visit)["hours_before"].send_at == visit.starts_at - timedelta(hours=3)


def test_quiet_hours_are_the_branchs(app):
    vladivostok = ZoneInfo("Asia/Vladivostok")
    late = datetime(2027, 3, 1, 22, 15, tzinfo=vladivostok)
    assert outside_quiet_hours(late, vladivostok).astimezone(vladivostok).hour == 9
    assert outside_quiet_hours(late, vladivostok).astimezone(vladivostok).day == 2
    noon = late.replace(hour=12)
    assert outside_quiet_hours(noon, vladivostok) == noon


def test_too_late_reminders_expire(app, schedule):
    # 08:30: three hours before is 05:30, quiet until 09:00 — after the start
    visit = book(schedule, clock="08:30")
    assert messages_of(visit)["hours_before"].status == "expired"
    assert messages_of(visit)["day_before"].status == "scheduled"


def test_a_visit_soon_gets_no_redundant_reminders(app, schedule):
    """Booked today for in two hours: the booking message says it all."""
    from stompro.messaging import outbox

    visit = book(schedule, clock="14:00")
    now = visit.starts_at - timedelta(hours=2)
    db.session.execute(db.delete(Message).where(Message.appointment_id == visit.id))
    planned = {row.kind: row for row in outbox.plan_visit_messages(db.session, visit, now=now)}
    assert planned["booked"].status == "scheduled" and planned["booked"].send_at == now
    assert planned["day_before"].status == "expired"
    assert planned["hours_before"].status == "expired"
    assert planned["after_visit"].status == "scheduled"


def test_moving_replans_the_unsent_messages(app, schedule, owner):
    visit = book(schedule, clock="10:00")
    before = messages_of(visit)
    new_start = schedule.at(schedule.day(0), "15:00")
    change_visit(db.session, owner, visit, starts_at=new_start, ends_at=new_start + timedelta(minutes=30))
    cancelled = messages_of(visit, "cancelled")
    assert {row.id for row in cancelled} == {row.id for row in before.values()}
    after = messages_of(visit)
    assert all(row.status == "scheduled" for row in after.values())
    assert after["hours_before"].send_at == new_start - timedelta(hours=3)
    assert "15:00" in after["booked"].body and "10:00" not in after["booked"].body
    assert after["booked"].dedupe_key == f"visit:{visit.id}:booked:v2"
    # moving it back makes new rows again, never reusing a key
    change_visit(db.session, owner, visit, starts_at=visit.starts_at - timedelta(hours=5),
                 ends_at=visit.ends_at - timedelta(hours=5))
    assert messages_of(visit)["booked"].dedupe_key == f"visit:{visit.id}:booked:v3"


def test_moving_after_the_booking_message_went_does_not_repeat_it(app, schedule, owner):
    visit = book(schedule, clock="10:00")
    sent = messages_of(visit)["booked"]
    sent.status = "sent"
    db.session.flush()
    new_start = schedule.at(schedule.day(1), "12:00")
    change_visit(db.session, owner, visit, starts_at=new_start, ends_at=new_start + timedelta(minutes=30))
    rows = messages_of(visit)
    assert rows["booked"].id == sent.id and rows["booked"].status == "sent"
    assert "12:00" in rows["day_before"].body and rows["day_before"].status == "scheduled"


def test_a_note_changes_no_message(app, schedule, owner):
    visit = book(schedule)
    before = {row.id for row in messages_of(visit).values()}
    change_visit(db.session, owner, visit, note="Bring the X-ray")
    assert {row.id for row in messages_of(visit).values()} == before


def test_cancelling_cancels_and_notices_a_told_patient(app, schedule, owner):
    visit = book(schedule)
    booked = messages_of(visit)["booked"]
    booked.status, booked.sent_at = "sent", booked.send_at
    db.session.flush()
    set_visit_status(db.session, owner, visit, "cancelled", "Patient asked")
    rows = messages_of(visit)
    assert rows["booked"].status == "sent"
    assert all(rows[kind].status == "cancelled" for kind in ("day_before", "hours_before", "after_visit"))
    assert rows["cancelled"].status == "scheduled" and rows["cancelled"].channel == "sms"
    assert "cancelled" in rows["cancelled"].body and "10:00" in rows["cancelled"].body


def test_cancelling_before_anything_went_sends_no_notice(app, schedule, owner):
    visit = book(schedule)
    set_visit_status(db.session, owner, visit, "cancelled", "Patient asked")
    rows = messages_of(visit)
    assert "cancelled" not in rows
    assert all(row.status == "cancelled" for row in rows.values())


def test_a_no_show_cancels_without_notice(app, schedule, owner):
    visit = book(schedule)
    messages_of(visit)["booked"].status = "sent"
    db.session.flush()
    set_visit_status(db.session, owner, visit, "no_show")
    rows = messages_of(visit)
    assert "cancelled" not in rows and rows["after_visit"].status == "cancelled"


def test_without_sms_consent_email_with_consent(app, schedule):
    visit = book(schedule, sms_consent=False, email="olga@example.org", email_consent=True)
    rows = messages_of(visit)
    assert len(rows) == 4 and all(row.channel == "email" for row in rows.values())
    assert rows["booked"].recipient == "olga@example.org"
    assert rows["booked"].subject and "10:00" in rows["booked"].subject


@pytest.mark.parametrize("fields", [
    {"sms_consent": False},
    {"sms_consent": False, "email": "olga@example.org"},  # an address, but no consent to write to it
])
def test_without_consent_a_call_task(app, schedule, fields):
    visit = book(schedule, **fields)
    assert messages_of(visit) == {}
    task = db.session.execute(select(Task).where(Task.dedupe_key == f"visit:{visit.id}:tell")).scalar_one()
    assert task.tab == "regular_calls" and task.appointment_id == visit.id and task.status == "open"
    assert task.title.startswith("Tell the patient")


def test_templates_are_sandboxed(app):
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_a_broken_template_fails_its_message_not_the_booking(app, schedule):
    template = db.session.execute(select(MessageTemplate).where(
        MessageTemplate.code == "after_visit", MessageTemplate.channel == "sms", MessageTemplate.language == "en",
    )).scalar_one()
    template.body = "{{ patient_first_name.__class__.__base__.__subclasses__() }}"
    db.session.flush()
    visit = book(schedule)
    after = messages_of(visit)["after_visit"]
    assert after.status == "failed" and "cannot be rendered" in after.error
    assert messages_of(visit)["booked"].status == "scheduled"
    assert db.session.execute(select(Task).where(Task.dedupe_key == f"message:{after.id}:failed")).scalar_one()


def test_every_visit_template_exists_in_both_languages(app):
    from stompro.messaging.models import TEMPLATE_OF_KIND

    have = set(db.session.execute(select(MessageTemplate.code, MessageTemplate.channel,
                                         MessageTemplate.language)).all())
    for kind in ("booked", "day_before", "hours_before", "after_visit", "cancelled"):
        for channel in ("sms", "email"):
            for language in ("ru", "en"):
                assert (TEMPLATE_OF_KIND[kind], channel, language) in have


def test_utc_moments(app, schedule):
    visit = book(schedule)
    assert all(row.send_at.tzinfo == timezone.utc for row in messages_of(visit).values())
