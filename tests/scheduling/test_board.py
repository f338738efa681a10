"""The schedule board: what a day shows (columns, blocks, "visit k of n",
free time only inside working time) and every action's write path — valid
and refused — with the database checked afterwards."""
import html
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from stompro.extensions import db
from stompro.org.models import Room, Specialty
from stompro.patients.models import Patient
from stompro.planning.services import live_stages
from stompro.scheduling.availability import at_local, local_day
from stompro.scheduling.board import build_board
from stompro.scheduling.models import Appointment, Closure, WaitingEntry
from stompro.scheduling.services import book_visit

from ..admin.pages import form_data, form_errors, main_form, option, pick
from ..admin.test_queries import QueryCounter
from ..conftest import CENTER, SOUTH, clinic, doctor_works, staff_by_login
from ..planning.test_schedule import build_plan

DAY = date(2027, 3, 10)  # a Wednesday far past the demo's visits: the centre works
NOW = datetime(2027, 3, 1, 9, tzinfo=timezone.utc)


def _patient(last_name="Доскина"):
    patient = Patient(last_name=last_name, first_name="Вера", birth_date=date(1979, 5, 6), phone="+79160003344")
    db.session.add(patient)
    db.session.flush()
    return patient


def _room(name="Кресло 2", branch=CENTER):
    return db.session.execute(select(Room).filter_by(clinic_id=clinic(branch).id, name=name)).scalar_one()


def _book(doctor, patient, start, minutes=45, day=DAY, stage=None, room="Кресло 2"):
    center = clinic(CENTER)
    starts_at = at_local(center, day, start)
    visit = book_visit(db.session, staff_by_login("admin"), clinic=center, room=_room(room), doctor=doctor,
                       patient=patient, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                       plan_stage=stage)
    db.session.commit()
    return visit


def _column(board, doctor):
    return next(c for c in board.columns if c.doctor is not None and c.doctor.id == doctor.id)


def _cell(column, clock):
    return next(c for c in column.cells if c.clock == clock)


def _post(client, auth, path, payload, day=DAY):
    return client.post(f"/admin/schedule/{path}?clinic={clinic(CENTER).id}&day={day.isoformat()}", json=payload,
                       headers={"X-CSRFToken": auth.csrf_token()})


def _visits():
    return db.session.scalar(select(func.count()).select_from(Appointment))


@pytest.fixture
def planned(app, doctor):
    """A patient with a chosen five-stage plan (its fourth stage runs beside the third)."""
    patient = _patient("Планова")
    plan = build_plan(patient, doctor, chosen="optimal")
    db.session.commit()
    return patient, live_stages(plan.variants[0])


# -- what the day shows ------------------------------------------------------------


def test_a_day_shows_blocks_with_their_stage_and_free_time_only_inside_the_shift(app, planned):
    patient, stages = planned
    doctor = doctor_works(DAY, hours=(time(10), time(14)))
    visit = _book(doctor, patient, time(11), minutes=45, stage=stages[1])

    board = build_board(db.session, clinic(CENTER), DAY, now=NOW)
    column = _column(board, doctor)
    assert [c.doctor.short_name for c in board.columns] == sorted(c.doctor.short_name for c in board.columns)
    assert _cell(column, "09:00").state == "off"  # the branch is open, the doctor's shift starts at 10:00
    assert _cell(column, "09:45").state == "off"
    assert _cell(column, "10:00").state == "free"
    assert _cell(column, "11:00").state == "busy"
    assert _cell(column, "11:30").state == "busy"
    assert _cell(column, "11:45").state == "free"
    assert _cell(column, "13:45").state == "free"
    assert _cell(column, "14:00").state == "off"
    assert {c.state for c in column.cells if c.clock >= "14:00"} == {"off"}
    assert _cell(column, "10:00").doctor_id == doctor.id

    [block] = column.blocks
    assert block.visit.id == visit.id
    assert (block.offset, block.length, block.clock) == (120, 45, "11:00–11:45")  # from 09:00, the branch's opening
    assert (block.stage.number, block.stage.count, block.stage.parallel) == (2, 5, False)
    assert not block.overdue
    assert block.next_statuses == ("confirmed", "arrived", "no_show", "cancelled")


def test_the_page_shows_the_block_the_stage_and_the_parallel_mark(app, client, auth, planned):
    patient, stages = planned
    doctor = doctor_works(DAY)
    _book(doctor, patient, time(10), stage=stages[3])  # the hygiene visit beside the implant
    auth.as_role("administrator")
    html = client.get(f"/admin/schedule/?day={DAY.isoformat()}").get_data(as_text=True)
    assert "Планова Вера" in html
    assert "visit 4 of 5" in html and "parallel" in html
    assert 'data-free data-doctor="%s"' % doctor.id in html


def test_a_passed_start_without_arrival_is_overdue(app, planned):
    patient, _ = planned
    doctor = doctor_works(DAY)
    _book(doctor, patient, time(10))
    after = at_local(clinic(CENTER), DAY, time(10, 5))
    [block] = _column(build_board(db.session, clinic(CENTER), DAY, now=after), doctor).blocks
    assert block.overdue


def test_closures_and_absences_are_named_in_the_column_heads(app, doctor):
    center = clinic(CENTER)
    db.session.add(Closure(clinic=center, first_day=DAY, last_day=DAY, reason="Санитарный день"))
    db.session.flush()
    board = build_board(db.session, center, DAY, now=NOW)
    assert "Closed: Санитарный день" in _column(board, doctor).notes


def test_the_week_of_one_doctor_has_a_column_per_working_day(app, planned):
    patient, _ = planned
    doctor = doctor_works(DAY)
    _book(doctor, patient, time(12))
    board = build_board(db.session, clinic(CENTER), DAY, view="week", focus=doctor.id, now=NOW)
    assert [c.day for c in board.columns] == [DAY - timedelta(days=2) + timedelta(days=n) for n in range(6)]
    assert [len(c.blocks) for c in board.columns] == [0, 0, 1, 0, 0, 0]


def test_chairs_as_columns_show_who_works_in_them(app, planned):
    patient, _ = planned
    doctor = doctor_works(DAY)
    _book(doctor, patient, time(12), room="Кресло 3")
    board = build_board(db.session, clinic(CENTER), DAY, layout="chair", now=NOW)
    chair = next(c for c in board.columns if c.room is not None and c.room.name == "Кресло 3")
    assert [b.visit.patient_id for b in chair.blocks] == [patient.id]


def test_the_waiting_room_lists_arrivals_and_alerts_after_the_setting(app, planned):
    patient, _ = planned
    center = clinic(CENTER)
    doctor = doctor_works(DAY)
    visit = _book(doctor, patient, time(10))
    visit.status, visit.arrived_at = "arrived", at_local(center, DAY, time(9, 50))
    db.session.commit()
    board = build_board(db.session, center, DAY, now=at_local(center, DAY, time(10, 4)))
    [waiting] = board.waiting_room
    assert (waiting.minutes, waiting.alert) == (14, False)
    [waiting] = build_board(db.session, center, DAY, now=at_local(center, DAY, time(10, 5))).waiting_room
    assert waiting.alert
    tomorrow = DAY + timedelta(days=1)
    assert build_board(db.session, center, tomorrow, now=at_local(center, DAY, time(10, 5))).waiting_room is None
    week = build_board(db.session, center, DAY, view="week", focus=doctor.id, now=at_local(center, DAY, time(10, 5)))
    assert [w.visit for w in week.waiting_room] == [visit]


# -- actions -------------------------------------------------------------------------


def test_booking_free_time_from_the_board(app, client, auth, doctor):
    doctor_works(DAY)
    patient = _patient()
    db.session.commit()
    auth.as_role("administrator")
    response = _post(client, auth, "visits", {
        "patient_id": patient.id, "doctor_id": doctor.id, "room_id": _room().id, "day": DAY.strftime("%d.%m.%Y"),
        "time": "10:15", "duration": "30", "kind": "hygiene",
    })
    assert response.status_code == 200, response.get_json()
    assert "Доскина Вера" in response.get_json()["grid"]
    answer = response.get_json()
    assert (answer["notice"], answer["day"]) == ("Booked: Доскина Вера, 10.03.2027 10:15–10:45, Ковалёва М.С., Кресло 2.",
                                                 "2027-03-10")
    visit = db.session.execute(select(Appointment).filter_by(patient_id=patient.id)).scalar_one()
    assert visit.starts_at == at_local(clinic(CENTER), DAY, time(10, 15))
    assert visit.ends_at - visit.starts_at == timedelta(minutes=30)
    assert (visit.kind, visit.status, visit.booked_by.login) == ("hygiene", "booked", "admin")


@pytest.mark.parametrize("changes, field, message", [
    ({"time": "19:00"}, "starts_at", "Ковалёва М.С. works 09:00–18:00 on 10.03.2027 in this branch."),
    ({"time": "25:99"}, "time", "Enter the time as HH:MM."),
    ({"day": "yesterday"}, "day", "Enter a date that exists, as dd.mm.yyyy."),
    ({"day": "31.02.2027"}, "day", "Enter a date that exists, as dd.mm.yyyy."),
    ({"time": "10:07"}, "time", "Visits start on the board's grid: every 5 minutes (10:05, 10:10 …)."),
    ({"duration": "0"}, "duration", "A visit lasts from 5 minutes to 12 hours."),
    ({"patient_id": None}, "patient", "This field is required."),
    ({"kind": "surgery-x"}, "kind", "Unknown kind of visit."),
])
def test_booking_refused_names_the_field_and_writes_nothing(app, client, auth, doctor, changes, field, message):
    doctor_works(DAY)
    patient = _patient()
    db.session.commit()
    auth.as_role("administrator")
    before = _visits()
    payload = {"patient_id": patient.id, "doctor_id": doctor.id, "room_id": _room().id, "day": DAY.strftime("%d.%m.%Y"),
               "time": "10:00", "duration": "30", "kind": "treatment", **changes}
    response = _post(client, auth, "visits", payload)
    assert response.status_code == 422
    assert message in response.get_json()["error"]
    assert response.get_json()["field"] == field
    assert _visits() == before


def test_a_clash_is_refused_with_the_generic_screens_message(app, client, auth, doctor):
    """The board and /admin/appointment/new/ say the same words about the visit in the way."""
    doctor_works(DAY)
    _book(doctor, _patient("Первая"), time(10), minutes=60)
    second = _patient("Вторая")
    db.session.commit()
    auth.as_role("administrator")
    before = _visits()
    response = _post(client, auth, "visits", {
        "patient_id": second.id, "doctor_id": doctor.id, "room_id": _room("Кресло 3").id, "day": DAY.strftime("%d.%m.%Y"),
        "time": "10:30", "duration": "30", "kind": "treatment",
    })
    assert response.status_code == 409
    board_message = response.get_json()["error"]
    assert "Ковалёва М.С. already has a visit at 10.03.2027 10:00–11:00" in board_message
    assert _visits() == before

    form = main_form(client.get("/admin/appointment/new/").get_data(as_text=True))
    data = form_data(form, clinic=option(form, "clinic", "Центр"), room=option(form, "room", "Кресло 3"),
                     doctor=pick(client, form, "doctor", "Ковал"), patient=second.id,
                     starts_at="10.03.2027 10:30", ends_at="10.03.2027 11:00", kind="treatment")
    errors = form_errors(client.post("/admin/appointment/new/", data=data).get_data(as_text=True))
    assert board_message in errors, errors
    assert _visits() == before


@pytest.mark.parametrize("screen", ["closure", "absence"])
def test_a_closure_or_absence_over_booked_visits_names_them(app, client, auth, doctor, screen):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_role("administrator")
    form = main_form(client.get(f"/admin/{screen}/new/").get_data(as_text=True))
    day = f"{DAY:%d.%m.%Y}"
    fields = ({"clinic": option(form, "clinic", "Центр"), "reason": "Авария водопровода"} if screen == "closure"
              else {"staff": pick(client, form, "staff", "Ковал"), "kind": "sick_leave"})
    page = client.post(f"/admin/{screen}/new/", data=form_data(form, first_day=day, last_day=day, **fields),
                       follow_redirects=True).get_data(as_text=True)
    assert "Visits booked on these days stay booked (1): 10.03.2027 10:00 Доскина Вера" in html.unescape(page)
    db.session.refresh(visit)
    assert visit.status == "booked"

    form = main_form(client.get(f"/admin/{screen}/new/").get_data(as_text=True))
    free_day = f"{DAY + timedelta(days=1):%d.%m.%Y}"
    page = client.post(f"/admin/{screen}/new/", data=form_data(form, first_day=free_day, last_day=free_day, **fields),
                       follow_redirects=True).get_data(as_text=True)
    assert "stay booked" not in page


def test_statuses_follow_the_service_and_record_the_arrival(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_role("administrator")
    assert _post(client, auth, f"visits/{visit.id}/status", {"status": "confirmed", "version": visit.version}).status_code == 200
    db.session.refresh(visit)
    assert visit.status == "confirmed"

    response = _post(client, auth, f"visits/{visit.id}/status", {"status": "done", "version": visit.version})
    assert response.status_code == 422
    assert response.get_json()["error"] == "A visit cannot go from “Confirmed” to “Done”."
    db.session.refresh(visit)
    assert visit.status == "confirmed"

    assert _post(client, auth, f"visits/{visit.id}/status", {"status": "arrived", "version": visit.version}).status_code == 200
    db.session.refresh(visit)
    assert visit.status == "arrived" and visit.arrived_at is not None


def test_cancelling_needs_a_reason_and_offers_the_waiting_list(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10), minutes=60)
    waiting = _patient("Ждущая")
    db.session.add(WaitingEntry(patient=waiting, clinic=clinic(CENTER), doctor=doctor, duration_min=30,
                                until=DAY + timedelta(days=30), status="waiting"))
    db.session.commit()
    auth.as_role("administrator")

    response = _post(client, auth, f"visits/{visit.id}/status", {"status": "cancelled", "reason": "  ", "version": visit.version})
    assert response.status_code == 422
    assert response.get_json() == {"error": "Write why the visit is cancelled.", "field": "cancel_reason"}
    db.session.refresh(visit)
    assert visit.status == "booked" and visit.cancel_reason is None

    response = _post(client, auth, f"visits/{visit.id}/status",
                     {"status": "cancelled", "reason": "Заболела", "version": visit.version})
    assert response.status_code == 200
    db.session.refresh(visit)
    assert (visit.status, visit.cancel_reason) == ("cancelled", "Заболела")
    freed = response.get_json()["freed"]
    assert "Ждущая Вера" in freed and "10.03.2027 10:00–11:00" in freed


def test_a_stale_version_changes_nothing_and_says_so(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_role("administrator")
    response = _post(client, auth, f"visits/{visit.id}/status", {"status": "confirmed", "version": visit.version - 1 or 99})
    assert response.status_code == 409
    assert "Someone else has just changed this visit" in response.get_json()["error"]
    assert "grid" in response.get_json()
    db.session.refresh(visit)
    assert visit.status == "booked"


def test_moving_previews_then_applies(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_role("administrator")
    target = {"day": DAY.strftime("%d.%m.%Y"), "time": "12:30", "doctor_id": doctor.id, "room_id": _room().id,
              "version": visit.version}
    preview = _post(client, auth, f"visits/{visit.id}/move", {**target, "apply": False})
    assert preview.status_code == 200, preview.get_json()
    answer = preview.get_json()
    assert "10.03.2027 10:00" in answer["preview"] and "10.03.2027 12:30" in answer["preview"]
    assert answer["versions"] == {str(visit.id): visit.version} and answer["can_apply"]
    db.session.refresh(visit)
    assert visit.starts_at == at_local(clinic(CENTER), DAY, time(10))  # a preview writes nothing

    response = _post(client, auth, f"visits/{visit.id}/move", {**target, "apply": True, "versions": answer["versions"]})
    assert response.status_code == 200, response.get_json()
    db.session.refresh(visit)
    assert visit.starts_at == at_local(clinic(CENTER), DAY, time(12, 30))


def test_moving_into_a_closed_day_is_refused(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_role("administrator")
    response = _post(client, auth, f"visits/{visit.id}/move", {
        "day": (DAY + timedelta(days=4)).strftime("%d.%m.%Y"), "time": "10:00", "version": visit.version, "apply": True,
        "versions": {str(visit.id): visit.version},
    })
    assert response.status_code == 422
    assert "does not work on 14.03.2027" in response.get_json()["error"]
    db.session.refresh(visit)
    assert visit.starts_at == at_local(clinic(CENTER), DAY, time(10))


def test_the_patient_picker_finds_by_surname_phone_and_birth_date(app, client, auth):
    patient = _patient("Искомая")
    db.session.commit()
    auth.as_role("call_center")
    for typed in ("Искомая", "+7 916 000-33-44", "06.05.1979"):
        found = client.get("/admin/schedule/patients", query_string={"q": typed}).get_json()["patients"]
        assert patient.id in [p["id"] for p in found], typed


def _find(client, **args):
    query = {"clinic": clinic(CENTER).id, "duration": "60", "from": DAY.strftime("%d.%m.%Y"),
             "to": DAY.strftime("%d.%m.%Y"), **args}
    return client.get("/admin/schedule/slots", query_string=query)


def _found_times(response):
    assert response.status_code == 200, response.get_json()
    return re.findall(r'data-time="([\d:]+)" data-doctor="(\d+)"', response.get_json()["slots"])


def test_finding_a_time_lists_the_doctors_free_time_the_patients_preferred_first(app, client, auth, doctor):
    doctor_works(DAY, hours=(time(10), time(14)))
    _book(doctor, _patient(), time(11), minutes=60)
    patient = _patient("Утренняя")
    patient.preferred_time_from = time(12)
    db.session.commit()
    auth.as_role("call_center")
    found = _found_times(_find(client, doctor_id=doctor.id, patient_id=patient.id))
    assert found[0] == ("12:00", str(doctor.id))  # within the patient's hours first
    assert {clock for clock, _ in found} >= {"10:00", "12:00", "13:00"} and "11:00" not in {c for c, _ in found}
    rows = _find(client, doctor_id=doctor.id, patient_id=patient.id).get_json()["slots"]
    assert "outside the patient's preferred time" in rows
    by_specialty = _found_times(_find(client, specialty_id=doctor.specialty_id))
    assert ("10:00", str(doctor.id)) in by_specialty


def test_finding_a_time_takes_a_short_year_and_holds_the_doctor_to_the_specialty(app, client, auth, doctor):
    doctor_works(DAY, hours=(time(10), time(12)))
    auth.as_role("administrator")
    short = f"{DAY.day}.{DAY.month}.{DAY:%y}"  # 10.3.27
    assert ("10:00", str(doctor.id)) in _found_times(_find(client, doctor_id=doctor.id, **{"from": short, "to": short}))
    other = next(s for s in db.session.execute(select(Specialty)).scalars() if s.id != doctor.specialty_id
                 and _find(client, specialty_id=s.id).status_code == 200)
    response = _find(client, doctor_id=doctor.id, specialty_id=other.id)
    assert response.status_code == 422
    assert response.get_json() == {"error": "Ковалёва М.С. is not of the specialty chosen: choose “Any” specialty or "
                                            "another doctor.", "field": "doctor_id"}


def test_finding_a_time_in_days_nobody_works_says_so(app, client, auth):
    auth.as_role("administrator")
    response = _find(client, duration="240")
    assert _found_times(response) == [] and "No free time in these days" in response.get_json()["slots"]


@pytest.mark.parametrize("args, field, message", [
    ({"duration": "0"}, "duration", "A visit lasts from 5 minutes to 12 hours."),
    ({"from": "31.02.2027"}, "from", "Enter a date that exists, as dd.mm.yyyy."),
    ({"to": (DAY - timedelta(days=1)).strftime("%d.%m.%Y")}, "to", "The last day cannot be before the first."),
    ({"to": (DAY + timedelta(days=400)).strftime("%d.%m.%Y")}, "to", "Search at most a year at a time."),
    ({"from": "01.11.2026", "to": "05.11.2026"}, "to", "These days have passed: free time is found from today on."),
    ({"doctor_id": "999999999"}, "doctor_id", "Choose a doctor of this branch."),
    ({"specialty_id": "999999999"}, "specialty_id", "Nobody in this branch has this specialty."),
])
def test_finding_a_time_refuses_bad_input_naming_the_field(app, client, auth, args, field, message):
    auth.as_role("administrator")
    response = _find(client, **args)
    assert response.status_code == 422
    assert response.get_json() == {"error": message, "field": field}


def test_the_board_opens_the_finder_for_the_patient_of_a_task(app, client, auth):
    patient = _patient("Звонкова")
    db.session.commit()
    auth.as_role("call_center")
    page = client.get(f"/admin/schedule/?patient={patient.id}").get_data(as_text=True)
    assert f'data-find-patient="{patient.id}" data-find-patient-name="Звонкова Вера"' in page
    assert "data-find-patient" not in client.get("/admin/schedule/?patient=999999999").get_data(as_text=True)


def test_the_find_dialog_is_offered_to_those_who_book(app, client, auth):
    auth.as_role("administrator")
    assert "data-open-find" in client.get("/admin/schedule/").get_data(as_text=True)
    auth.as_role("doctor")
    assert "data-open-find" not in client.get("/admin/schedule/").get_data(as_text=True)
    assert _find(client).status_code == 403


# -- who ------------------------------------------------------------------------------


def test_a_doctor_sees_the_board_without_actions_and_cannot_write(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_role("doctor")
    html = client.get(f"/admin/schedule/?day={DAY.isoformat()}").get_data(as_text=True)
    assert "Доскина Вера" in html
    assert "data-set-status" not in html and 'data-can-book=""' in html
    response = _post(client, auth, f"visits/{visit.id}/status", {"status": "confirmed"})
    assert response.status_code == 403
    assert client.get("/admin/schedule/patients?q=Доск").status_code == 403
    db.session.refresh(visit)
    assert visit.status == "booked"


@pytest.mark.parametrize("role", ["cashier", "coordinator"])
def test_other_roles_do_not_open_the_board(app, client, auth, role):
    auth.as_role(role)
    assert client.get("/admin/schedule/").status_code == 403


def test_an_administrator_of_another_branch_is_refused(app, client, auth, doctor):
    doctor_works(DAY)
    visit = _book(doctor, _patient(), time(10))
    auth.as_login("frolova.ys")  # the south branch's administrator
    assert client.get(f"/admin/schedule/?clinic={clinic(CENTER).id}").status_code == 403
    response = client.post(f"/admin/schedule/visits/{visit.id}/status", json={"status": "confirmed"},
                           headers={"X-CSRFToken": auth.csrf_token()})
    assert response.status_code == 403
    assert response.get_json()["error"] == "You do not work in this branch."
    db.session.refresh(visit)
    assert visit.status == "booked"
    html = client.get("/admin/schedule/").get_data(as_text=True)
    assert SOUTH in html and f'<option value="{clinic(CENTER).id}"' not in html


def test_the_call_center_books_in_every_branch(app, client, auth):
    auth.as_role("call_center")
    html = client.get(f"/admin/schedule/?clinic={clinic(SOUTH).id}").get_data(as_text=True)
    assert re.search(rf'<option value="{clinic(CENTER).id}"', html) and re.search(rf'<option value="{clinic(SOUTH).id}" selected', html)


@pytest.mark.parametrize("role, lands_on", [
    ("administrator", "board-page"), ("call_center", "task-book"), ("doctor", "My day"), ("owner", "Welcome"),
])
def test_the_home_page_per_role(app, client, auth, role, lands_on):
    auth.as_role(role)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert lands_on in response.get_data(as_text=True)


def test_the_step_is_remembered(app, client, auth):
    auth.as_role("administrator")
    assert "board-step-5" in client.get("/admin/schedule/?step=5").get_data(as_text=True)
    assert "board-step-5" in client.get("/admin/schedule/").get_data(as_text=True)
    assert "board-step-15" in client.get("/admin/schedule/?step=15").get_data(as_text=True)


def test_a_busy_day_takes_as_many_queries_as_an_empty_one(app, client, auth):
    """One query per kind of thing, never one per block or column."""
    auth.as_role("administrator")
    counts, blocks = {}, {}
    for name, day in (("busy", _busiest_demo_day()), ("empty", DAY)):
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            response = client.get(f"/admin/schedule/grid?day={day.isoformat()}&cancelled=1")
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        assert response.status_code == 200
        counts[name], blocks[name] = len(counter.statements), response.get_data(as_text=True).count('class="board-block ')
    assert blocks["busy"] >= 8 and blocks["empty"] == 0, blocks
    # The busy day reads the places of its plan visits' stages, and for the documents gate the patients'
    # signed documents and the specialties with a consent: three queries more, for all of them.
    assert counts["busy"] == counts["empty"] + 3 <= 16, counts


def _busiest_demo_day():
    """The centre's day with the most demo visits, several plan visits among them."""
    center = clinic(CENTER)
    starts = db.session.execute(
        select(Appointment.starts_at).where(Appointment.clinic_id == center.id, Appointment.plan_stage_id.isnot(None))
    ).scalars().all()
    days = {}
    for moment in starts:
        day = local_day(center, moment)
        days[day] = days.get(day, 0) + 1
    return max(days, key=days.get)
