"""The task book through the API: listing the tasks of the caller's
branches with filters, and a call's result — valid and refused — with the
database checked afterwards."""
from datetime import date, timedelta

import pytest

from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.scheduling.availability import clinic_zone
from stompro.tasks.services import create_task

from ..conftest import CENTER, SOUTH, clinic, staff_by_login


def _task(last_name, branch=CENTER, tab="care_calls"):
    patient = Patient(last_name=last_name, first_name="Ольга", birth_date=date(1977, 7, 7), phone="+79160007788")
    db.session.add(patient)
    task = create_task(db.session, staff_by_login("owner"), tab=tab, priority=2, title="Звонок заботы",
                       patient=patient, clinic=clinic(branch), due_at=utcnow() - timedelta(minutes=5))
    db.session.commit()
    return task


def test_the_tasks_of_the_callers_branches_with_filters(app, api):
    center, south = _task("Центрова"), _task("Южнова", branch=SOUTH)
    api.as_role("administrator")  # the centre's
    listed = {t["id"]: t for t in api.get("/api/v1/tasks", query_string={"tab": "care_calls"}).get_json()["tasks"]}
    assert center.id in listed and south.id not in listed
    shown = listed[center.id]
    assert shown["due_at"] == center.due_at.astimezone(clinic_zone(center.clinic)).isoformat(timespec="seconds")
    assert (shown["status"], shown["attempts"], shown["patient_id"], shown["call_result"]) == (
        "open", 0, center.patient_id, None)
    birthdays = api.get("/api/v1/tasks", query_string={"tab": "birthdays", "status": "open"}).get_json()["tasks"]
    assert center.id not in {t["id"] for t in birthdays} and {t["tab"] for t in birthdays} <= {"birthdays"}
    mine = api.get("/api/v1/tasks", query_string={"clinic_id": clinic(CENTER).id}).get_json()["tasks"]
    assert center.id in {t["id"] for t in mine}
    response = api.get("/api/v1/tasks", query_string={"tab": "someday"})
    assert response.status_code == 422 and "tab" in response.get_json()["fields"]


def test_a_call_result_is_recorded_as_the_panel_records_it(app, api):
    task = _task("Звонкова")
    api.as_role("call_center")
    when = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    answer = api.post(f"/api/v1/tasks/{task.id}/result", json={"result": "call_back", "call_back_at": when.isoformat(),
                                                                "note": "После обеда"}).get_json()
    assert (answer["status"], answer["call_result"], answer["attempts"]) == ("open", "call_back", 1)
    answer = api.post(f"/api/v1/tasks/{task.id}/result", json={"result": "reached"}).get_json()
    db.session.refresh(task)
    assert (task.status, task.call_result, task.attempts, task.done_by.login) == ("done", "reached", 2, "callcenter")
    assert answer["status"] == "done"


@pytest.mark.parametrize("body, field", [
    ({"result": "refused"}, "reason"),
    ({"result": "maybe"}, "result"),
    ({"result": "call_back"}, "call_back_at"),
    ({"result": "call_back", "call_back_at": "2027-01-01T10:00:00"}, "call_back_at"),
    ({"result": "reached", "note": 5}, "note"),
    ({"result": "reached", "extra": 1}, "extra"),
])
def test_a_refused_result_names_its_field_and_changes_nothing(app, api, body, field):
    task = _task("Отказнова")
    api.as_role("call_center")
    response = api.post(f"/api/v1/tasks/{task.id}/result", json=body)
    assert response.status_code == 422 and field in response.get_json()["fields"], response.get_json()
    db.session.refresh(task)
    assert (task.status, task.attempts, task.call_result) == ("open", 0, None)


def test_other_branches_and_roles_are_refused(app, api):
    south = _task("Дальнова", branch=SOUTH)
    api.as_role("administrator")
    assert api.post(f"/api/v1/tasks/{south.id}/result", json={"result": "reached"}).status_code == 404
    assert api.post("/api/v1/tasks/99999999999999/result", json={"result": "reached"}).status_code == 404
    api.as_role("doctor")
    assert api.get("/api/v1/tasks").status_code == 403
    db.session.refresh(south)
    assert south.status == "open"


def test_a_call_replaced_by_a_message_closes_the_task_and_shows_in_the_patients_messages(app, api):
    task = _task("Писемская")
    task.patient.sms_consent = True
    db.session.commit()
    api.as_role("call_center")
    response = api.post(f"/api/v1/tasks/{task.id}/sms", json={})
    assert response.status_code == 201, response.get_json()
    message = response.get_json()
    assert (message["kind"], message["channel"], message["status"]) == ("manual", "sms", "scheduled")
    assert "Ольга" in message["body"]  # the standard text, addressed to the patient
    db.session.refresh(task)
    assert task.status == "done" and message["body"] in task.outcome_note
    listed = api.get(f"/api/v1/patients/{task.patient_id}/messages").get_json()["messages"]
    assert [m["id"] for m in listed] == [message["id"]]
    again = api.post(f"/api/v1/tasks/{task.id}/sms", json={"text": "Ещё раз"})
    assert again.status_code == 422


def test_without_consent_the_call_is_not_replaced(app, api):
    task = _task("Безсогласия")
    task.patient.sms_consent = False
    db.session.commit()
    api.as_role("call_center")
    response = api.post(f"/api/v1/tasks/{task.id}/sms", json={"text": "Перезвоните нам"})
    assert response.status_code == 422 and "call them instead" in response.get_json()["fields"]["text"]
    db.session.refresh(task)
    assert task.status == "open"
    assert api.get("/api/v1/patients/999999999/messages").status_code == 404
