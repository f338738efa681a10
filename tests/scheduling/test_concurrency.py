"""Twenty people book the same time at once through the API: exactly one
gets 201, nineteen get 409 naming the visit that won, and the table holds no
overlap — for the same doctor, the same chair with different doctors, and
the same patient with different doctors; on SQLite (one writer at a time)
and on PostgreSQL (exclusion constraints; the lost race becomes the same
409 through services.commit_or_clash).

These tests commit for real from many connections, so each builds its own
app on a scratch database with a few rows of its own."""
import threading
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from stompro import create_app
from stompro.api.auth import issue_token
from stompro.extensions import db
from stompro.org.models import Clinic, Room, Staff, StaffRole
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Appointment, Shift
from stompro.scheduling.services import HOLDING

from .. import pg

PEOPLE = 20
DAY = date.today() + timedelta(days=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.db'}"
        return
    with pg.scratch_database(pg.require_server(), prefix="stompro_race") as url:
        yield url


@pytest.fixture
def clinic_app(database_url, tmp_path):
    options = {"pool_size": PEOPLE + 5} if database_url.startswith("postgresql") else {}
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_ENGINE_OPTIONS": options,
        "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "race-secret", "DEFAULT_LANGUAGE": "en",
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    })
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def person(login, role, clinic):
    staff = Staff(login=login, password_hash="-", last_name=login.title(), first_name="Test", clinics=[clinic])
    staff.role_rows.append(StaffRole(role=role))
    return staff


@pytest.fixture
def branch(clinic_app):
    """A branch with 20 chairs, 20 doctors working the whole day, 20
    patients and an administrator; returns ids and the administrator's token."""
    clinic = Clinic(name="Race branch", address="Test street 1", time_zone="Europe/Moscow", opens_at=time(8),
                    closes_at=time(20), working_days="1234567")
    chairs = [Room(clinic=clinic, name=f"Chair {n}", kind="chair") for n in range(PEOPLE)]
    doctors = [person(f"doctor{n}", "doctor", clinic) for n in range(PEOPLE)]
    patients = [Patient(last_name=f"Patient{n}", first_name="Test", birth_date=date(1980, 1, 1),
                        phone=f"+7916{n:07d}") for n in range(PEOPLE)]
    admin = person("desk", "administrator", clinic)
    shifts = [Shift(staff=doctor, clinic=clinic, work_date=DAY, starts_at=at_local(clinic, DAY, time(9)),
                    ends_at=at_local(clinic, DAY, time(18))) for doctor in doctors]
    db.session.add_all([clinic, *chairs, *doctors, *patients, admin, *shifts])
    db.session.commit()
    start = at_local(clinic, DAY, time(10))
    ids = {
        "chairs": [c.id for c in chairs], "doctors": [d.id for d in doctors], "patients": [p.id for p in patients],
        "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(), "token": issue_token(admin),
    }
    db.session.remove()
    return ids


def book_at_once(app, token, bodies):
    """POST every body at the same moment, each from its own thread and client."""
    barrier = threading.Barrier(len(bodies))
    answers = [None] * len(bodies)

    def book(index, body):
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/appointments", json=body, headers={"Authorization": f"Bearer {token}"})
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=book, args=(n, body)) for n, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def assert_one_wins(answers, holding):
    codes = sorted(code for code, _ in answers)
    assert codes == [201] + [409] * (PEOPLE - 1), [body for _, body in answers]
    winner = next(body for code, body in answers if code == 201)
    for code, body in answers:
        if code == 409:
            assert body["conflict"]["appointment_id"] == winner["id"], body
            assert body["conflict"]["start"] == winner["start"]
    live = db.session.execute(
        select(Appointment).where(Appointment.deleted_at.is_(None), Appointment.status.in_(HOLDING))
    ).scalars().all()
    assert [visit.id for visit in live] == [winner["id"]]
    assert holding(live[0])


def test_twenty_people_book_the_same_doctor(clinic_app, branch):
    bodies = [{"patient_id": branch["patients"][n], "doctor_id": branch["doctors"][0], "room_id": branch["chairs"][n],
               "start": branch["start"], "end": branch["end"]} for n in range(PEOPLE)]
    answers = book_at_once(clinic_app, branch["token"], bodies)
    assert_one_wins(answers, lambda visit: visit.doctor_id == branch["doctors"][0])


def test_twenty_people_book_the_same_chair_with_different_doctors(clinic_app, branch):
    bodies = [{"patient_id": branch["patients"][n], "doctor_id": branch["doctors"][n], "room_id": branch["chairs"][0],
               "start": branch["start"], "end": branch["end"]} for n in range(PEOPLE)]
    answers = book_at_once(clinic_app, branch["token"], bodies)
    assert_one_wins(answers, lambda visit: visit.room_id == branch["chairs"][0])


def test_twenty_people_book_the_same_patient_with_different_doctors(clinic_app, branch):
    bodies = [{"patient_id": branch["patients"][0], "doctor_id": branch["doctors"][n], "room_id": branch["chairs"][n],
               "start": branch["start"], "end": branch["end"]} for n in range(PEOPLE)]
    answers = book_at_once(clinic_app, branch["token"], bodies)
    assert_one_wins(answers, lambda visit: visit.patient_id == branch["patients"][0])
