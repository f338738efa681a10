"""A rule holds whichever path reaches its table: the generic screens cannot
change what the services refuse (frozen prices, mandatory steps, a plan's
status and patient, a chart finding), nothing kept for the record is
hard-deleted, and the API refuses what the panel refuses."""
import pytest
from sqlalchemy import delete, select

from stompro.audit.models import AuditLog
from stompro.catalog.models import PriceListItem, Protocol, Service
from stompro.chart.models import Condition, ToothFinding
from stompro.chart.services import FindingsRejected, record_findings
from stompro.db import utcnow
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.patients.models import Patient
from stompro.planning.models import PlanItem, TreatmentPlan
from stompro.records import NeverDeleted, soft_delete
from stompro.tasks.models import Task

from ..api.conftest import Api
from ..conftest import staff_by_login
from .pages import form_data, main_form


def _post(client, auth, url, data):
    return client.post(url, data={**data, "csrf_token": auth.csrf_token()})


def _item_of_a_presented_plan():
    for item in db.session.execute(
        select(PlanItem).where(PlanItem.mandatory.is_(True), PlanItem.removed.is_(False), PlanItem.deleted_at.is_(None))
    ).scalars():
        if item.stage.variant.plan.status == "presented":
            return item
    raise AssertionError("the demo has no mandatory item of a presented plan")


@pytest.mark.parametrize("role", ["owner", "doctor", "coordinator"])
def test_no_generic_screen_changes_a_frozen_price_the_mandatory_flag_or_removes_a_step(client, auth, role):
    auth.as_role(role)
    item = _item_of_a_presented_plan()
    before = (item.price, item.mandatory, item.removed, item.deleted_at)
    edit = _post(client, auth, f"/admin/plan_item/edit/?id={item.id}",
                 {"price": "1.00", "mandatory": "", "removed": "y", "version": item.version})
    removal = _post(client, auth, "/admin/plan_item/delete/", {"id": item.id})
    assert (edit.status_code, removal.status_code) == (403, 403)
    db.session.expire_all()
    item = db.session.get(PlanItem, item.id)
    assert (item.price, item.mandatory, item.removed, item.deleted_at) == before


@pytest.mark.parametrize("role", ["owner", "doctor", "coordinator"])
def test_no_generic_screen_changes_a_plans_status_or_patient(client, auth, role):
    auth.as_role(role)
    plan = db.session.execute(select(TreatmentPlan).where(TreatmentPlan.status == "declined").limit(1)).scalar_one()
    other = db.session.execute(select(Patient).where(Patient.id != plan.patient_id).limit(1)).scalar_one()
    for url in (f"/admin/treatment_plan/edit/?id={plan.id}", "/admin/treatment_plan/new/"):
        response = _post(client, auth, url, {"status": "completed", "patient": other.id, "version": plan.version})
        assert response.status_code == 403
    assert _post(client, auth, "/admin/treatment_plan/delete/", {"id": plan.id}).status_code == 403
    for endpoint in ("plan_variant", "plan_stage", "plan_item"):
        opened = client.get(f"/admin/{endpoint}/new/", follow_redirects=True)
        assert opened.request.path == f"/admin/{endpoint}/"  # back to the list, saying where plans change
        assert "plan screen" in opened.get_data(as_text=True)
    assert client.get("/admin/payment_schedule/new/").status_code in (302, 403)  # a reader is sent back
    db.session.expire_all()
    plan = db.session.get(TreatmentPlan, plan.id)
    assert (plan.status, plan.patient_id, plan.deleted_at) == ("declined", plan.patient_id, None)


def test_a_finding_is_recorded_by_its_doctor_now_whatever_the_form_says(client, auth):
    doctor = auth.as_role("doctor")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    other_doctor = db.session.execute(select(Staff).where(Staff.login == "owner")).scalar_one()
    condition = db.session.execute(select(Condition).filter_by(code="caries")).scalar_one()
    response = _post(client, auth, "/admin/tooth_finding/new/", {
        "patient": patient.id, "tooth": "26", "surfaces": "O", "condition": condition.id,
        "author": other_doctor.id, "recorded_at": "01.01.2020 10:00",
    })
    assert response.status_code == 302
    finding = db.session.execute(select(ToothFinding).order_by(ToothFinding.id.desc()).limit(1)).scalar_one()
    assert finding.author_id == doctor.id
    assert abs((utcnow() - finding.recorded_at).total_seconds()) < 60


def test_a_finding_is_never_edited_or_deleted_and_the_owner_records_none(client, auth):
    finding = db.session.execute(select(ToothFinding).limit(1)).scalar_one()
    for role in ("doctor", "owner"):
        auth.as_role(role)
        assert _post(client, auth, f"/admin/tooth_finding/edit/?id={finding.id}", {"tooth": "11"}).status_code == 403
        assert _post(client, auth, "/admin/tooth_finding/delete/", {"id": finding.id}).status_code == 403
    assert client.get("/admin/tooth_finding/new/").status_code == 403  # the owner, a clinic manager here
    db.session.expire_all()
    assert db.session.get(ToothFinding, finding.id).tooth == finding.tooth


def test_no_code_path_changes_or_deletes_a_recorded_finding(app):
    finding = db.session.execute(select(ToothFinding).limit(1)).scalar_one()
    finding.tooth = 11
    with pytest.raises(DomainError, match="never changed or deleted"):
        db.session.flush()
    db.session.rollback()
    finding = db.session.get(ToothFinding, finding.id)
    db.session.delete(finding)
    with pytest.raises(DomainError, match="never changed or deleted"):
        db.session.flush()
    db.session.rollback()


def test_the_api_and_the_panel_refuse_the_owners_findings_alike(client, auth):
    api = Api(client)
    api.as_role("owner")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    finding = {"tooth": 36, "surfaces": "O", "condition": "caries"}
    assert api.post(f"/api/v1/patients/{patient.id}/chart", json={"findings": [finding]}).status_code == 403
    owner = staff_by_login("owner")
    with pytest.raises(DomainError, match="Only a doctor records chart findings"):
        record_findings(db.session, patient, owner, [finding])


# -- nothing kept for the record is hard-deleted ------------------------------------------


@pytest.mark.parametrize("model", [Service, PriceListItem, Protocol, Staff, Task])
def test_rows_kept_for_the_record_are_never_hard_deleted(app, model):
    row = db.session.execute(select(model).limit(1)).scalar_one()
    db.session.delete(row)
    with pytest.raises(NeverDeleted):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(model, row.id) is not None


def test_clinical_rows_deleted_through_the_orm_are_kept_in_the_recycle_bin(app):
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    db.session.delete(patient)
    db.session.flush()
    assert db.session.get(Patient, patient.id).deleted_at is not None


def test_the_generic_screens_offer_no_delete_for_what_is_kept(client, auth):
    auth.as_role("owner")
    service = db.session.execute(select(Service).limit(1)).scalar_one()
    task = db.session.execute(select(Task).where(Task.status == "open").limit(1)).scalar_one()
    for endpoint, row_id in (("service", service.id), ("price_list_item", 1), ("protocol", 1), ("staff", 1)):
        assert _post(client, auth, f"/admin/{endpoint}/delete/", {"id": row_id}).status_code == 403, endpoint
    # A task's delete cancels it: the task stays, who cancelled it and when.
    assert _post(client, auth, "/admin/task/delete/", {"id": task.id}).status_code == 302
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert (task.status, task.done_by.login) == ("cancelled", "owner")


def test_audit_rows_never_change_and_keep_the_actor_s_name(client, auth):
    auth.as_role("administrator")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    form = main_form(client.get(f"/admin/patient/edit/?id={patient.id}").get_data(as_text=True))
    assert client.post(f"/admin/patient/edit/?id={patient.id}", data=form_data(form, note="Аллергия на лидокаин")).status_code == 302
    row = db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "patient", AuditLog.row_id == patient.id).order_by(AuditLog.id.desc())
    ).scalars().first()
    assert (row.actor_login, row.actor_name) == ("admin", staff_by_login("admin").full_name)
    assert row.changes["note"][1] == "Аллергия на лидокаин"
    with pytest.raises(RuntimeError):
        row.action = "delete"
        db.session.flush()
    db.session.rollback()
    # No foreign-key action may rewrite an audit row: the database refuses to
    # drop the person instead of nulling their id.
    actor_fk = next(iter(AuditLog.__table__.c.actor_id.foreign_keys))
    assert actor_fk.ondelete is None
    with pytest.raises(Exception):
        db.session.execute(delete(Staff).where(Staff.id == row.actor_id))
        db.session.flush()
    db.session.rollback()


def test_the_owner_restores_a_soft_deleted_patient(client, auth):
    auth.as_role("owner")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    soft_delete(db.session, patient)
    db.session.commit()
    response = _post(client, auth, "/admin/recycle_bin/restore", {"table": "patient", "id": patient.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).deleted_at is None


def test_a_deleted_patients_plan_is_404_in_the_api_as_in_the_panel(client, auth):
    plan = db.session.execute(select(TreatmentPlan).where(TreatmentPlan.deleted_at.is_(None)).limit(1)).scalar_one()
    soft_delete(db.session, plan.patient)
    db.session.commit()
    auth.as_role("coordinator")
    assert client.get(f"/admin/plan/{plan.id}").status_code == 404
    api = Api(client)
    api.as_role("coordinator")
    assert api.get(f"/api/v1/plans/{plan.id}").status_code == 404
    assert api.post(f"/api/v1/plans/{plan.id}/present").status_code == 404


@pytest.mark.parametrize("path", ["service", "api", "screen"])
def test_a_whole_tooth_condition_is_never_recorded_on_surfaces(client, auth, path):
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    missing = db.session.execute(select(Condition).filter_by(code="missing")).scalar_one()
    assert missing.scope == "tooth"
    before = db.session.execute(select(ToothFinding.id).where(ToothFinding.patient_id == patient.id)).all()
    if path == "service":
        with pytest.raises(FindingsRejected) as refused:
            record_findings(db.session, patient, staff_by_login("doctor"),
                            [{"tooth": 16, "surfaces": "MO", "condition": "missing"}])
        assert "whole tooth" in refused.value.errors["findings[0].surfaces"]
        db.session.rollback()
    elif path == "api":
        api = Api(client)
        api.as_role("doctor")
        answer = api.post(f"/api/v1/patients/{patient.id}/chart",
                          json={"findings": [{"tooth": 16, "surfaces": "MO", "condition": "missing"}]})
        assert answer.status_code == 422 and "whole tooth" in answer.get_json()["fields"]["findings[0].surfaces"]
    else:
        auth.as_role("doctor")
        answer = _post(client, auth, "/admin/tooth_finding/new/",
                       {"patient": patient.id, "tooth": "16", "surfaces": "MO", "condition": missing.id})
        assert answer.status_code == 200 and "whole tooth" in answer.get_data(as_text=True)
    after = db.session.execute(select(ToothFinding.id).where(ToothFinding.patient_id == patient.id)).all()
    assert after == before
