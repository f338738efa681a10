"""The reception's documents desk (documents.views, documents.printing): a
document prepared from its template prints as a PDF with the patient and
the clinic filled in, printing twice makes one draft, and it is marked
signed — by a representative for a child — from the patient card; the board
offers to print what the gate finds missing."""
from datetime import date, time, timedelta

from sqlalchemy import select

from stompro.db import utcnow
from stompro.documents.models import PatientDocument
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.services import book_visit

from ..conftest import doctor_works
from ..planning.test_printout import pdf_text

DAY = date(2027, 3, 10)


def _prepare(client, auth, patient, **fields):
    return client.post("/admin/documents/prepare", data={"csrf_token": auth.csrf_token(), "patient_id": patient.id,
                                                          "kind": "contract", **fields})


def _documents(patient):
    return db.session.execute(select(PatientDocument).where(PatientDocument.patient_id == patient.id)
                              .order_by(PatientDocument.id)).scalars().all()


def test_a_contract_is_prepared_and_prints_with_the_patient_and_the_clinic(app, client, auth, patient):
    auth.as_role("administrator")
    answer = _prepare(client, auth, patient)
    assert answer.status_code == 302
    [document] = _documents(patient)
    assert (document.kind, document.status, document.template.code) == ("contract", "draft", "contract_paid_services")
    pdf = client.get(answer.headers["Location"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text, _reader = pdf_text(pdf.get_data())
    assert "Contract for the provision of paid medical services" in text  # the clinic's language: English in the tests
    assert "Зубова Ольга" in text and document.clinic.name in text
    _prepare(client, auth, patient)
    assert len(_documents(patient)) == 1  # printed again: the same draft


def test_a_consent_names_its_specialty_and_a_doctor_may_read_but_not_prepare(app, client, auth, patient):
    auth.as_role("administrator")
    refused = _prepare(client, auth, patient, kind="consent", specialty="")
    assert not _documents(patient)
    assert "An informed consent is for a specialty: choose it." in client.get(refused.headers["Location"]).get_data(
        as_text=True)
    _prepare(client, auth, patient, kind="consent", specialty="surgery")
    [document] = _documents(patient)
    assert (document.kind, document.specialty.code) == ("consent", "surgery")
    auth.as_role("doctor")
    assert client.get(f"/admin/documents/{document.id}.pdf").status_code == 200
    assert _prepare(client, auth, patient).status_code == 403


def test_a_childs_document_is_signed_by_a_representative_from_the_card(app, client, auth):
    child = Patient(last_name="Малышев", first_name="Петя", birth_date=utcnow().date().replace(year=utcnow().year - 9),
                    phone="+79160009912")
    db.session.add(child)
    db.session.commit()
    auth.as_role("administrator", language="ru")
    _prepare(client, auth, child, kind="personal_data")
    [document] = _documents(child)
    card = client.get(f"/admin/patient_card/{child.id}").get_data(as_text=True)
    assert f'action="/admin/documents/{document.id}/sign"' in card and "Подготовить и распечатать" in card
    text, _reader = pdf_text(client.get(f"/admin/documents/{document.id}.pdf").get_data())
    assert "Signed for the patient by their legal representative" in text  # a child: the blanks for them
    sign = f"/admin/documents/{document.id}/sign"
    refused = client.post(sign, data={"csrf_token": auth.csrf_token(), "signed_by": "patient"}, follow_redirects=True)
    assert "Пациенту нет 15 лет" in refused.get_data(as_text=True)
    db.session.refresh(document)
    assert document.status == "draft"
    client.post(sign, data={"csrf_token": auth.csrf_token(), "signed_by": "representative",
                            "representative_name": "Малышева Ольга Викторовна",
                            "representative_document": "паспорт 45 10 123456; свидетельство о рождении"})
    db.session.refresh(document)
    assert (document.status, document.signed_by, document.representative_name, document.witnessed_by.login) == (
        "signed", "representative", "Малышева Ольга Викторовна", "admin")


def test_the_board_offers_to_print_what_the_visit_still_needs(app, client, auth, admin, center, patient):
    doctor = doctor_works(DAY)
    starts_at = at_local(center, DAY, time(10))
    visit = book_visit(db.session, admin, clinic=center, room=center.rooms[0], doctor=doctor, patient=patient,
                       starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
    db.session.commit()
    auth.as_role("administrator")
    page = client.get("/admin/schedule/", query_string={"clinic": center.id, "day": DAY.isoformat()}).get_data(
        as_text=True)
    details = page[page.index(f'data-visit="{visit.id}"'):]
    details = details[:details.index("</template>")]
    assert details.count('action="/admin/documents/prepare"') == 3
    assert 'data-print-document="personal_data"' in details and 'name="visit_id" value="%s"' % visit.id in details
    answer = _prepare(client, auth, patient, kind="consent", specialty="therapy", visit_id=visit.id)
    assert f"visit={visit.id}" in answer.headers["Location"]  # the PDF names the visit's doctor
    text, _reader = pdf_text(client.get(answer.headers["Location"]).get_data())
    assert doctor.short_name in text


def test_the_signed_copy_is_kept_once_and_checked_by_its_content(app, client, auth, patient):
    import io

    auth.as_role("administrator")
    _prepare(client, auth, patient)
    [document] = _documents(patient)
    scan_url = f"/admin/documents/{document.id}/scan"

    def upload(content, name):
        return client.post(scan_url, data={"csrf_token": auth.csrf_token(), "file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)

    pdf = client.get(f"/admin/documents/{document.id}.pdf").get_data()
    assert "Mark the document signed first" in upload(pdf, "contract.pdf")
    client.post(f"/admin/documents/{document.id}/sign", data={"csrf_token": auth.csrf_token()})
    assert "a Windows program" in upload(b"MZ\x90\x00" + b"\x00" * 200, "contract.pdf")
    db.session.refresh(document)
    assert document.scan_id is None
    assert "The signed copy is kept" in upload(pdf, "contract-signed.pdf")
    db.session.refresh(document)
    assert (document.scan.kind, document.scan.content_type, document.scan.exam_id) == (
        "document", "application/pdf", None)
    assert "kept already" in upload(pdf, "again.pdf")
    copy = client.get(f"/admin/documents/{document.id}/signed-copy")  # the desk opens it, not only clinicians
    assert copy.status_code == 200 and copy.mimetype == "application/pdf" and copy.get_data() == pdf
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert f'href="/admin/documents/{document.id}/signed-copy"' in card


def test_the_card_cover_prints_the_tooth_formula_from_the_chart(app, client, auth):
    from stompro.chart.models import Condition, ToothFinding

    finding = db.session.execute(
        select(ToothFinding).join(Condition, ToothFinding.condition_id == Condition.id)
        .where(Condition.code == "caries").order_by(ToothFinding.id).limit(1)).scalar_one()
    patient = finding.patient
    auth.as_role("administrator")
    answer = _prepare(client, auth, patient, kind="card_cover")
    text, _reader = pdf_text(client.get(answer.headers["Location"]).get_data())
    assert "Dental formula" in text and patient.full_name in text
    assert "Caries" in text and str(finding.tooth) in text  # the chart's legend and its teeth
