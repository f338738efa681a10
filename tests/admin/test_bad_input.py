"""Bad input anywhere gets a 4xx or a form error naming the field, is never
stored, and never answers 500: numbers beyond their column, money beyond
Numeric(12,2), control characters, overlong text, dates out of range, ids no
row can have — in forms, URLs, filters, searches and the API."""
from datetime import date

import pytest
from sqlalchemy import func, select

from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.scheduling.models import Appointment
from stompro.tasks.models import Task

from ..api.conftest import Api
from ..conftest import doctor_works
from .pages import form_data, form_errors, main_form, option, pick


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


HUGE = "9" * 25


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/patient_card/{HUGE}",
        f"/admin/chart/{HUGE}",
        f"/admin/exam/card/{HUGE}",
        f"/admin/attachment/patient/{HUGE}",
        f"/admin/attachment/file/{HUGE}",
        f"/admin/plan/{HUGE}",
        f"/admin/patient/edit/?id={HUGE}",
        f"/admin/patient/details/?id={HUGE}",
        f"/admin/appointment/details/?id={HUGE}",
        "/admin/patient/details/?id=-1",
        "/admin/patient/details/?id=abc",
        f"/admin/patient/?page={HUGE}",
        f"/admin/patient/?page_size={HUGE}",
        f"/admin/patient/?sort={HUGE}",
        "/admin/patient/?search=%00%01",
        "/admin/patient/?search=" + "Я" * 5000,
        f"/admin/appointment/?flt1_0={HUGE}",
        "/admin/appointment/?flt1_0=%00",
        f"/admin/plan_item/?flt1_3={HUGE}",
        "/admin/task/?flt1_3=99.99.9999",
        f"/api/v1/plans/{HUGE}",
        f"/api/v1/patients/{HUGE}/chart",
    ],
)
def test_urls_with_impossible_values_answer_without_fault(client, auth, url):
    auth.as_role("owner")
    response = client.get(url, follow_redirects=True)
    assert response.status_code in (200, 401, 404), (url, response.status_code)


def _patient_form(client, **changes):
    form = main_form(client.get("/admin/patient/new/").get_data(as_text=True))
    values = {"last_name": "Проверкина", "first_name": "Анна", "birth_date": "04.05.1990",
              "phone": "+7 916 700-11-22", "status": "active", **changes}
    return form_data(form, **values)


@pytest.mark.parametrize(
    "changes, field_message",
    [
        ({"last_name": "Ива\x00нова"}, "control characters"),
        ({"note": "x" * 20_001}, "At most 10000 characters"),
        ({"last_name": "Я" * 81}, "80"),
        ({"birth_date": "01.01.2999"}, "cannot be in the future"),
        ({"birth_date": "31.02.1990"}, "dd.mm.yyyy"),
        ({"phone": "8 (916) 123-45-6"}, "is not a phone number"),
        ({"phone": "+7 000 000-00-00"}, "is not a phone number"),
        ({"preferred_time_from": "25:99"}, "HH:MM"),
    ],
)
def test_bad_patient_input_is_a_form_error_and_nothing_is_stored(client, auth, changes, field_message):
    auth.as_role("administrator")
    before = count(Patient)
    response = client.post("/admin/patient/new/", data=_patient_form(client, **changes))
    assert response.status_code == 200
    errors = " ".join(form_errors(response.get_data(as_text=True)))
    assert field_message in errors, errors
    assert count(Patient) == before


def test_a_ten_megabyte_note_is_refused_before_it_is_read(client, auth):
    auth.as_role("administrator")
    before = count(Patient)
    response = client.post("/admin/patient/new/", data=_patient_form(client, note="x" * (30 * 2**20)))
    assert response.status_code == 413
    assert count(Patient) == before


def _visit_form(client, **changes):
    doctor_works(date(2027, 2, 10))  # a Wednesday
    form = main_form(client.get("/admin/appointment/new/").get_data(as_text=True))
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    values = {
        "clinic": option(form, "clinic", "Центр"), "room": option(form, "room", "Центр"),
        "doctor": pick(client, form, "doctor", "Ковал"), "patient": patient.id,
        "starts_at": "10.02.2027 10:00", "ends_at": "10.02.2027 10:30", "kind": "treatment", **changes,
    }
    return form_data(form, **values)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"starts_at": "10.02.2035 08:00", "ends_at": "10.02.2035 08:30"}, "Enter a date from"),
        ({"starts_at": "10.02.2017 08:00", "ends_at": "10.02.2017 08:30"}, "Enter a date from"),
        ({"starts_at": "0002-01-01 00:00:00026-12-01 12:00:00"}, "dd.mm.yyyy HH:MM"),
        ({"doctor": "9" * 20}, "Not a valid choice"),
        ({"patient": "-5"}, "Not a valid choice"),
        ({"note": "\x00"}, "control characters"),
        ({"ends_at": "10.02.2027 09:30"}, "The end must be after the start."),
    ],
)
def test_bad_visit_input_is_a_form_error_and_nothing_is_stored(client, auth, changes, message):
    auth.as_role("administrator")
    before = count(Appointment)
    response = client.post("/admin/appointment/new/", data=_visit_form(client, **changes))
    assert response.status_code == 200
    errors = " ".join(form_errors(response.get_data(as_text=True)))
    assert message in errors, errors
    assert count(Appointment) == before


@pytest.mark.parametrize("priority, message", [(HUGE, "Enter a whole number"), ("-1", "Priority is from 1")])
def test_numbers_beyond_their_column_are_form_errors(client, auth, priority, message):
    auth.as_role("administrator")
    form = main_form(client.get("/admin/task/new/").get_data(as_text=True))
    before = count(Task)
    data = form_data(form, tab="archive", priority=priority, title="Проверка", due_at="10.02.2027 10:00",
                     clinic=option(form, "clinic", "Центр"))
    response = client.post("/admin/task/new/", data=data)
    assert response.status_code == 200
    assert message in " ".join(form_errors(response.get_data(as_text=True)))
    assert count(Task) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"payer": 2**90}, "payer"),
        ({"payer": -1}, "payer"),
        ({"payer": "1"}, "payer"),
    ],
)
def test_the_api_refuses_numbers_no_row_can_have(client, body, field):
    api = Api(client)
    api.as_role("coordinator")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    response = api.post(f"/api/v1/patients/{patient.id}/plans", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"stage_id": 10**20, "service_code": "FILL-1"}, "stage_id"),
        ({"stage_id": None, "service_code": "X" * 10_000}, "stage_id"),
    ],
)
def test_the_api_refuses_huge_ids_and_quantities_when_adding_an_item(client, body, field):
    from stompro.planning.models import TreatmentPlan

    api = Api(client)
    api.as_role("coordinator")
    plan = db.session.execute(
        select(TreatmentPlan).where(TreatmentPlan.status == "draft", TreatmentPlan.deleted_at.is_(None)).limit(1)
    ).scalar_one()
    response = api.post(f"/api/v1/plans/{plan.id}/items", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_the_api_refuses_a_huge_quantity(client):
    from stompro.planning.models import PlanStage, PlanVariant, TreatmentPlan

    api = Api(client)
    api.as_role("coordinator")
    stage = db.session.execute(
        select(PlanStage).join(PlanVariant).join(TreatmentPlan)
        .where(TreatmentPlan.status == "draft", TreatmentPlan.deleted_at.is_(None), PlanStage.deleted_at.is_(None))
        .limit(1)
    ).scalar_one()
    plan_id = stage.variant.plan_id
    item = stage.items[0]
    response = api.post(f"/api/v1/plans/{plan_id}/items", json={
        "stage_id": stage.id, "service_code": item.service.code, "tooth": item.tooth, "quantity": 10**20,
    })
    assert response.status_code == 422
    assert "quantity" in response.get_json()["fields"]


def test_a_patients_name_with_a_nul_is_refused_by_the_api(client):
    api = Api(client)
    api.as_role("administrator")
    before = count(Patient)
    response = api.post("/api/v1/patients", json={
        "last_name": "Ива\x00нова", "first_name": "Анна", "birth_date": "1990-05-04", "phone": "+79167001199",
    })
    assert response.status_code == 422
    assert "last_name" in response.get_json()["fields"]
    assert count(Patient) == before
