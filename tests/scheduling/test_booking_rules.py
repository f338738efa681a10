"""The booking rules of scheduling.services, which the board, the API, the
plan booking, the cascade and the generic appointment screen all go through:
working time (shift, branch hours, working days, closures, absences, the
whole duration), no double booking of a doctor, a chair or a patient, and
times kept across a daylight-saving change."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from stompro.errors import DomainError
from stompro.extensions import db
from stompro.integrity import explain_integrity_error
from stompro.org.models import Clinic, Room
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Absence, Appointment, Closure, Shift
from stompro.scheduling.services import Clash, book_visit, change_visit, set_visit_status

from ..admin.pages import form_data, form_errors, main_form, option, pick
from ..conftest import CENTER, clinic, doctor_works, staff_by_login

DAY = date(2027, 2, 10)  # a Wednesday: the centre works, the demo books nothing then


def _patient(last_name="Правилова"):
    patient = Patient(last_name=last_name, first_name="Анна", birth_date=date(1980, 3, 4), phone="+79160001122")
    db.session.add(patient)
    db.session.flush()
    return patient


def _room(branch, name="Кресло 2"):
    return db.session.execute(select(Room).filter_by(clinic_id=branch.id, name=name)).scalar_one()


def _book(admin, doctor, patient, start, minutes=30, room="Кресло 2", day=DAY, branch=None):
    branch = branch or clinic(CENTER)
    starts_at = at_local(branch, day, start)
    return book_visit(db.session, admin, clinic=branch, room=_room(branch, room), doctor=doctor, patient=patient,
                      starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes))


def _visits():
    return db.session.scalar(select(func.count()).select_from(Appointment))


def _refused(call, text):
    before = _visits()
    with pytest.raises(DomainError) as refused:
        call()
    assert text in str(refused.value.message), refused.value.message
    assert _visits() == before
    return refused.value


def test_a_visit_inside_the_shift_is_booked_in_utc(app, admin):
    doctor = doctor_works(DAY)
    visit = _book(admin, doctor, _patient(), time(10))
    assert (visit.starts_at, visit.ends_at) == (datetime(2027, 2, 10, 7, tzinfo=timezone.utc),
                                                datetime(2027, 2, 10, 7, 30, tzinfo=timezone.utc))
    assert (visit.status, visit.booked_by) == ("booked", admin)


def test_no_shift_no_visit(app, admin, doctor):
    _refused(lambda: _book(admin, doctor, _patient(), time(10)), "has no shift in this branch on")


def test_the_whole_visit_must_fit_before_the_shift_ends(app, admin):
    doctor = doctor_works(DAY)  # 09:00–18:00
    _refused(lambda: _book(admin, doctor, _patient(), time(17, 30), minutes=60), "The visit does not fit: Ковалёва М.С. works 09:00–18:00 on")
    assert _book(admin, doctor, _patient(), time(17), minutes=60).ends_at == at_local(clinic(CENTER), DAY, time(18))


def test_a_shift_does_not_stretch_the_branch_hours(app, admin):
    doctor = doctor_works(DAY, hours=(time(7), time(18)))
    _refused(lambda: _book(admin, doctor, _patient(), time(8)), "The branch works from 09:00 to 21:00")


def test_nothing_is_booked_on_a_day_the_branch_does_not_work(app, admin):
    sunday = DAY + timedelta(days=4)
    doctor = doctor_works(sunday)
    _refused(lambda: _book(admin, doctor, _patient(), time(10), day=sunday), "The branch does not work on 14.02.2027")


def test_a_closed_day_and_a_day_away_block_booking(app, admin, owner):
    doctor = doctor_works(DAY)
    db.session.add(Closure(clinic=clinic(CENTER), first_day=DAY, last_day=DAY, reason="Санитарный день"))
    db.session.flush()
    _refused(lambda: _book(admin, doctor, _patient(), time(10)), "The branch is closed on 10.02.2027: Санитарный день")
    db.session.execute(db.delete(Closure).where(Closure.first_day == DAY))
    db.session.add(Absence(staff=doctor, first_day=DAY - timedelta(days=2), last_day=DAY, kind="sick_leave"))
    db.session.flush()
    _refused(lambda: _book(admin, doctor, _patient(), time(10)), "is away on 10.02.2027")


def test_a_time_long_past_is_refused(app, admin, doctor):
    branch = clinic(CENTER)
    yesterday = datetime.now(timezone.utc).astimezone(at_local(branch, DAY, time(9)).tzinfo).date() - timedelta(days=1)
    db.session.add(Shift(staff=doctor, clinic=branch, work_date=yesterday,
                         starts_at=at_local(branch, yesterday, time(0)), ends_at=at_local(branch, yesterday, time(23))))
    db.session.flush()
    _refused(lambda: _book(admin, doctor, _patient(), time(12), day=yesterday), "This time has passed")


def test_a_double_booking_names_the_visit_in_the_way(app, admin):
    doctor = doctor_works(DAY)
    colleague = doctor_works(DAY, login="volkov.da")
    first = _book(admin, doctor, _patient("Первая"), time(10), minutes=60, room="Кресло 2")
    # The same doctor, another chair and patient.
    clash = _refused(lambda: _book(admin, doctor, _patient(), time(10, 30), room="Кресло 3"), "already has a visit")
    assert isinstance(clash, Clash) and clash.visit is first and clash.field == "doctor"
    assert str(clash.message) == (
        f"{doctor} already has a visit at 10.02.2027 10:00–11:00 (Первая Анна, Кресло 2)."
    )
    # The same chair, another doctor.
    clash = _refused(lambda: _book(admin, colleague, _patient(), time(10, 45), room="Кресло 2"), "Кресло 2 is taken")
    assert clash.field == "room" and f"Первая Анна with {doctor}" in str(clash.message)
    # The same patient, another doctor and chair.
    clash = _refused(lambda: _book(admin, colleague, first.patient, time(10, 15), room="Кресло 4"),
                     "Первая Анна already has a visit at 10.02.2027 10:00–11:00")
    assert clash.field == "patient"


def test_visits_may_touch_end_to_start(app, admin):
    doctor = doctor_works(DAY)
    patient = _patient()
    _book(admin, doctor, patient, time(10))
    assert _book(admin, doctor, patient, time(10, 30)).starts_at == at_local(clinic(CENTER), DAY, time(10, 30))


def test_a_cancelled_or_missed_visit_frees_its_time(app, admin):
    doctor = doctor_works(DAY)
    visit = _book(admin, doctor, _patient(), time(10))
    set_visit_status(db.session, admin, visit, "cancelled", "Пациент заболел")
    assert _book(admin, doctor, _patient("Вторая"), time(10)).status == "booked"


def test_moving_a_visit_checks_the_rules_and_resets_its_confirmation(app, admin):
    doctor = doctor_works(DAY)
    branch = clinic(CENTER)
    visit = _book(admin, doctor, _patient(), time(10))
    set_visit_status(db.session, admin, visit, "confirmed")
    other = _book(admin, doctor, _patient("Соседка"), time(12))
    _refused(lambda: change_visit(db.session, admin, visit, starts_at=other.starts_at, ends_at=other.ends_at),
             "already has a visit")
    db.session.refresh(visit)
    assert (visit.status, visit.starts_at) == ("confirmed", at_local(branch, DAY, time(10)))
    change_visit(db.session, admin, visit, starts_at=at_local(branch, DAY, time(14)),
                 ends_at=at_local(branch, DAY, time(14, 30)))
    assert visit.status == "booked"


def test_a_note_is_written_on_a_visit_whose_time_has_passed(app, admin):
    """Only the note changes: the rules of time are not checked again."""
    doctor = doctor_works(DAY)
    visit = _book(admin, doctor, _patient(), time(10))
    visit.starts_at, visit.ends_at = visit.starts_at - timedelta(days=900), visit.ends_at - timedelta(days=900)
    db.session.flush()
    change_visit(db.session, admin, visit, note="Просил перезвонить")
    assert visit.note == "Просил перезвонить"


def test_the_generic_visit_screen_refuses_a_double_booking_with_the_same_message(app, client, auth, admin):
    doctor = doctor_works(DAY)
    first = _book(admin, doctor, _patient("Первая"), time(10), minutes=60)
    db.session.commit()
    try:
        _book(admin, doctor, _patient(), time(10, 30), room="Кресло 3")
    except Clash as clash:
        expected = str(clash.message)
    db.session.rollback()
    auth.as_role("administrator")
    form = main_form(client.get("/admin/appointment/new/").get_data(as_text=True))
    second = _patient("Вторая")
    db.session.commit()
    before = _visits()
    data = form_data(form, clinic=option(form, "clinic", "Центр"), room=option(form, "room", "Кресло 3"),
                     doctor=pick(client, form, "doctor", "Ковал"), patient=second.id,
                     starts_at="10.02.2027 10:30", ends_at="10.02.2027 11:00", kind="treatment")
    errors = form_errors(client.post("/admin/appointment/new/", data=data).get_data(as_text=True))
    assert expected in errors, errors
    assert _visits() == before
    assert first.id is not None


@pytest.mark.parametrize("day, clock, utc", [
    (date(2027, 3, 27), time(10), datetime(2027, 3, 27, 9, tzinfo=timezone.utc)),  # CET, UTC+1
    (date(2027, 3, 29), time(10), datetime(2027, 3, 29, 8, tzinfo=timezone.utc)),  # CEST, UTC+2
])
def test_a_branch_in_berlin_keeps_its_hours_across_the_daylight_saving_change(app, admin, owner, day, clock, utc):
    """The clocks go forward on Sunday 28 March 2027: the branch's 10:00 is
    09:00 UTC on the Saturday and 08:00 UTC on the Monday."""
    berlin = Clinic(name="StomPRO Berlin", address="Berlin, Friedrichstraße 1", time_zone="Europe/Berlin",
                    currency="EUR", opens_at=time(9),
                    closes_at=time(18), working_days="123456")
    berlin.rooms.append(Room(name="Stuhl 1", kind="chair"))
    db.session.add(berlin)
    doctor = staff_by_login("doctor")
    doctor.clinics.append(berlin)
    db.session.flush()
    doctor_works(day, clinic_name="StomPRO Berlin")
    owner_visit = book_visit(db.session, owner, clinic=berlin, room=berlin.rooms[0], doctor=doctor,
                             patient=_patient(), starts_at=at_local(berlin, day, clock),
                             ends_at=at_local(berlin, day, time(11)))
    assert owner_visit.starts_at == utc
    assert owner_visit.ends_at - owner_visit.starts_at == timedelta(hours=1)
    # A visit before the branch's local opening is refused in local time, whatever the offset.
    _refused(lambda: book_visit(db.session, owner, clinic=berlin, room=berlin.rooms[0], doctor=doctor,
                                patient=_patient("Früh"), starts_at=at_local(berlin, day, time(8, 30)),
                                ends_at=at_local(berlin, day, time(9))), "The branch works from 09:00 to 18:00")


@pytest.mark.parametrize("column", ["doctor_id", "room_id", "patient_id"])
def test_postgresql_itself_refuses_an_overlap_written_past_the_services(app, admin, column):
    """Two people booking at the same moment both pass the services' look;
    the exclusion constraint is the last word (SQLite serializes writers
    instead: every transaction there is BEGIN IMMEDIATE)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("exclusion constraints are PostgreSQL's; SQLite runs one writer at a time")
    doctor, colleague = doctor_works(DAY), doctor_works(DAY, login="volkov.da")
    branch = clinic(CENTER)
    visit = _book(admin, doctor, _patient(), time(10), minutes=60)
    others = {
        "doctor_id": doctor.id if column == "doctor_id" else colleague.id,
        "room_id": visit.room_id if column == "room_id" else _room(branch, "Кресло 4").id,
        "patient_id": visit.patient_id if column == "patient_id" else _patient("Другая").id,
    }
    now = datetime.now(timezone.utc)
    with pytest.raises(IntegrityError) as refused, db.session.begin_nested():
        db.session.execute(insert(Appointment).values(
            clinic_id=branch.id, starts_at=visit.starts_at + timedelta(minutes=30),
            ends_at=visit.ends_at + timedelta(minutes=30), kind="treatment", status="booked", version=1,
            created_at=now, updated_at=now, **others))
    field = {"doctor_id": "doctor", "room_id": "room", "patient_id": "patient"}[column]
    assert explain_integrity_error(refused.value)[0] == field
    # A cancelled visit holds nothing, in the database too.
    with db.session.begin_nested():
        db.session.execute(insert(Appointment).values(
            clinic_id=branch.id, starts_at=visit.starts_at, ends_at=visit.ends_at, kind="treatment",
            status="cancelled", cancel_reason="—", version=1, created_at=now, updated_at=now, **others))


def test_every_sqlite_transaction_takes_the_write_lock_at_its_start(app, tmp_path):
    """Python's sqlite3 would begin only at the first write, after the look
    for a clash has read the table, so two bookings could both pass; with
    BEGIN IMMEDIATE on every begin the second booking waits for the first to
    end and then sees its visit."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL relies on its exclusion constraints")
    engine = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        with engine.connect() as first, engine.connect() as second:
            second.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")
            first.begin()
            first.execute(text("SELECT 1"))  # a read only, as a clash check is
            with pytest.raises(OperationalError, match="database is locked"):
                second.begin()
            first.commit()
            second.begin()
            second.rollback()
    finally:
        engine.dispose()
