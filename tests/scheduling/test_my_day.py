"""The doctor's day: only the signed-in doctor's visits of the day, in order,
with the plan stage and what is planned on which teeth."""
from datetime import time, timedelta

from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Room
from stompro.planning.services import live_stages
from stompro.scheduling.availability import at_local
from stompro.scheduling.doctor_day import doctor_day
from stompro.scheduling.services import book_visit

from ..conftest import CENTER, clinic, doctor_works, staff_by_login
from ..planning.test_schedule import build_plan
from .test_board import DAY, _patient


def _book(doctor, patient, start, room, stage=None):
    center = clinic(CENTER)
    starts_at = at_local(center, DAY, start)
    room = db.session.execute(select(Room).filter_by(clinic_id=center.id, name=room)).scalar_one()
    visit = book_visit(db.session, staff_by_login("admin"), clinic=center, room=room, doctor=doctor, patient=patient,
                       starts_at=starts_at, ends_at=starts_at + timedelta(minutes=60), plan_stage=stage)
    db.session.commit()
    return visit


def test_the_day_lists_only_my_visits_in_order_with_the_teeth(app, client, auth, doctor):
    other = staff_by_login("volkov.da")
    doctor_works(DAY)
    doctor_works(DAY, login=other.login)
    patient = _patient("Зубная")
    stages = live_stages(build_plan(patient, doctor, chosen="optimal").variants[0])
    late = _book(doctor, _patient("Поздняя"), time(15), "Кресло 2")
    early = _book(doctor, patient, time(9), "Кресло 2", stage=stages[1])
    _book(other, _patient("Чужая"), time(11), "Кресло 3")

    assert [entry.visit.id for entry in doctor_day(db.session, doctor, DAY)] == [early.id, late.id]

    auth.as_role("doctor")
    html = client.get(f"/admin/my-day/?day={DAY.isoformat()}").get_data(as_text=True)
    assert html.index("Зубная Вера") < html.index("Поздняя Вера")
    assert "Чужая" not in html
    assert "09:00–10:00" in html and "visit 2 of 5" in html
    assert "<strong>46</strong>" in html and "Simple tooth extraction" in html  # the stage's item, in the reader's language
    assert f"/admin/patient_card/{patient.id}" in html
    assert f"/admin/chart/{patient.id}" in html
    assert f"/admin/calendar/staff/{doctor.id}/appointments.ics" in html


def test_the_day_switcher_and_an_empty_day(app, client, auth):
    auth.as_role("doctor")
    html = client.get(f"/admin/my-day/?day={DAY.isoformat()}").get_data(as_text=True)
    assert "No visits on this day." in html
    assert f"day={(DAY - timedelta(days=1)).isoformat()}" in html
    assert f"day={(DAY + timedelta(days=1)).isoformat()}" in html


def test_only_doctors_have_a_day(app, client, auth):
    for role in ("administrator", "owner", "cashier"):
        auth.as_role(role)
        assert client.get("/admin/my-day/").status_code == 403, role
