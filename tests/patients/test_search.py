"""Patients are found by surname, first name, phone in any format and birth date."""
import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.patients.services import search_term_for_database
from stompro.patients.models import Patient


@pytest.fixture
def patient(app):
    return db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).order_by(Patient.id).limit(1)).scalar_one()


def local_formats(e164):
    digits = e164[2:]  # +7XXXXXXXXXX → XXXXXXXXXX
    return [
        e164,
        "8" + digits,
        f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
        f"+7 {digits[:3]} {digits[3:6]} {digits[6:]}",
        digits[3:],  # the last seven digits
    ]


def test_phone_in_any_format_finds_the_patient(client, auth, patient):
    auth.as_role("call_center")
    for typed in local_formats(patient.phone):
        page = client.get("/admin/patient/", query_string={"search": typed}).get_data(as_text=True)
        assert patient.last_name in page, typed


def test_birth_date_as_typed_in_russia_finds_the_patient(client, auth, patient):
    auth.as_role("administrator")
    typed = patient.birth_date.strftime("%d.%m.%Y")
    page = client.get("/admin/patient/", query_string={"search": typed}).get_data(as_text=True)
    assert patient.last_name in page


def test_surname_finds_the_patient(client, auth, patient):
    auth.as_role("administrator")
    page = client.get("/admin/patient/", query_string={"search": patient.last_name}).get_data(as_text=True)
    assert patient.first_name in page


def test_search_terms_are_translated_to_stored_forms():
    assert search_term_for_database("8 (916) 123-45-67") == "79161234567"
    assert search_term_for_database("03.04.1985") == "1985-04-03"
    assert search_term_for_database("Иванов") == "Иванов"
