"""Every write is audited with before → after; soft delete hides and restore
shows; a save based on a stale version is refused."""
import pytest
from sqlalchemy import func, select

from stompro.audit.models import AuditLog
from stompro.extensions import db
from stompro.patients.models import Patient

from ..admin.test_forms import first, post_form


def audit_rows(table, row_id):
    return db.session.execute(
        select(AuditLog).where(AuditLog.table_name == table, AuditLog.row_id == row_id).order_by(AuditLog.id)
    ).scalars().all()


def a_patient():
    return first(Patient, Patient.deleted_at.is_(None))


def edit_form(patient, **changes):
    data = {
        "last_name": patient.last_name, "first_name": patient.first_name, "middle_name": patient.middle_name or "",
        "birth_date": patient.birth_date.isoformat(), "phone": patient.phone, "status": patient.status,
        "version": str(patient.version),
    }
    if patient.sms_consent:
        data["sms_consent"] = "y"
    data.update(changes)
    return data


def test_an_edit_writes_who_and_the_fields_before_and_after(client, auth):
    owner = auth.as_role("owner")
    patient = a_patient()
    old_name = patient.first_name
    response = post_form(client, auth, f"/admin/patient/edit/?id={patient.id}", edit_form(patient, first_name="Изменённая"))
    assert response.status_code == 302
    entry = audit_rows("patient", patient.id)[-1]
    assert entry.action == "update"
    assert entry.actor_id == owner.id and entry.actor_login == "owner"
    assert entry.changes["first_name"] == [old_name, "Изменённая"]


def test_an_insert_is_audited_with_its_values(client, auth):
    auth.as_role("administrator")
    response = post_form(
        client, auth, "/admin/patient/new/",
        {"last_name": "Аудитова", "first_name": "Вера", "birth_date": "1980-01-02", "phone": "+7 916 000-11-22", "status": "active"},
    )
    assert response.status_code == 302
    patient = first(Patient, Patient.last_name == "Аудитова")
    entry = audit_rows("patient", patient.id)[0]
    assert entry.action == "insert" and entry.actor_login == "admin"
    assert entry.changes["phone"] == "+79160001122"


def test_passwords_never_reach_the_audit_log(client, auth):
    auth.as_role("owner")
    post_form(
        client, auth, "/admin/staff/new/",
        {"login": "audited", "last_name": "А", "first_name": "Б", "color": "#123456", "language": "ru",
         "active": "y", "roles": ["cashier"], "new_password": "secret-password-1"},
    )
    entries = db.session.execute(select(AuditLog).where(AuditLog.table_name == "staff")).scalars().all()
    assert entries
    assert all("$argon2" not in str(e.changes) and "secret-password-1" not in str(e.changes) for e in entries)


def test_delete_hides_the_patient_and_the_owner_restores_it(client, auth):
    auth.as_role("owner")
    patient = a_patient()
    response = post_form(client, auth, "/admin/patient/delete/", {"id": patient.id, "url": "/admin/patient/"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).deleted_at is not None  # still there, only hidden
    assert audit_rows("patient", patient.id)[-1].action == "soft_delete"
    assert client.get(f"/admin/patient/details/?id={patient.id}").status_code == 404  # gone from the screens
    listing = client.get(f"/admin/patient/?search={patient.phone}").get_data(as_text=True)
    assert patient.last_name not in listing

    bin_page = client.get("/admin/recycle_bin/?table=patient").get_data(as_text=True)
    assert patient.last_name in bin_page
    response = post_form(client, auth, "/admin/recycle_bin/restore", {"table": "patient", "id": patient.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).deleted_at is None
    assert audit_rows("patient", patient.id)[-1].action == "restore"
    assert client.get(f"/admin/patient/details/?id={patient.id}").status_code == 200


def test_only_the_owner_restores(client, auth):
    auth.as_role("administrator")
    assert client.get("/admin/recycle_bin/").status_code == 403


def test_a_hard_delete_through_the_orm_becomes_a_soft_delete(app):
    patient = a_patient()
    db.session.delete(patient)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).deleted_at is not None


def test_a_stale_version_is_refused_with_a_clear_message(client, auth):
    auth.as_role("owner")
    patient = a_patient()
    stale = edit_form(patient, first_name="Первая")
    first_save = post_form(client, auth, f"/admin/patient/edit/?id={patient.id}", dict(stale))
    assert first_save.status_code == 302
    second_save = post_form(client, auth, f"/admin/patient/edit/?id={patient.id}", dict(stale, first_name="Вторая"))
    assert second_save.status_code == 200
    assert "Someone else changed this record" in second_save.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Первая"


def test_audit_rows_cannot_be_changed(app):
    entry = db.session.execute(select(AuditLog).limit(1)).scalar_one()
    entry.action = "delete"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_the_audit_screen_is_read_only(client, auth):
    auth.as_role("owner")
    assert client.get("/admin/audit_log/").status_code == 200
    assert client.get("/admin/audit_log/new/").status_code == 302  # back to the list: it changes nowhere
    entry_id = db.session.scalar(select(func.min(AuditLog.id)))
    assert client.get(f"/admin/audit_log/edit/?id={entry_id}").status_code == 302
    assert client.post(f"/admin/audit_log/edit/?id={entry_id}", data={"action": "delete"}).status_code in (400, 403)
