"""A person works in their branches: schedules, shifts and task queues of
another branch are neither listed, opened nor changed (owners and the call
center work for the network). Patients' medical records are shared, and
every opening of them is written to the access log the owner reads."""
import re

import pytest
from sqlalchemy import func, select

from stompro.audit.models import PatientAccess
from stompro.errors import NotAllowed
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.planning.models import TreatmentPlan
from stompro.scheduling.models import Appointment, Shift
from stompro.scheduling.services import set_visit_status
from stompro.tasks.models import Task

from ..api.conftest import Api
from ..conftest import SOUTH, clinic, staff_by_login
from .pages import form_data, form_errors, main_form, pick


def south_row(model):
    return db.session.execute(
        select(model).where(model.clinic_id == clinic(SOUTH).id, model.deleted_at.is_(None) if hasattr(model, "deleted_at") else True)
        .limit(1)
    ).scalar_one()


@pytest.mark.parametrize(
    "model, endpoint, role",
    [
        (Appointment, "appointment", "administrator"), (Appointment, "appointment", "doctor"),
        (Shift, "shift", "administrator"), (Shift, "shift", "doctor"), (Task, "task", "administrator"),
    ],
)
def test_a_branch_s_rows_are_not_another_branch_s_staffs(client, auth, model, endpoint, role):
    auth.as_role(role)  # both work in the centre only
    row = south_row(model)
    listing = client.get(f"/admin/{endpoint}/?page_size=100").get_data(as_text=True)
    assert not re.search(rf"/admin/{endpoint}/details/\?id={row.id}\b", listing)
    response = client.get(f"/admin/{endpoint}/details/?id={row.id}")
    assert response.status_code == 404
    edit = client.post(f"/admin/{endpoint}/edit/?id={row.id}", data={"csrf_token": auth.csrf_token()})
    assert edit.status_code in (403, 404)  # 403 for a reader of the schedule, 404 for its writers
    db.session.expire_all()
    assert db.session.get(model, row.id).updated_at == row.updated_at


def test_a_visit_cannot_be_booked_in_another_branch(client, auth):
    auth.as_role("administrator")
    form = main_form(client.get("/admin/appointment/new/").get_data(as_text=True))
    offered = {text for _, text in form["options"]["clinic"] if text}
    assert offered == {"StomPRO Центр"}
    south = clinic(SOUTH)
    room = south.rooms[0]
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    before = db.session.scalar(select(func.count()).select_from(Appointment))
    data = form_data(form, clinic=south.id, room=room.id, doctor=pick(client, form, "doctor", "Ковал"),
                     patient=patient.id, starts_at="10.02.2027 10:00", ends_at="10.02.2027 10:30", kind="treatment")
    response = client.post("/admin/appointment/new/", data=data)
    assert response.status_code == 200
    assert "Not a valid choice" in " ".join(form_errors(response.get_data(as_text=True)))
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == before


def test_the_services_refuse_another_branch_whatever_the_path(app):
    visit = db.session.execute(
        select(Appointment).where(Appointment.clinic_id == clinic(SOUTH).id, Appointment.status == "booked").limit(1)
    ).scalar_one()
    with pytest.raises(NotAllowed):
        set_visit_status(db.session, staff_by_login("admin"), visit, "cancelled", "Проверка")
    db.session.rollback()
    set_visit_status(db.session, staff_by_login("callcenter"), visit, "cancelled", "Пациент уехал")
    assert visit.status == "cancelled"


@pytest.mark.parametrize("role", ["owner", "call_center"])
def test_owners_and_the_call_center_see_every_branch(client, auth, role):
    auth.as_role(role)
    row = south_row(Appointment)
    assert client.get(f"/admin/appointment/details/?id={row.id}").status_code == 200


# -- the access log ---------------------------------------------------------------------------


def _accesses(person, patient_id):
    return db.session.execute(
        select(PatientAccess.what, PatientAccess.channel)
        .where(PatientAccess.staff_id == person.id, PatientAccess.patient_id == patient_id)
        .order_by(PatientAccess.id)
    ).all()


def test_every_opening_of_a_patients_records_is_logged(client, auth):
    person = auth.as_role("doctor")
    plan = db.session.execute(select(TreatmentPlan).where(TreatmentPlan.deleted_at.is_(None)).limit(1)).scalar_one()
    patient_id = plan.patient_id
    for url in (
        f"/admin/patient_card/{patient_id}",
        f"/admin/chart/{patient_id}",
        f"/admin/chart/{patient_id}/tooth/16",
        f"/admin/exam/card/{patient_id}",
        f"/admin/attachment/patient/{patient_id}",
        f"/admin/plan/{plan.id}",
        f"/admin/patient/details/?id={patient_id}",
    ):
        assert client.get(url).status_code == 200, url
    opened = [what for what, channel in _accesses(person, patient_id)]
    assert opened == ["patient_card", "chart", "chart", "exams", "images", "plan", "patient_card"]


def test_the_api_s_reads_are_logged_too(client):
    api = Api(client)
    person = api.as_role("doctor")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    assert api.get(f"/api/v1/patients/{patient.id}/chart").status_code == 200
    assert _accesses(person, patient.id) == [("chart", "api")]


def test_the_owner_reads_and_filters_the_access_log(client, auth):
    doctor = auth.as_role("doctor")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    client.get(f"/admin/chart/{patient.id}")
    auth.as_role("owner")
    page = client.get(f"/admin/patient_access/?flt1_staff_login_equals={doctor.login}").get_data(as_text=True)
    assert patient.last_name in page
    for role in ("doctor", "administrator", "cashier"):
        auth.as_role(role)
        assert client.get("/admin/patient_access/").status_code == 403
