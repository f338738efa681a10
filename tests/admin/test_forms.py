"""Bad input in admin forms: a clear message on the form, nothing written."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from stompro.catalog.models import PriceList, PriceListItem, Service
from stompro.chart.models import Condition, ToothFinding
from stompro.extensions import db
from stompro.org.models import Room, Staff
from stompro.patients.models import Patient
from stompro.scheduling.models import Appointment

from ..conftest import doctor_works


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def first(model, *where):
    return db.session.execute(select(model).where(*where).order_by(model.id).limit(1)).scalar_one()


@pytest.fixture
def owner(auth):
    return auth.as_role("owner")


@pytest.fixture
def signed_in_doctor(auth):
    return auth.as_role("doctor")


def post_form(client, auth, url, data):
    data = {**data, "csrf_token": auth.csrf_token()}
    return client.post(url, data=data)


def finding_form(tooth="36", surfaces="O"):
    return {
        "patient": first(Patient, Patient.deleted_at.is_(None)).id,
        "tooth": tooth,
        "surfaces": surfaces,
        "condition": first(Condition, Condition.code == "caries").id,
    }


def test_a_valid_finding_is_saved(client, auth, signed_in_doctor):
    before = count(ToothFinding)
    response = post_form(client, auth, "/admin/tooth_finding/new/", finding_form(surfaces="od"))
    assert response.status_code == 302
    assert count(ToothFinding) == before + 1
    saved = db.session.execute(select(ToothFinding).order_by(ToothFinding.id.desc()).limit(1)).scalar_one()
    assert (saved.tooth, saved.surfaces) == (36, "OD")


@pytest.mark.parametrize(
    "tooth, surfaces, message",
    [
        ("19", "O", "Tooth 19 does not exist"),
        ("36", "X", "Unknown surface X"),
        ("36", "OO", "A surface is listed twice"),
    ],
)
def test_a_finding_on_a_tooth_or_surface_that_does_not_exist_is_refused(
    client, auth, signed_in_doctor, tooth, surfaces, message
):
    before = count(ToothFinding)
    response = post_form(client, auth, "/admin/tooth_finding/new/", finding_form(tooth, surfaces))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(ToothFinding) == before


def appointment_form(start, end):
    doctor_works(date(2027, 2, 10))  # a Wednesday: the centre works, and now so does the doctor
    room = first(Room)
    return {
        "clinic": room.clinic_id,
        "room": room.id,
        "doctor": first(Staff, Staff.login == "doctor").id,
        "patient": first(Patient, Patient.deleted_at.is_(None)).id,
        "starts_at": start,
        "ends_at": end,
        "kind": "treatment",
    }


def test_a_visit_that_ends_before_it_starts_is_refused(client, auth, owner):
    before = count(Appointment)
    response = post_form(
        client, auth, "/admin/appointment/new/", appointment_form("2027-02-10 12:00:00", "2027-02-10 11:00:00")
    )
    assert response.status_code == 200
    assert "The end must be after the start." in response.get_data(as_text=True)
    assert count(Appointment) == before


def test_visit_times_are_typed_in_clinic_time_and_stored_in_utc(client, auth, owner):
    response = post_form(
        client, auth, "/admin/appointment/new/", appointment_form("2027-02-10 12:00:00", "2027-02-10 12:45:00")
    )
    assert response.status_code == 302
    saved = db.session.execute(select(Appointment).order_by(Appointment.id.desc()).limit(1)).scalar_one()
    assert saved.starts_at.utcoffset() == timedelta(0)
    assert saved.starts_at.hour == 9  # Moscow is UTC+3
    assert saved.ends_at - saved.starts_at == timedelta(minutes=45)


def test_a_negative_price_is_refused(client, auth, owner):
    price_list = first(PriceList)
    service = db.session.execute(
        select(Service).where(~Service.id.in_(select(PriceListItem.service_id))).limit(1)
    ).scalar_one_or_none()
    if service is None:  # every service is priced: make room by using a new price list
        price_list = PriceList(name="Test list", valid_from=datetime(2027, 1, 1).date())
        db.session.add(price_list)
        db.session.commit()
        service = first(Service)
    before = count(PriceListItem)
    response = post_form(
        client, auth, "/admin/price_list_item/new/",
        {"price_list": price_list.id, "service": service.id, "price": "-100.00"},
    )
    assert response.status_code == 200
    assert "The price cannot be negative." in response.get_data(as_text=True)
    assert count(PriceListItem) == before


def test_a_duplicate_login_is_refused(client, auth, owner):
    before = count(Staff)
    response = post_form(
        client, auth, "/admin/staff/new/",
        {"login": "doctor", "last_name": "Петров", "first_name": "Пётр", "color": "#123456",
         "language": "ru", "active": "y", "roles": ["doctor"], "new_password": "long-enough-1"},
    )
    assert response.status_code == 200
    assert "Already exists." in response.get_data(as_text=True)
    assert count(Staff) == before


def test_a_new_staff_member_gets_roles_and_a_hashed_password(client, auth, owner):
    response = post_form(
        client, auth, "/admin/staff/new/",
        {"login": "new.doctor", "last_name": "Петров", "first_name": "Пётр", "color": "#123456",
         "language": "ru", "active": "y", "roles": ["doctor", "coordinator"], "new_password": "long-enough-1"},
    )
    assert response.status_code == 302
    staff = first(Staff, Staff.login == "new.doctor")
    assert staff.roles == {"doctor", "coordinator"}
    assert staff.password_hash.startswith("$argon2id$")


def test_a_patient_phone_in_any_format_is_stored_as_e164(client, auth, owner):
    response = post_form(
        client, auth, "/admin/patient/new/",
        {"last_name": "Тестова", "first_name": "Анна", "birth_date": "1990-05-04",
         "phone": "8 (916) 555-12-34", "status": "active", "sms_consent": "y"},
    )
    assert response.status_code == 302
    assert first(Patient, Patient.last_name == "Тестова").phone == "+79165551234"


def test_a_bad_phone_is_refused(client, auth, owner):
    before = count(Patient)
    response = post_form(
        client, auth, "/admin/patient/new/",
        {"last_name": "Тестова", "first_name": "Анна", "birth_date": "1990-05-04", "phone": "12", "status": "active"},
    )
    assert response.status_code == 200
    assert "is not a phone number" in response.get_data(as_text=True)
    assert count(Patient) == before


def test_a_patients_preferred_days_are_ticked_weekdays(client, auth, owner):
    response = post_form(
        client, auth, "/admin/patient/new/",
        {"last_name": "Тестова", "first_name": "Анна", "birth_date": "1990-05-04", "phone": "8 (916) 555-12-35",
         "status": "active", "preferred_days": ["6", "2"]},
    )
    assert response.status_code == 302
    patient = first(Patient, Patient.last_name == "Тестова")
    assert patient.preferred_days == "26"
    details = client.get(f"/admin/patient/details/?id={patient.id}").get_data(as_text=True)
    assert "Tue, Sat" in details
