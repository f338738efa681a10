"""Patients' documents through the real generic forms: drafts made and
signed through documents.services, signed ones locked, opening one logged,
a branch's documents its own."""
import lxml.html
import pytest
from sqlalchemy import select

from stompro.audit.models import PatientAccess
from stompro.documents.models import PatientDocument
from stompro.documents.services import SIGNED, create_document, sign_document
from stompro.extensions import db

from ..billing.forms import audit_rows, count, field_errors, form_values, lookup, post


def document_form(patient, branch, chosen_template, **values):
    return {"patient": patient.id, "clinic": branch.id, "template": chosen_template.id, "plan": "",
            "kind": chosen_template.kind, "specialty": "__None", "title": "", **values}


def newest():
    return db.session.execute(select(PatientDocument).order_by(PatientDocument.id.desc()).limit(1)).scalar_one()


def cells(page):
    return {cell.text_content().strip() for cell in lxml.html.fromstring(page).xpath("//table//td")}


def test_an_administrator_prepares_a_draft_from_a_template(client, auth, admin, patient, center, consent):
    auth.as_role("administrator")
    values = form_values(client.get("/admin/patient_document/new/").get_data(as_text=True))
    assert not {"status", "signed_at", "witnessed_by", "pdf"} & set(values)  # set by the server
    response = post(client, auth, "/admin/patient_document/new/", document_form(patient, center, consent))
    assert response.status_code == 302, response.get_data(as_text=True)
    document = newest()
    assert (document.patient_id, document.clinic_id, document.status, document.title, document.specialty_id) == (
        patient.id, center.id, "draft", consent.title, consent.specialty_id)
    assert audit_rows("patient_document", document.id)[0].actor_id == admin.id


def test_a_draft_submitted_unchanged_is_saved_and_then_signed(client, auth, admin, patient, center, contract):
    document = create_document(db.session, admin, patient=patient, clinic=center, template=contract)
    db.session.commit()
    auth.as_role("administrator")
    url = f"/admin/patient_document/edit/?id={document.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    assert "patient" not in values  # a document stays with its patient
    assert post(client, auth, url, values).status_code == 302
    db.session.expire_all()
    assert document.status == "draft" and document.title == contract.title

    response = post(client, auth, url, {**values, "status": "signed", "signed_at": "01.01.2020 10:00"})
    assert response.status_code == 302
    db.session.expire_all()
    assert document.status == "signed" and document.witnessed_by_id == admin.id
    assert document.signed_at.year > 2020  # the server's time, not a typed one


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"title": "x" * 201}, "title", "At most 200 characters"),
        ({"title": "a\x00b"}, "title", "control characters"),
        ({"kind": "contract"}, "template", "another kind of document"),
        ({"template": "__None", "kind": "consent", "title": "Согласие"}, "specialty", "for a specialty"),
        ({"template": "__None", "kind": "plan_printout", "title": "План"}, "plan", "choose it"),
    ],
)
def test_a_bad_document_is_refused_under_its_field(client, auth, patient, center, consent, values, field, message):
    auth.as_role("administrator")
    before = count(PatientDocument)
    response = post(client, auth, "/admin/patient_document/new/", document_form(patient, center, consent, **values))
    assert response.status_code == 200
    assert message in " ".join(field_errors(response.get_data(as_text=True), field))
    assert count(PatientDocument) == before


def test_a_plan_of_another_patient_is_refused(client, auth, patient, center, contract, plan):
    auth.as_role("administrator")
    response = post(client, auth, "/admin/patient_document/new/",
                    document_form(patient, center, contract, plan=plan.id))
    assert "This plan is of another patient." in field_errors(response.get_data(as_text=True), "plan")


def test_editing_a_signed_document_is_refused(client, auth, admin, patient, center, contract):
    document = create_document(db.session, admin, patient=patient, clinic=center, template=contract)
    sign_document(db.session, admin, document)
    db.session.commit()
    auth.as_role("owner")
    url = f"/admin/patient_document/edit/?id={document.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    response = post(client, auth, url, {**values, "title": "Подделка"})
    assert response.status_code == 200
    assert str(SIGNED) in field_errors(response.get_data(as_text=True), "status")
    response = post(client, auth, "/admin/patient_document/delete/", {"id": document.id}, follow_redirects=True)
    assert str(SIGNED) in response.get_data(as_text=True)
    db.session.expire_all()
    assert (document.title, document.status, document.deleted_at) == (contract.title, "signed", None)


def test_a_draft_is_deleted_to_the_recycle_bin(client, auth, admin, patient, center, contract):
    document = create_document(db.session, admin, patient=patient, clinic=center, template=contract)
    db.session.commit()
    auth.as_role("administrator")
    assert post(client, auth, "/admin/patient_document/delete/", {"id": document.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PatientDocument, document.id).deleted_at is not None
    assert audit_rows("patient_document", document.id, "soft_delete")


def test_opening_a_document_is_written_to_the_access_log(client, auth, admin, patient, center, contract):
    document = create_document(db.session, admin, patient=patient, clinic=center, template=contract)
    db.session.commit()
    auth.as_role("doctor")
    assert client.get(f"/admin/patient_document/details/?id={document.id}").status_code == 200
    logged = db.session.execute(
        select(PatientAccess).where(PatientAccess.patient_id == patient.id, PatientAccess.what == "documents")
    ).scalars().all()
    assert [row.staff_login for row in logged] == ["doctor"]


def test_an_administrator_sees_only_the_own_branchs_documents(client, auth, owner, patient, center, south, contract):
    theirs = create_document(db.session, owner, patient=patient, clinic=south, template=contract, title="Договор Юг")
    mine = create_document(db.session, owner, patient=patient, clinic=center, template=contract, title="Договор Центр")
    db.session.commit()
    auth.as_role("administrator")
    shown = cells(client.get("/admin/patient_document/?page_size=100").get_data(as_text=True))
    assert "Договор Центр" in shown and "Договор Юг" not in shown
    for url in (f"/admin/patient_document/details/?id={theirs.id}", f"/admin/patient_document/edit/?id={theirs.id}"):
        assert client.get(url).status_code == 404, url
    assert post(client, auth, f"/admin/patient_document/edit/?id={theirs.id}", {"title": "x"}).status_code == 404
    response = post(client, auth, "/admin/patient_document/new/", document_form(patient, south, contract))
    assert "Not a valid choice." in field_errors(response.get_data(as_text=True), "clinic")
    assert count(PatientDocument, PatientDocument.clinic_id == south.id, PatientDocument.patient_id == patient.id) == 1
    assert mine.id

    auth.as_role("owner")
    assert "Договор Юг" in cells(client.get("/admin/patient_document/?page_size=100").get_data(as_text=True))
    assert client.get(f"/admin/patient_document/details/?id={theirs.id}").status_code == 200


def test_the_pickers_find_in_cyrillic_and_latin(client, auth, patient, latin_patient, plan):
    auth.as_role("administrator")
    assert patient.id in [row[0] for row in lookup(client, "patient_document", "patient", "Зубова")]
    assert latin_patient.id in [row[0] for row in lookup(client, "patient_document", "patient", "brown")]
    assert plan.id in [row[0] for row in lookup(client, "patient_document", "plan", plan.patient.last_name.lower())]
    witnesses = lookup(client, "patient_document", "witnessed_by", "Петрова")
    assert witnesses and all("Петрова" in label for _id, label in witnesses)
    assert lookup(client, "patient_document", "witnessed_by", "admin")
    assert lookup(client, "patient_document", "plan", "x" * 5000) == []


def test_a_signed_document_saved_as_it_is_changes_nothing(client, auth, admin, patient, center, contract):
    document = create_document(db.session, admin, patient=patient, clinic=center, template=contract)
    sign_document(db.session, admin, document)
    db.session.commit()
    signed_at = document.signed_at
    auth.as_role("administrator")
    url = f"/admin/patient_document/edit/?id={document.id}"
    response = post(client, auth, url, form_values(client.get(url).get_data(as_text=True)))
    assert response.status_code == 302
    db.session.expire_all()
    assert (document.status, document.signed_at, document.witnessed_by_id) == ("signed", signed_at, admin.id)
