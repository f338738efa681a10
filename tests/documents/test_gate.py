"""The documents gate (documents.gate): a visit goes "in chair" only when its
patient has signed the contract, the consent to personal data and the
informed consent of the visit's specialty — through the service, the board
and the API alike; a ``warn`` branch lets it go with an audited reason; a
child's documents are signed by a legal representative."""
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from stompro.audit.models import AuditLog
from stompro.db import utcnow
from stompro.documents.gate import DocumentsMissing, missing_documents
from stompro.documents.services import create_document, sign_document
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.services import book_visit, set_visit_status

from ..conftest import CENTER, clinic, doctor_works
from ..api.conftest import api  # noqa: F401 (a fixture: the JSON API with a token)
from .conftest import template

DAY = date(2027, 3, 10)  # a Wednesday the demo books nothing on
THERAPY = "consent_therapy"


def _arrived(admin, center, patient):
    """A therapist's visit today whose patient has arrived."""
    doctor = doctor_works(DAY)
    starts_at = at_local(center, DAY, time(10))
    visit = book_visit(db.session, admin, clinic=center, room=center.rooms[0], doctor=doctor, patient=patient,
                       starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
    set_visit_status(db.session, admin, visit, "arrived")
    return visit


def signed(actor, patient, code, plan=None, at=None, **signer):
    document = create_document(db.session, actor, patient=patient, clinic=clinic(CENTER), template=template(code),
                               plan=plan)
    return sign_document(db.session, actor, document, now=at, **signer)


def test_each_missing_document_is_named_and_signing_them_lets_the_visit_in(app, admin, center, patient):
    visit = _arrived(admin, center, patient)
    with pytest.raises(DocumentsMissing) as refused:
        set_visit_status(db.session, admin, visit, "in_chair")
    assert [item.json() for item in refused.value.missing] == [
        {"kind": "contract", "specialty": None}, {"kind": "personal_data", "specialty": None},
        {"kind": "consent", "specialty": "therapy"}]
    assert str(refused.value.message) == (
        "Before treatment the patient must sign: the contract for paid services; consent to personal data "
        "processing; informed consent: Restorative dentistry.")
    assert visit.status == "arrived" and visit.started_at is None

    signed(admin, patient, "contract_paid_services")
    signed(admin, patient, "consent_personal_data")
    assert [item.kind for item in missing_documents(db.session, visit)] == ["consent"]
    signed(admin, patient, "consent_surgery")  # another specialty's consent does not count
    assert [item.kind for item in missing_documents(db.session, visit)] == ["consent"]
    signed(admin, patient, THERAPY)
    set_visit_status(db.session, admin, visit, "in_chair")
    assert visit.status == "in_chair" and visit.started_at is not None


def test_a_consent_is_valid_a_year_or_for_its_plan(app, admin, center, patient):
    visit = _arrived(admin, center, patient)
    signed(admin, patient, "contract_paid_services")
    signed(admin, patient, "consent_personal_data")
    signed(admin, patient, THERAPY, at=utcnow() - timedelta(days=366))
    assert [item.kind for item in missing_documents(db.session, visit)] == ["consent"]  # more than a year ago
    assert not missing_documents(db.session, visit, now=utcnow() - timedelta(days=2))  # within its year then

    from stompro.planning.models import TreatmentPlan

    plan = TreatmentPlan(patient=patient, author=admin, status="accepted", title="Лечение")
    db.session.add(plan)
    db.session.flush()
    signed(admin, patient, THERAPY, plan=plan)
    assert [item.kind for item in missing_documents(db.session, visit)] == ["consent"]  # a visit of no plan


def test_a_warn_branch_lets_the_visit_in_with_a_reason_and_audits_it(app, admin, center, patient):
    center.document_gate = "warn"
    visit = _arrived(admin, center, patient)
    with pytest.raises(DocumentsMissing) as refused:
        set_visit_status(db.session, admin, visit, "in_chair")
    assert refused.value.field == "reason" and "write why" in str(refused.value.message)
    set_visit_status(db.session, admin, visit, "in_chair", reason="Острая боль, договор подпишет после")
    assert visit.status == "in_chair"
    rows = db.session.execute(select(AuditLog).where(
        AuditLog.table_name == "appointment", AuditLog.row_id == visit.id)).scalars().all()
    [entry] = [row for row in rows if "documents_gate_reason" in (row.changes or {})]
    assert entry.changes["documents_gate_reason"] == "Острая боль, договор подпишет после"
    assert [item["kind"] for item in entry.changes["documents_missing"]] == ["contract", "personal_data", "consent"]


def test_a_child_signs_through_a_legal_representative(app, admin):
    child = Patient(last_name="Малышев", first_name="Петя", birth_date=utcnow().date().replace(year=utcnow().year - 9),
                    phone="+79160009911")
    db.session.add(child)
    db.session.flush()
    document = create_document(db.session, admin, patient=child, clinic=clinic(CENTER), template=template(THERAPY))
    with pytest.raises(DomainError) as refused:
        sign_document(db.session, admin, document)
    assert refused.value.field == "signed_by" and "under 15" in str(refused.value.message)
    with pytest.raises(DomainError) as refused:
        sign_document(db.session, admin, document, signed_by="representative", representative_name="Малышева Ольга")
    assert refused.value.field == "representative_document"
    sign_document(db.session, admin, document, signed_by="representative", representative_name="Малышева Ольга",
                  representative_document="паспорт 45 10 123456; свидетельство о рождении")
    assert (document.status, document.signed_by, document.representative_name) == (
        "signed", "representative", "Малышева Ольга")


def test_the_api_answers_409_with_what_to_sign_and_changes_nothing(app, api, admin, center, patient):
    visit = _arrived(admin, center, patient)
    db.session.commit()
    api.as_role("administrator")
    answer = api.post(f"/api/v1/appointments/{visit.id}/status", json={"status": "in_chair"})
    assert answer.status_code == 409
    assert answer.get_json()["missing"] == [
        {"kind": "contract", "specialty": None}, {"kind": "personal_data", "specialty": None},
        {"kind": "consent", "specialty": "therapy"}]
    assert "the contract for paid services" in answer.get_json()["error"]
    db.session.refresh(visit)
    assert visit.status == "arrived"


def test_the_board_refuses_in_chair_naming_what_is_missing(app, client, auth, admin, center, patient):
    visit = _arrived(admin, center, patient)
    signed(admin, patient, "contract_paid_services")
    db.session.commit()
    auth.as_role("administrator")
    answer = client.post(f"/admin/schedule/visits/{visit.id}/status?clinic={center.id}&day={DAY.isoformat()}",
                         json={"status": "in_chair", "version": visit.version},
                         headers={"X-CSRFToken": auth.csrf_token()})
    assert answer.status_code == 422
    assert answer.get_json()["error"] == ("Before treatment the patient must sign: consent to personal data "
                                          "processing; informed consent: Restorative dentistry.")
    db.session.refresh(visit)
    assert visit.status == "arrived"


def test_the_board_marks_the_visits_whose_patient_has_documents_to_sign(app, client, auth, admin, center, patient):
    visit = _arrived(admin, center, patient)
    signed(admin, patient, "contract_paid_services")
    db.session.commit()
    auth.as_role("administrator", language="ru")
    page = client.get("/admin/schedule/", query_string={"clinic": center.id, "day": DAY.isoformat()}).get_data(
        as_text=True)
    block = page[page.index(f'data-visit="{visit.id}"'):]
    block = block[:block.index("</template>")]
    assert "data-documents-missing" in block
    assert ("согласие на обработку персональных данных, информированное согласие: Терапевтическая стоматология"
            in block)


def test_a_terminated_contract_no_longer_lets_treatment_start(app, admin, center, patient, client, auth):
    from stompro.documents.services import DocumentSigned, terminate_contract

    visit = _arrived(admin, center, patient)
    contract = signed(admin, patient, "contract_paid_services")
    signed(admin, patient, "consent_personal_data")
    consent = signed(admin, patient, THERAPY)
    assert not missing_documents(db.session, visit)
    with pytest.raises(DomainError) as refused:
        terminate_contract(db.session, admin, contract, reason="  ")
    assert refused.value.field == "termination_reason"
    with pytest.raises(DomainError, match="Only a signed contract"):
        terminate_contract(db.session, admin, consent, reason="Отзыв")
    db.session.commit()

    auth.as_role("administrator")
    card = f"/admin/patient_card/{patient.id}"
    response = client.post(f"/admin/documents/{contract.id}/terminate",
                           data={"reason": "Пациент расторг договор", "next": card, "csrf_token": auth.csrf_token()})
    assert response.status_code == 302
    assert "terminated" in client.get(card).get_data(as_text=True)
    db.session.expire_all()
    assert contract.termination_reason == "Пациент расторг договор" and contract.terminated_by_id == admin.id
    assert [item.kind for item in missing_documents(db.session, visit)] == ["contract"]
    with pytest.raises(DomainError, match="terminated already"):
        terminate_contract(db.session, admin, contract, reason="Ещё раз")
    contract.title = "Другой договор"
    with pytest.raises(DocumentSigned):  # terminating unlocks nothing else
        db.session.flush()
    db.session.rollback()
    signed(admin, patient, "contract_paid_services")  # a new contract lets the patient in again
    assert not missing_documents(db.session, visit)
