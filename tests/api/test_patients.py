"""Registering and finding patients through the API."""
import pytest

from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient

from .conftest import count

NEW_PATIENT = {
    "last_name": "Тестова",
    "first_name": "Анна",
    "middle_name": "Сергеевна",
    "birth_date": "1990-05-17",
    "phone": "8 (916) 123-45-67",
    "email": "anna@example.org",
    "sex": "F",
}


def test_a_patient_is_created_with_the_phone_in_e164(api):
    api.as_role("call_center")
    response = api.post("/api/v1/patients", json=NEW_PATIENT)
    assert response.status_code == 201
    body = response.get_json()
    assert body["phone"] == "+79161234567"
    assert body["birth_date"] == "1990-05-17"
    stored = db.session.get(Patient, body["id"])
    assert (stored.last_name, stored.first_name, stored.phone, stored.sex) == ("Тестова", "Анна", "+79161234567", "F")


def test_optional_fields_may_be_left_out_and_a_possible_duplicate_needs_a_confirmation(api):
    api.as_role("administrator")
    required_only = {k: NEW_PATIENT[k] for k in ("last_name", "first_name", "birth_date", "phone")}
    first = api.post("/api/v1/patients", json=required_only)
    assert first.status_code == 201
    assert first.get_json()["middle_name"] is None
    again = api.post("/api/v1/patients", json=required_only)
    assert again.status_code == 409
    assert [p["id"] for p in again.get_json()["duplicates"]] == [first.get_json()["id"]]
    same_phone = api.post("/api/v1/patients", json={**required_only, "first_name": "Другое"})
    assert same_phone.status_code == 409
    confirmed = api.post("/api/v1/patients", json={**required_only, "confirm_duplicate": True})
    assert confirmed.status_code == 201
    assert confirmed.get_json()["id"] != first.get_json()["id"]


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"phone": "12"}, "phone", "is not a phone number"),
        ({"phone": "телефон"}, "phone", "is not a phone number"),
        ({"birth_date": "17.05.1990"}, "birth_date", "YYYY-MM-DD"),
        ({"birth_date": "1990-02-30"}, "birth_date", "YYYY-MM-DD"),
        ({"birth_date": "2999-01-01"}, "birth_date", "future"),
        ({"last_name": None}, "last_name", "required"),
        ({"last_name": "   "}, "last_name", "required"),
        ({"first_name": 7}, "first_name", "text"),
        ({"email": "not-an-address"}, "email", "not an e-mail address"),
        ({"sex": "X"}, "sex", "M or F"),
        ({"last_name": "Я" * 81}, "last_name", "At most 80"),
        ({"passport": "4510 123456"}, "passport", "Unknown field"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(api, change, field, message):
    api.as_role("administrator")
    before = count(Patient)
    response = api.post("/api/v1/patients", json={**NEW_PATIENT, **change})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "The patient's data is not valid; nothing was saved."
    assert list(body["fields"]) == [field]
    assert message in body["fields"][field]
    assert count(Patient) == before


def test_a_missing_last_name_is_named_with_every_other_fault(api):
    api.as_role("owner")
    data = {k: v for k, v in NEW_PATIENT.items() if k != "last_name"}
    response = api.post("/api/v1/patients", json={**data, "phone": "12", "birth_date": "soon"})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"last_name", "phone", "birth_date"}


@pytest.fixture
def namesakes(app):
    born = utcnow().date().replace(year=1979)
    rows = [
        Patient(last_name="Щеглова", first_name="Виктория", birth_date=born, phone="+79035550011"),
        Patient(last_name="Щеглов", first_name="Пётр", birth_date=born, phone="+79035550022"),
        Patient(last_name="Гусев", first_name="Всеволод", birth_date=born, phone="+79035550033"),
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def found(api, q):
    response = api.get("/api/v1/patients", query_string={"q": q})
    assert response.status_code == 200
    return {p["id"] for p in response.get_json()["patients"]}


def test_search_by_surname_first_name_and_phone(api, namesakes):
    viktoria, petr, vsevolod = namesakes
    api.as_role("cashier")
    assert found(api, "Щеглов") == {viktoria.id, petr.id}
    assert found(api, "Щеглова") == {viktoria.id}
    assert found(api, "Всеволод") == {vsevolod.id}
    assert found(api, "Щеглов Пётр") == {petr.id}
    assert found(api, "8 903 555-00-22") == {petr.id}
    assert found(api, "8 (903) 555-00-33") == {vsevolod.id}
    assert found(api, "+7 903 555 0011") == {viktoria.id}
    assert found(api, "Несуществующий") == set()


def test_search_by_birth_date(api, namesakes):
    api.as_role("call_center")
    born = namesakes[0].birth_date
    ids = {p.id for p in namesakes}
    assert ids <= found(api, born.strftime("%d.%m.%Y"))
    assert ids <= found(api, born.isoformat())


def test_search_answers_patient_fields_and_skips_deleted(api, namesakes):
    viktoria = namesakes[0]
    viktoria.deleted_at = utcnow()
    db.session.flush()
    api.as_role("doctor")
    body = api.get("/api/v1/patients", query_string={"q": "Щеглов"}).get_json()
    assert body["patients"] == [
        {
            "id": namesakes[1].id,
            "last_name": "Щеглов",
            "first_name": "Пётр",
            "middle_name": None,
            "birth_date": namesakes[1].birth_date.isoformat(),
            "sex": None,
            "phone": "+79035550022",
            "email": None,
            "sms_consent": namesakes[1].sms_consent,
            "email_consent": False,
        }
    ]


def test_search_returns_at_most_50(api):
    born = utcnow().date().replace(year=2000)
    db.session.add_all(
        Patient(last_name=f"Однофамильцев{i}", first_name="Иван", birth_date=born, phone=f"+7926444{i:04d}")
        for i in range(60)
    )
    db.session.flush()
    api.as_role("administrator")
    assert len(found(api, "Однофамильцев")) == 50


def test_a_new_patient_says_whether_they_may_be_written_to(app, api):
    api.as_role("administrator")
    body = {"last_name": "Согласнова", "first_name": "Ада", "birth_date": "1990-01-02", "phone": "+79160004455",
            "sms_consent": False, "email": "ada@example.org", "email_consent": True}
    answer = api.post("/api/v1/patients", json=body)
    assert answer.status_code == 201, answer.get_json()
    assert (answer.get_json()["sms_consent"], answer.get_json()["email_consent"]) == (False, True)
    refused = api.post("/api/v1/patients", json={**body, "phone": "+79160004456", "last_name": "Другая",
                                                 "sms_consent": "yes"})
    assert refused.status_code == 422 and "sms_consent" in refused.get_json()["fields"]
