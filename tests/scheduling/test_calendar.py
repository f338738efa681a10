"""The .ics calendars of a patient's coming visits and a doctor's schedule:
they parse with icalendar, hold one event per visit that holds its time,
with a stable UID and times in the branch's zone — through the API (bearer
token) and the panel (signed in), each read only by whom it is for."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
from icalendar import Calendar

from stompro.api.auth import issue_token
from stompro.extensions import db
from stompro.scheduling.availability import at_local
from stompro.scheduling.services import book_visit, change_visit, set_visit_status

from ..api.conftest import Api
from ..conftest import clinic, doctor_works, staff_by_login

DAY = date(2027, 3, 10)  # a Wednesday the demo books nothing on
_AHEAD = date.today() + timedelta(days=400)
BEYOND_A_YEAR = _AHEAD + timedelta(days=(2 - _AHEAD.weekday()) % 7)  # a Wednesday too


@pytest.fixture
def api(client):
    return Api(client)


def _book(admin, center, patient, start, minutes=30, day=DAY):
    """A visit with the demo doctor, who works that day (conftest.doctor_works)."""
    starts_at = at_local(center, day, start)
    visit = book_visit(db.session, admin, clinic=center, room=center.rooms[0], doctor=staff_by_login("doctor"),
                       patient=patient,
                       starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), kind="treatment")
    db.session.commit()
    return visit


def _events(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.get_data())
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}, calendar


def test_a_patients_calendar_holds_their_coming_visits_in_the_branchs_zone(app, api, admin, center, patient):
    doctor_works(DAY)
    first = _book(admin, center, patient, time(10))
    second = _book(admin, center, patient, time(14), minutes=60)
    cancelled = _book(admin, center, patient, time(16))
    set_visit_status(db.session, admin, cancelled, "cancelled", "Перенос")
    db.session.commit()

    api.as_role("administrator")
    events, calendar = _events(api.get(f"/api/v1/patients/{patient.id}/appointments.ics"))

    assert set(events) == {f"appointment-{first.id}@stompro", f"appointment-{second.id}@stompro"}
    event = events[f"appointment-{first.id}@stompro"]
    assert event["DTSTART"].params["TZID"] == "Europe/Moscow"
    assert event.decoded("DTSTART") == datetime(2027, 3, 10, 10, tzinfo=event.decoded("DTSTART").tzinfo)
    assert event.decoded("DTSTART").astimezone(timezone.utc) == datetime(2027, 3, 10, 7, tzinfo=timezone.utc)
    assert event.decoded("DTEND").astimezone(timezone.utc) == datetime(2027, 3, 10, 7, 30, tzinfo=timezone.utc)
    assert str(event["SUMMARY"]) == "Treatment — Ковалёва Марина Сергеевна"
    assert str(event["LOCATION"]).startswith(f"{center.name}, {center.address}, {center.rooms[0].name}")
    assert str(event["STATUS"]) == "TENTATIVE"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Moscow"]
    assert patient.full_name in str(calendar["X-WR-CALNAME"])


def test_a_moved_visit_keeps_its_uid_and_counts_up_its_sequence(app, api, admin, center, patient):
    doctor_works(DAY)
    visit = _book(admin, center, patient, time(10))
    api.as_role("administrator")
    before, _ = _events(api.get(f"/api/v1/patients/{patient.id}/appointments.ics"))
    change_visit(db.session, admin, visit, starts_at=visit.starts_at + timedelta(hours=2),
                 ends_at=visit.ends_at + timedelta(hours=2))
    db.session.commit()
    after, _ = _events(api.get(f"/api/v1/patients/{patient.id}/appointments.ics"))
    uid = f"appointment-{visit.id}@stompro"
    assert set(before) == set(after) == {uid}
    assert after[uid].decoded("DTSTART").astimezone(timezone.utc) == datetime(2027, 3, 10, 9, tzinfo=timezone.utc)
    assert after[uid]["SEQUENCE"] > before[uid]["SEQUENCE"]


def test_a_berlin_branch_writes_berlin_time(app, api, owner, patient):
    berlin = clinic("StomPRO Центр")
    berlin.time_zone = "Europe/Berlin"
    db.session.commit()
    doctor_works(DAY)
    visit = _book(owner, berlin, patient, time(10))
    api.as_role("owner")
    events, calendar = _events(api.get(f"/api/v1/patients/{patient.id}/appointments.ics"))
    event = events[f"appointment-{visit.id}@stompro"]
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART").astimezone(timezone.utc) == datetime(2027, 3, 10, 9, tzinfo=timezone.utc)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_a_doctors_calendar_holds_their_visits_with_the_patients(app, api, admin, center, patient):
    doctor_works(DAY)
    doctor_works(BEYOND_A_YEAR)
    mine = _book(admin, center, patient, time(10))
    far = _book(admin, center, patient, time(10), day=BEYOND_A_YEAR)

    api.as_role("doctor")
    doctor = staff_by_login("doctor")
    events, calendar = _events(api.get(f"/api/v1/staff/{doctor.id}/appointments.ics"))
    assert f"appointment-{mine.id}@stompro" in events
    assert f"appointment-{far.id}@stompro" not in events  # beyond a year ahead
    assert str(events[f"appointment-{mine.id}@stompro"]["SUMMARY"]) == f"{patient.full_name} — Treatment"
    assert all(str(e["UID"]).startswith("appointment-") for e in events.values())


def test_who_reads_which_calendar(app, api, admin, center, patient):
    doctor_works(DAY)
    _book(admin, center, patient, time(10))
    doctor = staff_by_login("doctor")
    patient_url = f"/api/v1/patients/{patient.id}/appointments.ics"
    doctor_url = f"/api/v1/staff/{doctor.id}/appointments.ics"

    assert api.get(patient_url).status_code == 401
    for role in ("owner", "administrator", "doctor", "cashier", "call_center", "coordinator"):
        api.as_role(role)
        assert api.get(patient_url).status_code == 200, role
    api.as_role("administrator")
    assert api.get(doctor_url).status_code == 200
    for role in ("cashier", "call_center", "coordinator"):
        api.as_role(role)
        assert api.get(doctor_url).status_code == 403, role

    # A doctor reads their own schedule, not a colleague's; the south's
    # administrator neither the centre's doctor nor a centre patient.
    api.token = issue_token(staff_by_login("lebedev.io"))
    assert api.get(doctor_url).status_code == 403
    api.token = issue_token(staff_by_login("frolova.ys"))
    assert api.get(doctor_url).status_code == 403
    assert api.get(patient_url).status_code == 403

    api.as_role("owner")
    assert api.get(f"/api/v1/staff/{staff_by_login('admin').id}/appointments.ics").status_code == 404
    assert api.get("/api/v1/patients/999999/appointments.ics").status_code == 404


def test_the_panel_offers_the_same_files_to_the_signed_in(app, client, auth, admin, center, patient):
    doctor_works(DAY)
    visit = _book(admin, center, patient, time(10))
    doctor = staff_by_login("doctor")
    assert client.get(f"/admin/calendar/patients/{patient.id}/appointments.ics").status_code == 302  # sign in first

    auth.as_role("administrator")
    response = client.get(f"/admin/calendar/patients/{patient.id}/appointments.ics")
    events, _ = _events(response)
    assert set(events) == {f"appointment-{visit.id}@stompro"}
    assert response.headers["Content-Disposition"] == f'attachment; filename="visits-{patient.id}.ics"'

    auth.as_role("doctor")
    events, _ = _events(client.get(f"/admin/calendar/staff/{doctor.id}/appointments.ics"))
    assert f"appointment-{visit.id}@stompro" in events
    auth.as_login("lebedev.io")
    assert client.get(f"/admin/calendar/staff/{doctor.id}/appointments.ics").status_code == 403
    assert client.get("/admin/calendar/staff/999999/appointments.ics").status_code == 404


def test_the_patient_card_shows_coming_visits_on_the_branchs_clock_and_links_the_calendar(
        app, client, auth, owner, patient):
    berlin = clinic("StomPRO Центр")
    berlin.time_zone = "Europe/Berlin"
    db.session.commit()
    doctor_works(DAY)
    _book(owner, berlin, patient, time(10))
    link = f'href="/admin/calendar/patients/{patient.id}/appointments.ics"'

    auth.as_role("administrator")
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert "10.03.2027 10:00–10:30" in card  # Berlin's clock, not the panel's Moscow time
    assert link in card

    auth.as_login("frolova.ys")  # the south's administrator: not a patient of hers
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert "10.03.2027 10:00–10:30" in card and link not in card
