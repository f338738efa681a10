"""Shifts made from a weekly pattern for a date range: on the screen
/admin/shift/generate/ and in scheduling.shifts.generate_shifts — the days
of the ticked weekdays at their hours on the branch's clock, days that
already have a shift of the person left as they are, bad patterns refused
naming the field with nothing written."""
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from stompro.errors import DomainError
from stompro.extensions import db
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Shift
from stompro.scheduling.shifts import generate_shifts

from ..admin.pages import form_data, main_form, option
from ..conftest import CENTER, clinic, staff_by_login

MONDAY = date(2027, 9, 6)  # far past the demo's shifts
SUNDAY = MONDAY + timedelta(days=13)  # two weeks


def _shifts(person):
    return db.session.execute(
        select(Shift).where(Shift.staff_id == person.id, Shift.deleted_at.is_(None),
                            Shift.work_date.between(MONDAY, SUNDAY))
        .order_by(Shift.starts_at)
    ).scalars().all()


def test_a_pattern_makes_the_ticked_weekdays_at_their_hours_and_skips_days_already_planned(app, owner, doctor):
    center = clinic(CENTER)
    week = {1: (time(9), time(15)), 3: (time(12), time(20))}
    made = generate_shifts(db.session, owner, doctor, center, MONDAY, SUNDAY, week)
    assert [(s.work_date, s.starts_at, s.ends_at) for s in made] == [
        (day, at_local(center, day, week[day.isoweekday()][0]), at_local(center, day, week[day.isoweekday()][1]))
        for day in (MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=7), MONDAY + timedelta(days=9))
    ]
    again = generate_shifts(db.session, owner, doctor, center, MONDAY, SUNDAY, {**week, 5: (time(9), time(13))})
    assert [s.work_date for s in again] == [MONDAY + timedelta(days=4), MONDAY + timedelta(days=11)]  # the Fridays
    assert len(_shifts(doctor)) == 6


@pytest.mark.parametrize("first, last, week, field", [
    (MONDAY, MONDAY - timedelta(days=1), {1: (time(9), time(15))}, "last_day"),
    (MONDAY, MONDAY + timedelta(days=400), {1: (time(9), time(15))}, "last_day"),
    (MONDAY, SUNDAY, {}, "week"),
    (MONDAY, SUNDAY, {2: (time(15), time(9))}, "week_2"),
])
def test_a_bad_pattern_is_refused_naming_the_field(app, owner, doctor, first, last, week, field):
    with pytest.raises(DomainError) as refused:
        generate_shifts(db.session, owner, doctor, clinic(CENTER), first, last, week)
    assert refused.value.field == field
    assert _shifts(doctor) == []


def _pattern(client, **days):
    form = main_form(client.get("/admin/shift/generate/").get_data(as_text=True))
    fields = {"staff": option(form, "staff", "Ковалёва"), "clinic": option(form, "clinic", "Центр"),
              "room": "0", "first_day": f"{MONDAY:%d.%m.%Y}", "last_day": f"{SUNDAY:%d.%m.%Y}"}
    for number, (starts, ends) in days.items():
        fields.update({f"{number}-works": "y", f"{number}-starts": starts, f"{number}-ends": ends})
    return client.post("/admin/shift/generate/", data=form_data(form, **fields), follow_redirects=True)


def test_the_owner_makes_two_weeks_of_shifts_on_the_screen(app, client, auth):
    doctor = staff_by_login("doctor")
    auth.as_role("owner")
    page = _pattern(client, day_2=("09:00", "18:00"), day_4=("07:00", "15:00")).get_data(as_text=True)
    assert "Shifts made: 4." in page
    assert "The branch works from 09:00 to 21:00: visits are booked only within those hours of a shift." in page
    assert [s.work_date.isoweekday() for s in _shifts(doctor)] == [2, 4, 2, 4]

    page = _pattern(client, day_2=("09:00", "18:00")).get_data(as_text=True)
    assert "No shift made: every one of those days already has a shift of Ковалёва М.С." in page
    assert len(_shifts(doctor)) == 4


def test_hours_in_the_wrong_order_keep_the_form_and_make_nothing(app, client, auth):
    auth.as_role("administrator")
    response = _pattern(client, day_1=("18:00", "09:00"))
    page = response.get_data(as_text=True)
    assert "On each day chosen, the end comes after the start." in page
    assert 'value="18:00"' in page  # what was typed stays
    assert db.session.scalar(select(func.count()).select_from(Shift).where(Shift.work_date.between(MONDAY, SUNDAY))) == 0


def test_a_doctor_may_not_make_shifts(app, client, auth):
    auth.as_role("doctor")
    assert client.get("/admin/shift/generate/").status_code == 403
