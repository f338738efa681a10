"""Documents through the JSON API: prepared from their templates, printed,
signed (by a representative for a child), listed — and the gate's 409."""
from datetime import date

from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient

from ..planning.test_printout import pdf_text


def _patient(born=date(1985, 4, 2)):
    patient = Patient(last_name="Апиева", first_name="Нина", birth_date=born, phone="+79160004411")
    db.session.add(patient)
    db.session.commit()
    return patient


def test_a_consent_is_prepared_printed_signed_and_listed(app, api):
    patient = _patient()
    api.as_role("administrator")
    made = api.post(f"/api/v1/patients/{patient.id}/documents", json={"kind": "consent", "specialty": "surgery"})
    assert made.status_code == 201
    document = made.get_json()
    assert (document["kind"], document["specialty"], document["status"]) == ("consent", "surgery", "draft")
    pdf = api.get(f"/api/v1/documents/{document['id']}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text, _reader = pdf_text(pdf.get_data())
    assert "Апиева Нина" in text
    signed = api.post(f"/api/v1/documents/{document['id']}/sign", json={"signed_by": "patient"})
    assert signed.status_code == 200 and signed.get_json()["status"] == "signed"
    assert signed.get_json()["signed_by"] == "patient" and signed.get_json()["signed_at"]
    listed = api.get(f"/api/v1/patients/{patient.id}/documents").get_json()["documents"]
    assert [(row["id"], row["status"]) for row in listed] == [(document["id"], "signed")]
    again = api.post(f"/api/v1/documents/{document['id']}/sign", json={"signed_by": "patient"})
    assert again.status_code == 422  # a signed document is never changed


def test_a_childs_document_needs_a_representative(app, api):
    child = _patient(born=utcnow().date().replace(year=utcnow().year - 8))
    api.as_role("administrator")
    document = api.post(f"/api/v1/patients/{child.id}/documents", json={"kind": "personal_data"}).get_json()
    refused = api.post(f"/api/v1/documents/{document['id']}/sign", json={"signed_by": "patient"})
    assert refused.status_code == 422 and "signed_by" in refused.get_json()["fields"]
    missing = api.post(f"/api/v1/documents/{document['id']}/sign",
                       json={"signed_by": "representative", "representative": {"name": "Апиева Ольга"}})
    assert missing.status_code == 422 and "representative" in missing.get_json()["fields"]
    signed = api.post(f"/api/v1/documents/{document['id']}/sign", json={
        "signed_by": "representative", "representative": {"name": "Апиева Ольга", "document": "паспорт 45 10 1"}})
    assert signed.status_code == 200 and signed.get_json()["signed_by"] == "representative"


def test_bad_requests_name_their_field_and_roles_are_kept(app, api):
    patient = _patient()
    api.as_role("administrator")
    url = f"/api/v1/patients/{patient.id}/documents"
    assert set(api.post(url, json={"kind": "receipt"}).get_json()["fields"]) == {"kind"}
    assert "specialty" in api.post(url, json={"kind": "consent", "specialty": "magic"}).get_json()["fields"]
    assert "plan_id" in api.post(url, json={"kind": "plan", "plan_id": 2147483647}).get_json()["fields"]
    assert api.post("/api/v1/patients/2147483647/documents", json={"kind": "contract"}).status_code == 404
    api.as_role("doctor")
    assert api.post(url, json={"kind": "contract"}).status_code == 403
    assert api.get(url).status_code == 200
