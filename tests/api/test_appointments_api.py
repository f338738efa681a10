"""The schedule through the API: slots, booking, listing, moving with the
cascade, cancelling, status, booking a plan. Refusals write nothing: 409
names the visit in the way, 422 the field; roles and branches are 403."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from stompro.audit.models import AuditLog
from stompro.extensions import db
from stompro.scheduling.models import Appointment

from ..conftest import staff_by_login
from ..scheduling.conftest import Schedule
from .conftest import count


@pytest.fixture
def branch(owner):
    """A branch of the tests' own, where the demo administrator and
    coordinator work too."""
    schedule = Schedule(owner)
    admin, coordinator = staff_by_login("admin"), staff_by_login("coordinator")
    admin.clinics.append(schedule.clinic)
    coordinator.clinics.append(schedule.clinic)
    db.session.commit()
    return schedule


@pytest.fixture
def elsewhere(owner):
    """A branch the demo administrator does not work in."""
    schedule = Schedule(owner)
    db.session.commit()
    return schedule


def visit_body(branch, doctor, patient, day, clock, minutes=30, room=None, **extra):
    start = branch.at(day, clock)
    return {
        "patient_id": patient.id, "doctor_id": doctor.id, "room_id": (room or branch.chairs[0]).id,
        "start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat(), **extra,
    }


def offset(day, clock, zone="+03:00"):
    return f"{day.isoformat()}T{clock}:00{zone}"


def audit_rows():
    return db.session.scalar(select(func.count()).select_from(AuditLog))


# --- booking --------------------------------------------------------------------------


def test_booking_answers_the_visit_in_the_branchs_offset(api, branch):
    doctor, patient, day = branch.doctor(), branch.patient(), branch.day(0)
    branch.works(doctor, day)
    db.session.commit()
    api.as_role("administrator")
    body = visit_body(branch, doctor, patient, day, "10:00", kind="examination", note="First visit")
    body["start"] = branch.at(day, "10:00").isoformat().replace("+00:00", "Z")  # any offset is taken
    response = api.post("/api/v1/appointments", json=body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer == {
        "id": answer["id"], "patient_id": patient.id, "doctor_id": doctor.id, "room_id": branch.chairs[0].id,
        "clinic_id": branch.clinic.id, "start": offset(day, "10:00"), "end": offset(day, "10:30"),
        "kind": "examination", "status": "booked", "plan_stage_id": None, "version": 1,
    }
    visit = db.session.get(Appointment, answer["id"])
    assert visit.starts_at == branch.at(day, "10:00") and visit.booked_by.login == "admin"


def test_a_visit_in_the_way_is_409_naming_it_and_nothing_is_written(api, branch):
    doctor, day = branch.doctor(), branch.day(0)
    branch.works(doctor, day)
    taken = branch.visit(doctor, branch.patient(), day, "10:00", 60)
    db.session.commit()
    api.as_role("administrator")
    visits, logged = count(Appointment), audit_rows()
    response = api.post("/api/v1/appointments", json=visit_body(branch, doctor, branch.patient(), day, "10:30",
                                                                 room=branch.chairs[1]))
    assert response.status_code == 409
    answer = response.get_json()
    assert answer["conflict"] == {
        "appointment_id": taken.id, "start": offset(day, "10:00"), "end": offset(day, "11:00"),
        "doctor_id": doctor.id, "room_id": branch.chairs[0].id,
    }
    assert "already has a visit at" in answer["error"]
    assert (count(Appointment), audit_rows()) == (visits, logged)


@pytest.mark.parametrize("change, field", [
    ({"start": "2027-02-10T10:00:00"}, "start"),  # no offset
    ({"start": "tomorrow at ten"}, "start"),
    ({"end": None}, "end"),
    ({"doctor_id": 2147483647}, "doctor_id"),
    ({"room_id": "chair"}, "room_id"),
    ({"kind": "surgery"}, "kind"),
    ({"patient_id": None}, "patient_id"),
])
def test_bad_input_is_422_naming_the_field(api, branch, change, field):
    doctor, day = branch.doctor(), branch.day(0)
    branch.works(doctor, day)
    body = {**visit_body(branch, doctor, branch.patient(), day, "10:00"), **change}
    db.session.commit()
    api.as_role("administrator")
    visits = count(Appointment)
    response = api.post("/api/v1/appointments", json=body)
    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == [field]
    assert count(Appointment) == visits


def test_a_time_outside_the_shift_is_422_on_start(api, branch):
    doctor, day = branch.doctor(), branch.day(0)
    branch.works(doctor, day, ("09:00", "12:00"))
    patient = branch.patient()
    db.session.commit()
    api.as_role("call_center")
    response = api.post("/api/v1/appointments", json=visit_body(branch, doctor, patient, day, "11:30", minutes=60))
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"start": "The visit does not fit: "
                                             f"{doctor} works 09:00–12:00 on {day:%d.%m.%Y}."}


def test_only_booking_roles_book_and_only_in_their_branches(api, branch, elsewhere):
    doctor, day = elsewhere.doctor(), elsewhere.day(0)
    elsewhere.works(doctor, day)
    body = visit_body(elsewhere, doctor, elsewhere.patient(), day, "10:00")
    db.session.commit()
    visits = count(Appointment)
    for role in ("doctor", "cashier"):
        api.as_role(role)
        assert api.post("/api/v1/appointments", json=body).status_code == 403
    api.as_role("administrator")  # the centre's and the test branch's, not this one
    response = api.post("/api/v1/appointments", json=body)
    assert response.status_code == 403 and response.get_json()["error"] == "You do not work in this branch."
    api.as_role("coordinator")  # works in the test branch, not in this one
    assert api.post("/api/v1/appointments", json=body).status_code == 403
    assert count(Appointment) == visits
    api.as_role("owner")
    assert api.post("/api/v1/appointments", json=body).status_code == 201


# --- reading -------------------------------------------------------------------------


def test_listing_by_branch_day_patient_and_doctor(api, branch, elsewhere):
    doctor, patient = branch.doctor(), branch.patient()
    monday, tuesday = branch.day(0), branch.day(1)
    branch.works_days(doctor, (monday, tuesday))
    first = branch.visit(doctor, patient, monday, "10:00", 30)
    second = branch.visit(doctor, patient, tuesday, "09:00", 30)
    other_doctor = elsewhere.doctor()
    elsewhere.works(other_doctor, monday)
    hidden = elsewhere.visit(other_doctor, patient, monday, "15:00", 30)
    db.session.commit()
    api.as_role("doctor")  # a doctor reads; the demo doctor works in the centre only
    assert api.get(f"/api/v1/appointments?clinic_id={branch.clinic.id}&date={monday}").get_json() == {"appointments": []}
    api.as_role("administrator")
    day_list = api.get(f"/api/v1/appointments?clinic_id={branch.clinic.id}&date={monday}").get_json()["appointments"]
    assert [(v["id"], v["start"]) for v in day_list] == [(first.id, offset(monday, "10:00"))]
    by_patient = api.get(f"/api/v1/appointments?patient_id={patient.id}").get_json()["appointments"]
    assert [v["id"] for v in by_patient] == [first.id, second.id]  # not the other branch's
    by_doctor = api.get(f"/api/v1/appointments?doctor_id={doctor.id}&from={tuesday}&to={tuesday}").get_json()
    assert [v["id"] for v in by_doctor["appointments"]] == [second.id]
    api.as_role("owner")
    everything = api.get(f"/api/v1/appointments?patient_id={patient.id}").get_json()["appointments"]
    assert [v["id"] for v in everything] == [first.id, hidden.id, second.id]


@pytest.mark.parametrize("query, field", [
    ("", "clinic_id"),
    ("clinic_id=1", "date"),
    ("clinic_id=1&date=10.02.2027", "date"),
    ("doctor_id=1&from=2027-02-10", "to"),
    ("doctor_id=1&from=2027-02-10&to=2027-09-10", "to"),
])
def test_listing_without_a_proper_filter_is_422(api, query, field):
    api.as_role("administrator")
    response = api.get(f"/api/v1/appointments?{query}")
    assert response.status_code == 422 and field in response.get_json()["fields"]


def test_slots_best_first_in_the_branchs_offset(api, branch):
    doctor, day = branch.doctor(), branch.day(0)
    branch.works(doctor, day, ("09:00", "10:00"))
    db.session.commit()
    api.as_role("call_center")
    response = api.get(f"/api/v1/slots?doctor_id={doctor.id}&duration=30&from={day}&to={day}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["slots"] == [
        {"start": offset(day, clock), "end": offset(day, end), "doctor_id": doctor.id,
         "room_id": branch.chairs[0].id, "clinic_id": branch.clinic.id}
        for clock, end in (("09:00", "09:30"), ("09:30", "10:00"), ("09:15", "09:45"))  # 09:15 leaves gaps: last
    ]
    by_specialty = api.get(f"/api/v1/slots?specialty=therapy&clinic_id={branch.clinic.id}&duration=60&from={day}&to={day}")
    assert [s["start"] for s in by_specialty.get_json()["slots"]] == [offset(day, "09:00")]


@pytest.mark.parametrize("query, field", [
    ("duration=30&from=2027-02-10&to=2027-02-11", "doctor_id"),
    ("specialty=magic&duration=30&from=2027-02-10&to=2027-02-11", "specialty"),
    ("specialty=therapy&duration=0&from=2027-02-10&to=2027-02-11", "duration"),
    ("specialty=therapy&duration=30&from=2027-02-10", "to"),
    ("specialty=therapy&duration=30&from=2027-02-12&to=2027-02-11", "to"),
    ("specialty=therapy&duration=30&from=2027-02-10&to=2027-02-11&clinic_id=2147483647", "clinic_id"),
])
def test_slot_search_refusals_name_the_field(api, query, field):
    api.as_role("administrator")
    response = api.get(f"/api/v1/slots?{query}")
    assert response.status_code == 422 and field in response.get_json()["fields"], response.get_json()


# --- changing ------------------------------------------------------------------------


def plan_in(branch, stages, days=30):
    doctor = branch.doctor()
    branch.works_days(doctor, [branch.day(n) for n in range(days)])
    plan, made = branch.plan(branch.patient(), stages)
    db.session.commit()
    return doctor, plan, made


def booked_series(api, branch, days=30):
    """A plan of a one-hour visit and a half-hour one a week later, booked
    through the API by the administrator from the first test day: the
    doctor and the two visits' ids."""
    doctor, plan, _ = plan_in(branch, [{"minutes": 60}, {"minutes": 30, "gap": 7}], days)
    api.as_role("administrator")
    made = api.post(f"/api/v1/plans/{plan.id}/book", json={"from": branch.day(0).isoformat(), "apply": True})
    first, second = (b["appointment_id"] for b in made.get_json()["bookings"])
    return doctor, first, second


def test_booking_a_plan_previews_then_books(api, branch):
    _, plan, stages = plan_in(branch, [{"minutes": 60}, {"minutes": 30, "gap": 7}])
    api.as_role("coordinator")
    url = f"/api/v1/plans/{plan.id}/book"
    visits = count(Appointment)
    preview = api.post(url, json={"from": branch.day(0).isoformat()})
    assert preview.status_code == 200, preview.get_json()
    bookings = preview.get_json()["bookings"]
    assert [b["plan_stage_id"] for b in bookings] == [s.id for s in stages]
    assert bookings[0]["start"] == offset(branch.day(0), "09:00") and "appointment_id" not in bookings[0]
    assert count(Appointment) == visits
    applied = api.post(url, json={"from": branch.day(0).isoformat(), "apply": True})
    assert applied.status_code == 201
    made = applied.get_json()["bookings"]
    assert [(b["start"], b["plan_stage_id"]) for b in made] == [(b["start"], b["plan_stage_id"]) for b in bookings]
    assert [db.session.get(Appointment, b["appointment_id"]).plan_stage_id for b in made] == [s.id for s in stages]
    assert api.post(url, json={"apply": True}).get_json() == {"bookings": [], "unplaced": []}


def test_booking_a_plan_refusals(api, branch):
    _, plan, _ = plan_in(branch, [{"minutes": 30}])
    url = f"/api/v1/plans/{plan.id}/book"
    api.as_role("cashier")
    assert api.post(url, json={}).status_code == 403
    api.as_role("administrator")
    assert api.post("/api/v1/plans/2147483647/book", json={}).status_code == 404
    assert api.post(url, json={"horizon_days": 1000}).get_json()["fields"] == {"horizon_days": "Book at most a year ahead."}
    assert "apply" in api.post(url, json={"apply": "yes"}).get_json()["fields"]
    plan.variants[0].chosen = False
    db.session.commit()
    response = api.post(url, json={})
    assert response.status_code == 422 and "Choose a variant first" in response.get_json()["error"]


def test_moving_previews_then_applies_the_cascade(api, branch):
    doctor, first, second = booked_series(api, branch)
    url = f"/api/v1/appointments/{first}/move"
    target = offset(branch.day(2), "09:00")
    preview = api.post(url, json={"start": target}).get_json()
    assert [m["appointment_id"] for m in preview["moves"]] == [first, second] and preview["unplaced"] == []
    assert preview["moves"][0] == {
        "appointment_id": first, "old_start": offset(branch.day(0), "09:00"), "new_start": target,
        "new_end": offset(branch.day(2), "10:00"), "doctor_id": doctor.id,
        "room_id": branch.chairs[0].id, "version": 1,
    }
    assert preview["moves"][1]["new_start"] == offset(branch.day(9), "09:00")
    assert db.session.get(Appointment, second).starts_at == branch.at(branch.day(7), "09:00")  # nothing moved yet
    versions = {str(m["appointment_id"]): m["version"] for m in preview["moves"]}
    applied = api.post(url, json={"start": target, "apply": True, "versions": versions})
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["moves"] == preview["moves"]
    db.session.expire_all()
    assert db.session.get(Appointment, second).starts_at == branch.at(branch.day(9), "09:00")


def test_a_stale_preview_is_409_and_moves_nothing(api, branch):
    _, first, second = booked_series(api, branch)
    url = f"/api/v1/appointments/{first}/move"
    target = offset(branch.day(2), "09:00")
    preview = api.post(url, json={"start": target}).get_json()
    assert api.post(f"/api/v1/appointments/{second}/status", json={"status": "confirmed"}).status_code == 200
    versions = {str(m["appointment_id"]): m["version"] for m in preview["moves"]}
    logged = audit_rows()
    response = api.post(url, json={"start": target, "apply": True, "versions": versions})
    assert response.status_code == 409
    assert response.get_json()["conflict"]["appointment_id"] == second
    db.session.expire_all()
    assert db.session.get(Appointment, first).starts_at == branch.at(branch.day(0), "09:00")
    assert audit_rows() == logged


def test_a_move_that_leaves_a_visit_without_a_place_is_422_when_applied(api, branch):
    _, first, second = booked_series(api, branch, days=8)
    url = f"/api/v1/appointments/{first}/move"
    preview = api.post(url, json={"start": offset(branch.day(1), "09:00")}).get_json()
    assert [u["appointment_id"] for u in preview["unplaced"]] == [second]
    response = api.post(url, json={"start": offset(branch.day(1), "09:00"), "apply": True})
    assert response.status_code == 422 and "Some visits cannot be moved" in response.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(Appointment, first).starts_at == branch.at(branch.day(0), "09:00")


def test_cancel_and_status(api, branch):
    doctor, day = branch.doctor(), branch.day(0)
    branch.works(doctor, day)
    visit = branch.visit(doctor, branch.patient(), day, "10:00", 30)
    db.session.commit()
    api.as_role("administrator")
    cancel_url, status_url = f"/api/v1/appointments/{visit.id}/cancel", f"/api/v1/appointments/{visit.id}/status"
    assert api.post(cancel_url, json={}).get_json()["fields"] == {"reason": "Write why the visit is cancelled."}
    refused = api.post(status_url, json={"status": "done"})
    assert refused.status_code == 422 and list(refused.get_json()["fields"]) == ["status"]
    confirmed = api.post(status_url, json={"status": "confirmed"})
    assert (confirmed.status_code, confirmed.get_json()["status"]) == (200, "confirmed")
    cancelled = api.post(cancel_url, json={"reason": "The patient is ill"})
    assert cancelled.get_json()["status"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).cancel_reason == "The patient is ill"
    assert api.post("/api/v1/appointments/2147483647/cancel", json={"reason": "x"}).status_code == 404
    api.as_role("doctor")
    assert api.post(status_url, json={"status": "booked"}).status_code == 403


def test_a_visit_of_another_branch_is_404_to_the_administrator(api, elsewhere):
    doctor, day = elsewhere.doctor(), elsewhere.day(0)
    elsewhere.works(doctor, day)
    visit = elsewhere.visit(doctor, elsewhere.patient(), day, "10:00", 30)
    db.session.commit()
    api.as_role("administrator")
    assert api.post(f"/api/v1/appointments/{visit.id}/cancel", json={"reason": "x"}).status_code == 404
    assert api.post(f"/api/v1/appointments/{visit.id}/move", json={"start": offset(day, "11:00")}).status_code == 404


# --- daylight saving -------------------------------------------------------------------


def spring_clock_change():
    """The next last Sunday of March (Europe: clocks go from +01:00 to +02:00)."""
    today = date.today()
    year = today.year if date(today.year, 3, 20) > today else today.year + 1
    sunday = date(year, 3, 31)
    return sunday - timedelta(days=sunday.isoweekday() % 7)


def test_a_berlin_branch_books_at_ten_across_the_spring_clock_change(api, owner):
    berlin = Schedule(owner, zone="Europe/Berlin")
    doctor, patient = berlin.doctor(), berlin.patient()
    sunday = spring_clock_change()
    saturday, monday = sunday - timedelta(days=1), sunday + timedelta(days=1)
    berlin.works_days(doctor, (saturday, monday))
    db.session.commit()
    api.as_role("owner")
    answers = []
    for day, zone in ((saturday, "+01:00"), (monday, "+02:00")):
        response = api.post("/api/v1/appointments", json={
            "patient_id": patient.id, "doctor_id": doctor.id, "room_id": berlin.chairs[0].id,
            "start": f"{day}T10:00:00{zone}", "end": f"{day}T10:30:00{zone}",
        })
        assert response.status_code == 201, response.get_json()
        answers.append(response.get_json())
    stored = [db.session.get(Appointment, a["id"]).starts_at for a in answers]
    assert stored == [datetime(saturday.year, 3, saturday.day, 9, tzinfo=timezone.utc),
                      datetime(monday.year, 3, monday.day, 8, tzinfo=timezone.utc)]
    assert [a["start"] for a in answers] == [f"{saturday}T10:00:00+01:00", f"{monday}T10:00:00+02:00"]
